"""Small functional models the explain, serve and CLI tests share: a residual CNN (an identity
and a projection shortcut), an Inception-style block (four branches concatenated) and a 1D
residual CNN. Layers carry names so tests and golden files read like the architecture.

In each, some layer reads a tensor other than the output of the layer listed before it in
`model.layers` (the projection shortcut, the branches), which is what a chain-minded explainer
gets wrong.
"""

from __future__ import annotations

from convscope import Input, Model, layers, utils
from convscope.models.functional import Functional


def residual_cnn(input_shape: tuple[int, ...] = (28, 28, 1), classes: int = 10, seed: int = 0) -> Functional:
    """stem conv -> block 1 (two convs + identity shortcut) -> max pool -> block 2 (strided
    convs + a 1x1 strided projection shortcut) -> global average pooling -> softmax."""
    utils.set_seed(seed, deterministic=False)
    inputs = Input(input_shape)
    stem = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv1")(stem)
    x = layers.Conv2D(8, 3, padding="same", name="block1_conv2")(x)
    x = layers.ReLU(name="block1_relu")(layers.Add(name="block1_add")([stem, x]))
    pooled = layers.MaxPooling2D(2, name="pool")(x)
    y = layers.Conv2D(12, 3, strides=2, padding="same", activation="relu", name="block2_conv1")(pooled)
    y = layers.Conv2D(12, 3, padding="same", name="block2_conv2")(y)
    shortcut = layers.Conv2D(12, 1, strides=2, name="block2_shortcut")(pooled)
    y = layers.ReLU(name="block2_relu")(layers.Add(name="block2_add")([y, shortcut]))
    y = layers.GlobalAveragePooling2D(name="features")(y)
    outputs = layers.Dense(classes, activation="softmax", name="classes")(y)
    return Model(inputs, outputs, name="residual")


def inception_cnn(input_shape: tuple[int, ...] = (28, 28, 1), classes: int = 10, seed: int = 0) -> Functional:
    """stem conv + max pool -> an Inception block (1x1; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 max pool ->
    1x1) concatenated along the channels -> global average pooling -> softmax."""
    utils.set_seed(seed, deterministic=False)
    inputs = Input(input_shape)
    x = layers.Conv2D(8, 3, activation="relu", name="stem")(inputs)
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    one = layers.Conv2D(4, 1, activation="relu", name="branch1_1x1")(x)
    three = layers.Conv2D(4, 1, activation="relu", name="branch2_1x1")(x)
    three = layers.Conv2D(6, 3, padding="same", activation="relu", name="branch2_3x3")(three)
    five = layers.Conv2D(2, 1, activation="relu", name="branch3_1x1")(x)
    five = layers.Conv2D(4, 5, padding="same", activation="relu", name="branch3_5x5")(five)
    pool = layers.MaxPooling2D(3, strides=1, padding="same", name="branch4_pool")(x)
    pool = layers.Conv2D(4, 1, activation="relu", name="branch4_1x1")(pool)
    x = layers.Concatenate(name="mixed")([one, three, five, pool])
    x = layers.GlobalAveragePooling2D(name="features")(x)
    outputs = layers.Dense(classes, activation="softmax", name="classes")(x)
    return Model(inputs, outputs, name="inception")


def residual_cnn1d(input_shape: tuple[int, ...] = (40, 1), classes: int = 10, seed: int = 0) -> Functional:
    """A Conv1D stem, one residual block with an identity shortcut, pooling and softmax."""
    utils.set_seed(seed, deterministic=False)
    inputs = Input(input_shape)
    stem = layers.Conv1D(8, 5, padding="same", activation="relu", name="stem")(inputs)
    x = layers.Conv1D(8, 3, padding="same", activation="relu", name="conv1")(stem)
    x = layers.Conv1D(8, 3, padding="same", name="conv2")(x)
    x = layers.ReLU(name="relu")(layers.Add(name="add")([stem, x]))
    x = layers.MaxPooling1D(2, name="pool")(x)
    x = layers.GlobalAveragePooling1D(name="features")(x)
    outputs = layers.Dense(classes, activation="softmax", name="classes")(x)
    return Model(inputs, outputs, name="residual1d")
