"""The layer cases compared with real Keras: one table read by the fixture writer (under real
Keras, tests/keras/make_keras_references.py) and by the tests (under convscope,
tests/keras/test_keras_layers.py). Plain data, so both sides import it without the other.

Each case: (class name, constructor arguments, input shape with batch axis, options), options:
    "training": call the layer in training mode (random layers with a fixed draw)
    "pixels":   inputs are 0-255 values instead of standard normal ones
"""

from __future__ import annotations

from typing import Any

Case = tuple[str, dict[str, Any], tuple[int, ...], dict[str, Any]]

IMAGES = (2, 7, 9, 3)  # a batch of small non-square RGB images
TRAIN = {"training": True}

CASES: dict[str, Case] = {
    "reshape": ("Reshape", {"target_shape": [3, -1]}, (2, 12), {}),
    "reshape_to_image": ("Reshape", {"target_shape": [4, 4, 1]}, (2, 16), {}),
    "zero_padding1d": ("ZeroPadding1D", {"padding": [2, 1]}, (2, 5, 3), {}),
    "zero_padding2d": ("ZeroPadding2D", {"padding": [[1, 0], [2, 3]]}, (2, 4, 5, 3), {}),
    "zero_padding2d_int": ("ZeroPadding2D", {"padding": 2}, (2, 4, 5, 3), {}),
    "zero_padding2d_channels_first": ("ZeroPadding2D", {"padding": [1, 2], "data_format": "channels_first"},
                                      (2, 3, 4, 5), {}),
    "up_sampling1d": ("UpSampling1D", {"size": 3}, (2, 5, 3), {}),
    "up_sampling2d_nearest": ("UpSampling2D", {"size": [2, 3]}, (2, 4, 5, 3), {}),
    "up_sampling2d_bilinear": ("UpSampling2D", {"size": [2, 2], "interpolation": "bilinear"}, (2, 4, 5, 3), {}),
    "up_sampling2d_bilinear_3": ("UpSampling2D", {"size": 3, "interpolation": "bilinear"}, (2, 3, 4, 2), {}),
    "cropping1d": ("Cropping1D", {"cropping": [1, 2]}, (2, 6, 3), {}),
    "cropping2d": ("Cropping2D", {"cropping": [[1, 0], [2, 1]]}, (2, 5, 6, 3), {}),
    "cropping2d_channels_first": ("Cropping2D", {"cropping": 1, "data_format": "channels_first"}, (2, 3, 5, 6), {}),
    "leaky_relu": ("LeakyReLU", {}, (2, 10), {}),
    "leaky_relu_slope": ("LeakyReLU", {"negative_slope": 0.1}, (2, 4, 4, 3), {}),
    "prelu": ("PReLU", {}, (2, 4, 5, 3), {}),
    "prelu_shared": ("PReLU", {"shared_axes": [1, 2]}, (2, 4, 5, 3), {}),
    "elu": ("ELU", {"alpha": 0.5}, (2, 10), {}),
    "rescaling": ("Rescaling", {"scale": 1 / 255}, IMAGES, {"pixels": True}),
    "rescaling_offset": ("Rescaling", {"scale": 1 / 127.5, "offset": -1.0}, IMAGES, {"pixels": True}),
    "resizing_down": ("Resizing", {"height": 4, "width": 5}, IMAGES, {"pixels": True}),
    "resizing_up": ("Resizing", {"height": 10, "width": 13}, IMAGES, {"pixels": True}),
    "resizing_nearest": ("Resizing", {"height": 4, "width": 13, "interpolation": "nearest"}, IMAGES, {"pixels": True}),
    "resizing_crop": ("Resizing", {"height": 5, "width": 5, "crop_to_aspect_ratio": True}, IMAGES, {"pixels": True}),
    "resizing_pad": ("Resizing", {"height": 6, "width": 4, "pad_to_aspect_ratio": True, "fill_value": 9.0},
                     IMAGES, {"pixels": True}),
    "resizing_antialias": ("Resizing", {"height": 3, "width": 4, "antialias": True}, IMAGES, {"pixels": True}),
    "random_flip_inference": ("RandomFlip", {"seed": 1}, IMAGES, {}),
    "random_rotation": ("RandomRotation", {"factor": [0.1, 0.1]}, IMAGES, TRAIN),
    "random_rotation_constant_nearest": ("RandomRotation", {"factor": [-0.15, -0.15], "fill_mode": "constant",
                                                            "interpolation": "nearest", "fill_value": 0.5},
                                         IMAGES, TRAIN),
    "random_rotation_wrap": ("RandomRotation", {"factor": [0.3, 0.3], "fill_mode": "wrap"}, IMAGES, TRAIN),
    "random_rotation_nearest_fill": ("RandomRotation", {"factor": [0.2, 0.2], "fill_mode": "nearest"},
                                     IMAGES, TRAIN),
    "random_rotation_inference": ("RandomRotation", {"factor": 0.2}, IMAGES, {}),
    "random_zoom": ("RandomZoom", {"height_factor": [-0.3, -0.3], "width_factor": [0.2, 0.2]}, IMAGES, TRAIN),
    "random_zoom_out_constant": ("RandomZoom", {"height_factor": [0.5, 0.5], "fill_mode": "constant"},
                                 IMAGES, TRAIN),
    "random_zoom_in_wrap": ("RandomZoom", {"height_factor": [0.4, 0.4], "width_factor": [-0.4, -0.4],
                                           "fill_mode": "wrap", "interpolation": "nearest"}, IMAGES, TRAIN),
    "random_translation": ("RandomTranslation", {"height_factor": [0.2, 0.2], "width_factor": [-0.3, -0.3]},
                           IMAGES, TRAIN),
    "random_translation_constant": ("RandomTranslation", {"height_factor": [-0.45, -0.45],
                                                          "width_factor": [0.35, 0.35], "fill_mode": "constant",
                                                          "fill_value": -1.0}, IMAGES, TRAIN),
    "random_translation_nearest": ("RandomTranslation", {"height_factor": [0.6, 0.6], "width_factor": [0.1, 0.1],
                                                         "fill_mode": "nearest", "interpolation": "nearest"},
                                   IMAGES, TRAIN),
    "separable_conv1d": ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                                             "depth_multiplier": 2}, (2, 9, 3), {}),
    "separable_conv2d": ("SeparableConv2D", {"filters": 5, "kernel_size": 3, "padding": "same",
                                             "depth_multiplier": 2, "activation": "relu"}, IMAGES, {}),
    "separable_conv2d_dilated": ("SeparableConv2D", {"filters": 4, "kernel_size": [2, 3], "dilation_rate": 2},
                                 IMAGES, {}),
    "depthwise_conv2d": ("DepthwiseConv2D", {"kernel_size": 3, "strides": 2, "padding": "same",
                                             "depth_multiplier": 2}, IMAGES, {}),
    "depthwise_conv2d_valid": ("DepthwiseConv2D", {"kernel_size": [3, 2], "use_bias": False}, IMAGES, {}),
    "depthwise_conv1d": ("DepthwiseConv1D", {"kernel_size": 4, "padding": "same", "depth_multiplier": 3},
                         (2, 9, 2), {}),
    "conv2d_transpose": ("Conv2DTranspose", {"filters": 4, "kernel_size": 3}, IMAGES, {}),
    "conv2d_transpose_same_stride2": ("Conv2DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2,
                                                          "padding": "same"}, IMAGES, {}),
    "conv2d_transpose_valid_stride3": ("Conv2DTranspose", {"filters": 2, "kernel_size": [2, 4], "strides": 3},
                                       IMAGES, {}),
    "conv2d_transpose_output_padding": ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2,
                                                            "output_padding": 1, "activation": "relu"},
                                        IMAGES, {}),
    "conv2d_transpose_same_output_padding": ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2,
                                                                 "padding": "same", "output_padding": [1, 0]},
                                             IMAGES, {}),
    "conv1d_transpose": ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
                         (2, 8, 3), {}),
    "conv1d_transpose_valid": ("Conv1DTranspose", {"filters": 2, "kernel_size": 4, "strides": 3}, (2, 8, 3), {}),
    "spatial_dropout1d_inference": ("SpatialDropout1D", {"rate": 0.3}, (2, 8, 3), {}),
    "spatial_dropout2d_inference": ("SpatialDropout2D", {"rate": 0.3}, IMAGES, {}),
}

ACTIVATIONS = ("relu", "relu6", "leaky_relu", "elu", "selu", "sigmoid", "hard_sigmoid", "tanh", "softplus",
               "softsign", "swish", "silu", "hard_silu", "gelu", "mish", "exponential", "softmax", "log_softmax",
               "linear")
