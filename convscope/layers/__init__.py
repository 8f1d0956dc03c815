"""Keras-style layers over `torch.nn`, channels-last in and out."""

from convscope.layers.base import Layer
from convscope.layers.conv import Conv1D, Conv2D
from convscope.layers.core import (
    Activation,
    BatchNormalization,
    Dense,
    Dropout,
    Flatten,
    Input,
    ReLU,
    Softmax,
)
from convscope.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPooling1D,
    MaxPooling2D,
)

# Keras's aliases.
Convolution1D, Convolution2D = Conv1D, Conv2D
MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D = MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D
GlobalMaxPool1D, GlobalMaxPool2D = GlobalMaxPooling1D, GlobalMaxPooling2D
GlobalAvgPool1D, GlobalAvgPool2D = GlobalAveragePooling1D, GlobalAveragePooling2D

LAYERS: dict[str, type[Layer]] = {cls.__name__: cls for cls in (
    Input, Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D, AveragePooling2D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    Flatten, Dense, Dropout, BatchNormalization, Activation, ReLU, Softmax,
)}


def get(class_name: str) -> type[Layer]:
    """The layer class registered under `class_name` (as saved in model configs)."""
    if class_name not in LAYERS:
        raise ValueError(f"unknown layer type {class_name!r}. Known layer types: {', '.join(LAYERS)}.")
    return LAYERS[class_name]


__all__ = [*LAYERS, "Layer", "get", "Convolution1D", "Convolution2D", "MaxPool1D", "MaxPool2D",
           "AvgPool1D", "AvgPool2D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalAvgPool1D", "GlobalAvgPool2D"]
