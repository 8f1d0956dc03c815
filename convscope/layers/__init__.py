"""Keras-style layers over `torch.nn`, channels-last in and out."""

from convscope import _registry
from convscope.layers.activation_layers import ELU, LeakyReLU, PReLU
from convscope.layers.augmentation import (
    CenterCrop,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from convscope.layers.axes import Permute, RepeatVector
from convscope.layers.base import Layer
from convscope.layers.bidirectional import Bidirectional
from convscope.layers.cells import RNN, GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from convscope.layers.conv import Conv1D, Conv2D, Conv3D
from convscope.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from convscope.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from convscope.layers.core import (
    Activation,
    BatchNormalization,
    Dense,
    Dropout,
    Flatten,
    Input,
    InputLayer,
    ReLU,
    Softmax,
)
from convscope.layers.embedding import Embedding
from convscope.layers.feature_normalization import Normalization
from convscope.layers.lambda_layer import Identity, Lambda
from convscope.layers.masking import Masking
from convscope.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
    add,
    average,
    concatenate,
    maximum,
    minimum,
    multiply,
    subtract,
)
from convscope.layers.noise import GaussianDropout, GaussianNoise
from convscope.layers.normalization import GroupNormalization, LayerNormalization, UnitNormalization
from convscope.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
    MaxPooling1D,
    MaxPooling2D,
    MaxPooling3D,
)
from convscope.layers.preprocessing import Rescaling, Resizing
from convscope.layers.recurrent import GRU, LSTM, SimpleRNN
from convscope.layers.regularization import SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from convscope.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
)
from convscope.layers.separable import (
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from convscope.layers.wrappers import TimeDistributed, Wrapper  # noqa: F401  (Keras's base; no case of its own)

# Keras's aliases.
Convolution1D, Convolution2D = Conv1D, Conv2D
Convolution2DTranspose, SeparableConvolution1D, SeparableConvolution2D = Conv2DTranspose, SeparableConv1D, SeparableConv2D
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D
Convolution3D, Convolution3DTranspose, MaxPool3D, AvgPool3D = Conv3D, Conv3DTranspose, MaxPooling3D, AveragePooling3D
GlobalMaxPool3D, GlobalAvgPool3D = GlobalMaxPooling3D, GlobalAveragePooling3D

LAYERS: dict[str, type[Layer]] = {cls.__name__: cls for cls in (
    InputLayer, Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    Flatten, Dense, Dropout, BatchNormalization, Activation, ReLU, Softmax,
    Reshape, ZeroPadding1D, ZeroPadding2D, Cropping1D, Cropping2D, UpSampling1D, UpSampling2D,
    LeakyReLU, PReLU, ELU, Rescaling, Resizing, RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D, Conv1DTranspose, Conv2DTranspose,
    SpatialDropout1D, SpatialDropout2D,
    Conv3D, Conv3DTranspose, MaxPooling3D, AveragePooling3D, GlobalMaxPooling3D, GlobalAveragePooling3D,
    UpSampling3D, ZeroPadding3D, Cropping3D, SpatialDropout3D,
    LayerNormalization, GroupNormalization, UnitNormalization,
    Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate,
    Lambda, Identity, Permute, RepeatVector, GaussianNoise, GaussianDropout, Embedding, Masking, Normalization,
    CenterCrop, RandomCrop, RandomContrast, RandomBrightness,
    SimpleRNN, LSTM, GRU, Bidirectional,
    RNN, SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells,
    ConvLSTM1D, ConvLSTM2D, ConvLSTM3D,
    TimeDistributed,
)}


def get(class_name: str, registered_name: str | None = None) -> type[Layer]:
    """The layer class saved in model configs as `class_name` (or Keras 3's `registered_name`,
    "package>Name"): convscope's own, else a custom object in scope or registered (see
    `convscope.keras.saving`).

    Raises:
        ValueError: naming the unknown class and how to make it known.
    """
    custom = _registry.get_registered_object(registered_name) if registered_name else None
    if custom is None:
        custom = _registry.get_registered_object(class_name, by_plain_name=class_name not in LAYERS)
    if isinstance(custom, type) and issubclass(custom, Layer):
        return custom
    if class_name in LAYERS:
        return LAYERS[class_name]
    known = dict.fromkeys(cls.__name__ for cls in LAYERS.values())  # "Input" is InputLayer's old name
    raise ValueError(f"unknown layer type {registered_name or class_name!r}. Known layer types: {', '.join(known)}. "
                     f"{_registry.unknown_object_hint('layer class', class_name)}")


__all__ = [*LAYERS, "Input", "Layer", "get", "add", "subtract", "multiply", "average", "maximum", "minimum",
           "concatenate", "Convolution1D", "Convolution2D", "Convolution2DTranspose",
           "SeparableConvolution1D", "SeparableConvolution2D", "MaxPool1D", "MaxPool2D",
           "AvgPool1D", "AvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D",
           "Convolution3D", "Convolution3DTranspose", "MaxPool3D", "AvgPool3D", "GlobalMaxPool3D", "GlobalAvgPool3D"]

LAYERS["Input"] = InputLayer  # older convscope configs saved the input under class name "Input"
