"""Models with grouped convolutions and models used as layers, shared by the explain, serve and
CLI tests. Shapes follow the seed CNN (28x28x1, two 3x3 convs of 64 filters, 2x2 pooling), so
the grouped convolution reads 64 channels, as a user's first grouped model does.

- `grouped_seed_cnn(groups)`: the seed CNN whose second conv is Conv2D(64, 3, groups=groups).
- `nested_seed_cnn()`: Keras's "probability model": Sequential([base, Softmax()]), `base` the
  seed CNN's body up to its logits, its second conv grouped (groups=4).
- `nested_block_graph()`: a functional model calling a functional residual block model twice
  (its layers named "block/..." and "block[1]/..."), between a stem conv and the classifier.
- `nested_first_graph()`: Sequential([block, Flatten(), Dense(3)]): a functional model first in
  a Sequential, reading the outer model's input itself.
"""

from __future__ import annotations

from convscope import Input, Model, Sequential, layers, utils


def grouped_seed_cnn(groups: int = 4, seed: int = 0) -> Sequential:
    utils.set_seed(seed, deterministic=False)
    return Sequential([
        layers.Conv2D(64, 3, activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu", groups=groups),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ], name="grouped_seed_cnn")


def seed_base(groups: int = 4, name: str = "base") -> Sequential:
    """The seed CNN's body to its logits (no softmax), its second conv grouped."""
    return Sequential([
        Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu", groups=groups),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10),
    ], name=name)


def nested_seed_cnn(groups: int = 4, seed: int = 0) -> Sequential:
    """Sequential([base, Softmax()]): base's layers are "base/conv2d", "base/conv2d_1", ..."""
    utils.set_seed(seed, deterministic=False)
    return Sequential([seed_base(groups), layers.Softmax()], name="probability_model")


def residual_block(channels: int = 8, size: int = 14, name: str = "block") -> Model:
    """conv -> grouped conv (2 groups), added to the block's input, then ReLU."""
    inputs = Input((size, size, channels))
    x = layers.Conv2D(channels, 3, padding="same", activation="relu", name="conv")(inputs)
    x = layers.Conv2D(channels, 3, padding="same", groups=2, name="grouped")(x)
    x = layers.Add(name="add")([inputs, x])
    return Model(inputs, layers.ReLU(name="relu")(x), name=name)


def nested_block_graph(seed: int = 0) -> Model:
    """input -> stem conv + pool -> block -> block again (shared) -> pooling -> classes."""
    utils.set_seed(seed, deterministic=False)
    block = residual_block()
    inputs = Input((28, 28, 1))
    x = layers.Conv2D(8, 3, padding="same", activation="relu", name="stem")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = block(block(x))
    x = layers.GlobalAveragePooling2D(name="features")(x)
    return Model(inputs, layers.Dense(10, activation="softmax", name="classes")(x), name="blocks")


def nested_first_graph(seed: int = 0) -> Sequential:
    """Sequential([block, Flatten(), Dense(3)]) on 6x6x4 inputs."""
    utils.set_seed(seed, deterministic=False)
    return Sequential([residual_block(channels=4, size=6), layers.Flatten(), layers.Dense(3)], name="outer")
