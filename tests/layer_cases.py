"""The run_layer_test case of every layer class convscope exports, one line each; used by
tests/layers/test_every_layer.py and, as valid starting points, by the property tests in
tests/hostile/test_property_configs.py.

To cover a new layer, add a line to CASES: "ClassName: what the case shows" mapped to
Case(constructor arguments, input shape with batch axis, expected output shape, expected params).
Arguments are JSON values (they also go into model configs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import torch

from convscope import layers
from convscope.keras.saving import register_keras_serializable
from convscope.layers import LAYERS, Layer


@register_keras_serializable(package="LayerCases")
def channel_mean(x: torch.Tensor) -> torch.Tensor:
    """The Lambda case's function: (N, H, W, C) -> (N, H, W, 1)."""
    return x.mean(dim=-1, keepdim=True)


@register_keras_serializable(package="LayerCases")
def scale_and_shift(x: torch.Tensor, factor: float = 1.0, shift: float = 0.0) -> torch.Tensor:
    return x * factor + shift


class Case(NamedTuple):
    kwargs: dict[str, Any]
    input_shape: tuple[int | None, ...] | list[tuple[int | None, ...]]  # a list for merge layers
    output_shape: tuple[int | None, ...]
    params: int


CASES: dict[str, Case] = {
    "Conv2D: seed CNN's first conv": Case({"filters": 64, "kernel_size": (3, 3), "activation": "relu"}, (None, 28, 28, 1), (None, 26, 26, 64), 640),
    "Conv2D: 64 filters on 13x13x32": Case({"filters": 64, "kernel_size": 3, "activation": "relu"}, (None, 13, 13, 32), (None, 11, 11, 64), 18_496),
    "Conv2D: same, strided, no bias, l2": Case({"filters": 8, "kernel_size": (3, 2), "strides": 2, "padding": "same", "use_bias": False, "kernel_regularizer": "l2"}, (None, 9, 9, 3), (None, 5, 5, 8), 144),
    "Conv2D: dilated tanh": Case({"filters": 4, "kernel_size": 3, "dilation_rate": 2, "activation": "tanh"}, (None, 10, 10, 2), (None, 6, 6, 4), 76),
    "Conv2D: channels_first": Case({"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, (None, 3, 8, 8), (None, 4, 6, 6), 112),
    "Conv2D: 4 groups": Case({"filters": 8, "kernel_size": 3, "groups": 4, "activation": "relu"}, (None, 9, 9, 12), (None, 7, 7, 8), 224),
    "Conv1D: spectrum CNN's first conv": Case({"filters": 16, "kernel_size": 7, "padding": "same", "activation": "relu"}, (None, 300, 1), (None, 300, 16), 128),
    "Conv1D: strided, on 16 channels": Case({"filters": 32, "kernel_size": 5, "strides": 2}, (None, 150, 16), (None, 73, 32), 2_592),
    "Conv1D: 2 groups, same": Case({"filters": 6, "kernel_size": 5, "groups": 2, "padding": "same"}, (None, 30, 4), (None, 30, 6), 66),
    "Conv1D: causal, dilated": Case({"filters": 6, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (None, 20, 4), (None, 20, 6), 78),
    "MaxPooling2D: 2x2 on 26x26x32": Case({"pool_size": (2, 2)}, (None, 26, 26, 32), (None, 13, 13, 32), 0),
    "MaxPooling2D: 2x2 on an odd 11x11x64": Case({"pool_size": 2}, (None, 11, 11, 64), (None, 5, 5, 64), 0),
    "MaxPooling2D: 3x3, stride 2, same": Case({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 7, 7, 3), (None, 4, 4, 3), 0),
    "MaxPooling1D: spectra": Case({"pool_size": 2}, (None, 300, 16), (None, 150, 16), 0),
    "MaxPooling1D: 3, stride 2, same": Case({"pool_size": 3, "strides": 2, "padding": "same"}, (None, 9, 2), (None, 5, 2), 0),
    "AveragePooling2D: 2x2": Case({"pool_size": 2}, (None, 8, 8, 3), (None, 4, 4, 3), 0),
    "AveragePooling2D: 3x3, stride 1, same": Case({"pool_size": 3, "strides": 1, "padding": "same"}, (None, 5, 5, 2), (None, 5, 5, 2), 0),
    "AveragePooling1D: spectra": Case({"pool_size": 4}, (None, 300, 8), (None, 75, 8), 0),
    "GlobalMaxPooling2D: seed CNN's last maps": Case({}, (None, 5, 5, 64), (None, 64), 0),
    "GlobalMaxPooling2D: keepdims": Case({"keepdims": True}, (None, 5, 5, 8), (None, 1, 1, 8), 0),
    "GlobalAveragePooling2D: 11x11x64": Case({}, (None, 11, 11, 64), (None, 64), 0),
    "GlobalMaxPooling1D: spectrum CNN's": Case({}, (None, 75, 32), (None, 32), 0),
    "GlobalAveragePooling1D: spectra": Case({}, (None, 75, 16), (None, 16), 0),
    "Flatten: seed CNN's": Case({}, (None, 5, 5, 64), (None, 1600), 0),
    "Flatten: channels_first": Case({"data_format": "channels_first"}, (None, 2, 3, 4), (None, 24), 0),
    "Dense: seed CNN's hidden layer": Case({"units": 128, "activation": "relu"}, (None, 1600), (None, 128), 204_928),
    "Dense: seed CNN's softmax output": Case({"units": 10, "activation": "softmax"}, (None, 128), (None, 10), 1_290),
    "Dense: no bias": Case({"units": 3, "use_bias": False}, (None, 7), (None, 3), 21),
    "Dense: on each step of a sequence": Case({"units": 4, "activation": "tanh"}, (None, 6, 5), (None, 6, 4), 24),
    "Dense: on each position of feature maps": Case({"units": 3}, (None, 5, 4, 8), (None, 5, 4, 3), 27),
    "Dropout: on the hidden layer": Case({"rate": 0.5}, (None, 128), (None, 128), 0),
    "Dropout: on feature maps": Case({"rate": 0.25}, (None, 13, 13, 64), (None, 13, 13, 64), 0),
    "BatchNormalization: after a conv": Case({}, (None, 26, 26, 64), (None, 26, 26, 64), 256),
    "BatchNormalization: dense features": Case({"momentum": 0.9, "epsilon": 1e-5}, (None, 128), (None, 128), 512),
    "BatchNormalization: axis 1, no scale": Case({"axis": 1, "scale": False}, (None, 3, 8, 8), (None, 3, 8, 8), 9),
    "Activation: relu on feature maps": Case({"activation": "relu"}, (None, 26, 26, 64), (None, 26, 26, 64), 0),
    "Activation: tanh": Case({"activation": "tanh"}, (None, 10), (None, 10), 0),
    "ReLU: on feature maps": Case({}, (None, 13, 13, 64), (None, 13, 13, 64), 0),
    "ReLU: clipped, leaky, threshold": Case({"max_value": 1.5, "negative_slope": 0.1, "threshold": 0.5}, (None, 10), (None, 10), 0),
    "Softmax: class scores": Case({}, (None, 10), (None, 10), 0),
    "Softmax: axis 1": Case({"axis": 1}, (None, 4, 5), (None, 4, 5), 0),
    "Reshape: a Dense output into an image": Case({"target_shape": (7, 7, 4)}, (None, 196), (None, 7, 7, 4), 0),
    "Reshape: -1 infers an axis": Case({"target_shape": (3, -1)}, (None, 12), (None, 3, 4), 0),
    "ZeroPadding2D: one pixel around 28x28": Case({"padding": 1}, (None, 28, 28, 1), (None, 30, 30, 1), 0),
    "ZeroPadding2D: asymmetric": Case({"padding": ((1, 0), (2, 3))}, (None, 4, 5, 3), (None, 5, 10, 3), 0),
    "ZeroPadding1D: spectra": Case({"padding": (2, 1)}, (None, 300, 1), (None, 303, 1), 0),
    "Cropping2D: asymmetric": Case({"cropping": ((1, 0), (2, 1))}, (None, 13, 13, 32), (None, 12, 10, 32), 0),
    "Cropping1D: spectra": Case({"cropping": (1, 2)}, (None, 300, 16), (None, 297, 16), 0),
    "UpSampling2D: 13x13 back to 26x26": Case({"size": 2}, (None, 13, 13, 32), (None, 26, 26, 32), 0),
    "UpSampling2D: bilinear": Case({"size": (2, 2), "interpolation": "bilinear"}, (None, 4, 5, 3), (None, 8, 10, 3), 0),
    "UpSampling1D: spectra": Case({"size": 3}, (None, 75, 16), (None, 225, 16), 0),
    "LeakyReLU: on feature maps": Case({"negative_slope": 0.1}, (None, 26, 26, 64), (None, 26, 26, 64), 0),
    "PReLU: a slope per cell": Case({}, (None, 13, 13, 32), (None, 13, 13, 32), 5_408),
    "PReLU: shared over height and width": Case({"shared_axes": (1, 2)}, (None, 13, 13, 32), (None, 13, 13, 32), 32),
    "ELU: alpha 0.5": Case({"alpha": 0.5}, (None, 10), (None, 10), 0),
    "Rescaling: pixels to [0, 1]": Case({"scale": 1 / 255}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
    "Rescaling: to [-1, 1]": Case({"scale": 1 / 127.5, "offset": -1.0}, (None, 32, 32, 3), (None, 32, 32, 3), 0),
    "Resizing: 28x28 to 14x14": Case({"height": 14, "width": 14}, (None, 28, 28, 1), (None, 14, 14, 1), 0),
    "Resizing: crop to the aspect ratio": Case({"height": 5, "width": 5, "crop_to_aspect_ratio": True}, (None, 7, 9, 3), (None, 5, 5, 3), 0),
    "RandomFlip: MNIST images": Case({"seed": 1}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
    "RandomRotation: MNIST images": Case({"factor": 0.2}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
    "RandomZoom: MNIST images": Case({"height_factor": 0.2}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
    "RandomTranslation: MNIST images": Case({"height_factor": 0.1, "width_factor": 0.1}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
    "SeparableConv2D: 64 filters on 13x13x32": Case({"filters": 64, "kernel_size": 3, "padding": "same", "depth_multiplier": 2, "activation": "relu"}, (None, 13, 13, 32), (None, 13, 13, 64), 4_736),
    "SeparableConv1D: strided, same": Case({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2}, (None, 9, 3), (None, 5, 4), 46),
    "DepthwiseConv2D: strided, same": Case({"kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2}, (None, 7, 9, 3), (None, 4, 5, 6), 60),
    "DepthwiseConv1D: spectra": Case({"kernel_size": 4, "padding": "same", "depth_multiplier": 3}, (None, 9, 2), (None, 9, 6), 30),
    "Conv2DTranspose: 13x13 back to 26x26": Case({"filters": 32, "kernel_size": 2, "strides": 2}, (None, 13, 13, 64), (None, 26, 26, 32), 8_224),
    "Conv2DTranspose: output padding": Case({"filters": 3, "kernel_size": 3, "strides": 2, "output_padding": 1}, (None, 7, 9, 3), (None, 16, 20, 3), 84),
    "Conv1DTranspose: strided, same": Case({"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (None, 8, 3), (None, 16, 4), 40),
    "SpatialDropout2D: on feature maps": Case({"rate": 0.3}, (None, 13, 13, 64), (None, 13, 13, 64), 0),
    "SpatialDropout1D: on spectra": Case({"rate": 0.3}, (None, 75, 16), (None, 75, 16), 0),
    "Conv3D: a CT volume's first conv": Case({"filters": 8, "kernel_size": 3, "activation": "relu"}, (None, 10, 12, 12, 1), (None, 8, 10, 10, 8), 224),
    "Conv3D: same, strided, 2 groups": Case({"filters": 4, "kernel_size": (1, 3, 3), "strides": 2, "padding": "same", "groups": 2}, (None, 5, 6, 7, 4), (None, 3, 3, 4, 4), 76),
    "Conv3D: channels_first, dilated": Case({"filters": 2, "kernel_size": 2, "dilation_rate": 2, "data_format": "channels_first"}, (None, 3, 5, 6, 6), (None, 2, 3, 4, 4), 50),
    "Conv3DTranspose: 4x6x6 back to 8x12x12": Case({"filters": 4, "kernel_size": 2, "strides": 2}, (None, 4, 6, 6, 8), (None, 8, 12, 12, 4), 260),
    "Conv3DTranspose: same, output padding": Case({"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1}, (None, 3, 4, 5, 3), (None, 6, 8, 10, 2), 164),
    "MaxPooling3D: 2x2x2 on 8x10x10x8": Case({"pool_size": 2}, (None, 8, 10, 10, 8), (None, 4, 5, 5, 8), 0),
    "MaxPooling3D: frames kept, same": Case({"pool_size": (1, 3, 3), "strides": (1, 2, 2), "padding": "same"}, (None, 4, 7, 7, 2), (None, 4, 4, 4, 2), 0),
    "AveragePooling3D: 2x2x2, same on odd sizes": Case({"pool_size": 2, "padding": "same"}, (None, 5, 5, 3, 2), (None, 3, 3, 2, 2), 0),
    "GlobalMaxPooling3D: last feature volumes": Case({}, (None, 4, 5, 5, 8), (None, 8), 0),
    "GlobalAveragePooling3D: keepdims": Case({"keepdims": True}, (None, 4, 5, 5, 8), (None, 1, 1, 1, 8), 0),
    "UpSampling3D: frames twice as large": Case({"size": (1, 2, 2)}, (None, 3, 4, 4, 2), (None, 3, 8, 8, 2), 0),
    "ZeroPadding3D: asymmetric": Case({"padding": ((1, 0), (2, 1), (0, 2))}, (None, 3, 4, 5, 2), (None, 4, 7, 7, 2), 0),
    "Cropping3D: one voxel off every side": Case({"cropping": 1}, (None, 6, 7, 8, 2), (None, 4, 5, 6, 2), 0),
    "SpatialDropout3D: on feature volumes": Case({"rate": 0.3}, (None, 4, 5, 5, 8), (None, 4, 5, 5, 8), 0),
    "LayerNormalization: over the channels": Case({}, (None, 10, 16), (None, 10, 16), 32),
    "LayerNormalization: a whole feature map": Case({"axis": [1, 2, 3], "center": False}, (None, 4, 5, 3), (None, 4, 5, 3), 60),
    "GroupNormalization: 4 groups of a volume's channels": Case({"groups": 4}, (None, 3, 4, 4, 8), (None, 3, 4, 4, 8), 16),
    "GroupNormalization: instance norm, channels_first": Case({"groups": -1, "axis": 1}, (None, 3, 5, 5), (None, 3, 5, 5), 6),
    "UnitNormalization: embedding vectors": Case({}, (None, 6, 8), (None, 6, 8), 0),
    "Add: a residual connection": Case({}, [(None, 13, 13, 32), (None, 13, 13, 32)], (None, 13, 13, 32), 0),
    "Subtract: two feature vectors": Case({}, [(None, 10), (None, 10)], (None, 10), 0),
    "Multiply: a per-channel gate, broadcast": Case({}, [(None, 13, 13, 32), (None, 1, 1, 32)], (None, 13, 13, 32), 0),
    "Average: three branches": Case({}, [(None, 8, 8, 4), (None, 8, 8, 4), (None, 8, 8, 4)], (None, 8, 8, 4), 0),
    "Maximum: two feature maps": Case({}, [(None, 5, 5, 64), (None, 5, 5, 64)], (None, 5, 5, 64), 0),
    "Minimum: two feature maps": Case({}, [(None, 5, 5, 64), (None, 5, 5, 64)], (None, 5, 5, 64), 0),
    "Concatenate: Inception branches": Case({}, [(None, 13, 13, 16), (None, 13, 13, 32), (None, 13, 13, 8)], (None, 13, 13, 56), 0),
    "Concatenate: along the steps": Case({"axis": 1}, [(None, 3, 4), (None, 5, 4)], (None, 8, 4), 0),
    "Input: MNIST images": Case({"shape": (28, 28, 1)}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
    "InputLayer: Keras 3's batch_shape": Case({"batch_shape": (None, 40, 1)}, (None, 40, 1), (None, 40, 1), 0),
    "Lambda: a registered function, output shape inferred": Case({"function": "LayerCases>channel_mean"}, (None, 13, 13, 8), (None, 13, 13, 1), 0),
    "Lambda: arguments and a given output shape": Case({"function": "LayerCases>scale_and_shift", "arguments": {"factor": 0.5, "shift": 1.0}, "output_shape": (20,)}, (None, 20), (None, 20), 0),
    "Identity: on feature maps": Case({}, (None, 5, 5, 64), (None, 5, 5, 64), 0),
    "Permute: steps and channels of spectra": Case({"dims": (2, 1)}, (None, 300, 16), (None, 16, 300), 0),
    "RepeatVector: a feature vector 3 times": Case({"n": 3}, (None, 32), (None, 3, 32), 0),
    "GaussianNoise: on pixels": Case({"stddev": 0.1}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
    "GaussianDropout: on the hidden layer": Case({"rate": 0.3, "seed": 2}, (None, 128), (None, 128), 0),
    "Embedding: a Conv1D text classifier's": Case({"input_dim": 50, "output_dim": 8}, (None, 20), (None, 20, 8), 400),
    "Embedding: mask_zero, before an LSTM": Case({"input_dim": 50, "output_dim": 8, "mask_zero": True}, (None, 20), (None, 20, 8), 400),
    "Masking: zero-padded sensor steps": Case({"mask_value": 0.0}, (None, 30, 3), (None, 30, 3), 0),
    "Normalization: adapted per feature": Case({}, (None, 13), (None, 13), 27),
    "Normalization: given per-channel statistics": Case({"mean": [0.5, 0.4, 0.3], "variance": [0.09, 0.04, 0.01]}, (None, 8, 8, 3), (None, 8, 8, 3), 0),
    "Normalization: inverted, over two axes": Case({"axis": (1, 2), "invert": True}, (None, 4, 3), (None, 4, 3), 25),
    "CenterCrop: 28x28 to 24x24": Case({"height": 24, "width": 24}, (None, 28, 28, 1), (None, 24, 24, 1), 0),
    "RandomCrop: CIFAR-10 images": Case({"height": 24, "width": 24, "seed": 1}, (None, 32, 32, 3), (None, 24, 24, 3), 0),
    "RandomContrast: CIFAR-10 images": Case({"factor": 0.2}, (None, 32, 32, 3), (None, 32, 32, 3), 0),
    "RandomBrightness: images in [0, 1]": Case({"factor": 0.2, "value_range": (0, 1), "seed": 3}, (None, 28, 28, 1), (None, 28, 28, 1), 0),
    "SimpleRNN: sequences of a 1-D signal's features": Case({"units": 6, "return_sequences": True}, (None, 18, 8), (None, 18, 6), 90),
    "SimpleRNN: relu, backwards (per-step loop)": Case({"units": 4, "activation": "relu", "go_backwards": True}, (None, 7, 3), (None, 4), 32),
    "LSTM: after Conv1D and MaxPooling1D": Case({"units": 6}, (None, 18, 8), (None, 6), 360),
    "LSTM: sequences, hard_sigmoid, l2 (per-step loop)": Case({"units": 4, "return_sequences": True, "recurrent_activation": "hard_sigmoid", "kernel_regularizer": "l2", "recurrent_regularizer": "l2"}, (None, 7, 3), (None, 7, 4), 128),
    "LSTM: dropout and recurrent dropout": Case({"units": 4, "dropout": 0.2, "recurrent_dropout": 0.2}, (None, 7, 3), (None, 4), 128),
    "GRU: reset_after (torch's fused GRU)": Case({"units": 5, "return_sequences": True}, (None, 9, 3), (None, 9, 5), 150),
    "GRU: reset_after=False, no bias": Case({"units": 4, "reset_after": False, "use_bias": False}, (None, 7, 3), (None, 4), 84),
    "Bidirectional: LSTM, concat": Case({"layer": {"class_name": "LSTM", "config": {"units": 4, "return_sequences": True}}}, (None, 9, 3), (None, 9, 8), 256),
    "RNN: an LSTMCell (torch's fused LSTM)": Case({"cell": {"class_name": "LSTMCell", "config": {"units": 4}}, "return_sequences": True}, (None, 7, 3), (None, 7, 4), 128),
    "RNN: stacked GRUCell and SimpleRNNCell, backwards": Case({"cell": [{"class_name": "GRUCell", "config": {"units": 4}}, {"class_name": "SimpleRNNCell", "config": {"units": 2}}], "go_backwards": True}, (None, 7, 3), (None, 2), 122),
    "SimpleRNNCell: in RNN, relu (per-step loop)": Case({"units": 4, "activation": "relu"}, (None, 7, 3), (None, 4), 32),
    "LSTMCell: in RNN, dropout": Case({"units": 4, "dropout": 0.2, "recurrent_dropout": 0.2}, (None, 7, 3), (None, 4), 128),
    "GRUCell: in RNN, reset_after=False": Case({"units": 3, "reset_after": False}, (None, 7, 3), (None, 3), 63),
    "StackedRNNCells: LSTMCell then GRUCell, in RNN": Case({"cells": [{"class_name": "LSTMCell", "config": {"units": 4}}, {"class_name": "GRUCell", "config": {"units": 2}}]}, (None, 7, 3), (None, 2), 176),
    "Bidirectional: GRU, sum": Case({"layer": {"class_name": "GRU", "config": {"units": 3}}, "merge_mode": "sum"}, (None, 9, 3), (None, 3), 144),
    "TimeDistributed: a Conv2D on each frame of a clip": Case({"layer": {"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3, "activation": "relu"}}}, (None, 3, 8, 8, 2), (None, 3, 6, 6, 4), 76),
    "TimeDistributed: a Dense on each step": Case({"layer": {"class_name": "Dense", "config": {"units": 5}}}, (None, 4, 6), (None, 4, 5), 35),
    "ConvLSTM2D: next-frame model's first layer": Case({"filters": 8, "kernel_size": 3, "padding": "same", "return_sequences": True, "activation": "relu"}, (None, 4, 8, 8, 1), (None, 4, 8, 8, 8), 2_624),
    "ConvLSTM2D: valid, strided, dropout and recurrent dropout": Case({"filters": 2, "kernel_size": 3, "strides": 2, "dropout": 0.2, "recurrent_dropout": 0.2}, (None, 3, 7, 7, 2), (None, 3, 3, 2), 296),
    "ConvLSTM2D: channels_first": Case({"filters": 2, "kernel_size": 3, "padding": "same", "data_format": "channels_first"}, (None, 3, 1, 6, 6), (None, 2, 6, 6), 224),
    "ConvLSTM1D: sequences of signals, same": Case({"filters": 4, "kernel_size": 3, "padding": "same", "return_sequences": True}, (None, 5, 10, 3), (None, 5, 10, 4), 352),
    "ConvLSTM3D: volumes, no bias, l2": Case({"filters": 2, "kernel_size": 2, "use_bias": False, "kernel_regularizer": "l2", "recurrent_regularizer": "l2"}, (None, 2, 4, 4, 4, 1), (None, 3, 3, 3, 2), 192),
}

CASES_FILE = Path(__file__).relative_to(Path(__file__).parents[1])


def layer_of(case_id: str) -> str:
    return case_id.split(":")[0].strip()


def exported_layer_classes() -> dict[str, type[Layer]]:
    """Every layer class a user can name: the registry (what configs name) and the public
    classes of `convscope.layers` (aliases such as Conv2D/Convolution2D count once)."""
    found: dict[str, type[Layer]] = dict(LAYERS)
    for name in layers.__all__:
        value = getattr(layers, name)
        if isinstance(value, type) and issubclass(value, Layer) and value is not Layer:
            found[value.__name__] = value
    return found
