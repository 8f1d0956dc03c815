"""Built-in models: small, well-known CNNs by name, each a function returning a `Sequential`.

    >>> from convscope import zoo
    >>> zoo.names()
    ['lenet5', 'mnist-convnet', 'mnist1d-cnn', 'seed-cnn', 'spectrum-cnn']
    >>> model = zoo.build("seed-cnn")              # 28x28x1 in, 10 classes out
    >>> model.output_shape
    (None, 10)

Every builder takes `input_shape` (one example, channels-last) and `num_classes`, so the same
architecture can be fitted to another dataset; the defaults are the ones the model is known by.
Torch is imported only when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convscope.models.sequential import Sequential

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ZooModel:
    """A named architecture: its builder, default input shape and a one-line description."""

    name: str
    builder: Callable[[Shape, int], Sequential]
    input_shape: Shape
    description: str
    num_classes: int = 10


def seed_cnn(input_shape: Shape = (28, 28, 1), num_classes: int = 10) -> Sequential:
    """Two 64-filter 3x3 conv + 2x2 max-pool stages, Dense 128, softmax: 28x28 -> 26 -> 13 -> 11 -> 5."""
    from convscope import layers
    from convscope.models import Sequential

    return Sequential([
        layers.Conv2D(64, (3, 3), activation="relu", input_shape=tuple(input_shape)),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="seed_cnn")


def lenet5(input_shape: Shape = (28, 28, 1), num_classes: int = 10) -> Sequential:
    """LeCun et al. (1998): 6 and 16 5x5 tanh filters with 2x2 average pooling, then 120, 84 units.

    The first convolution pads to keep 28x28, as the 32x32 original saw MNIST with a border.
    """
    from convscope import layers
    from convscope.models import Sequential

    return Sequential([
        layers.Conv2D(6, 5, padding="same", activation="tanh", input_shape=tuple(input_shape)),
        layers.AveragePooling2D(2),
        layers.Conv2D(16, 5, activation="tanh"),
        layers.AveragePooling2D(2),
        layers.Flatten(),
        layers.Dense(120, activation="tanh"),
        layers.Dense(84, activation="tanh"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="lenet5")


def mnist_convnet(input_shape: Shape = (28, 28, 1), num_classes: int = 10) -> Sequential:
    """The keras.io "Simple MNIST convnet": 32 and 64 3x3 filters, max pooling, dropout 0.5."""
    from convscope import layers
    from convscope.models import Sequential

    return Sequential([
        layers.Input(tuple(input_shape)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ], name="mnist_convnet")


def mnist1d_cnn(input_shape: Shape = (40, 1), num_classes: int = 10) -> Sequential:
    """A 1D CNN for MNIST-1D's 40-step signals: three 'same' conv layers, global pooling."""
    from convscope import layers
    from convscope.models import Sequential

    return Sequential([
        layers.Conv1D(32, 5, padding="same", activation="relu", input_shape=tuple(input_shape)),
        layers.MaxPooling1D(2),
        layers.Conv1D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling1D(2),
        layers.Conv1D(64, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(64, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="mnist1d_cnn")


def spectrum_cnn(input_shape: Shape = (128, 1), num_classes: int = 2) -> Sequential:
    """A small 1D CNN for spectra and other arrays: two conv + max-pool stages, global max pooling.

    Global pooling makes it indifferent to the spectrum's length, so any (L, C) input fits.
    """
    from convscope import layers
    from convscope.models import Sequential

    return Sequential([
        layers.Conv1D(16, 7, padding="same", activation="relu", input_shape=tuple(input_shape)),
        layers.MaxPooling1D(2),
        layers.Conv1D(32, 5, padding="same", activation="relu"),
        layers.MaxPooling1D(2),
        layers.GlobalMaxPooling1D(),
        layers.Dense(32, activation="relu"),
        layers.Dense(num_classes, activation="softmax"),
    ], name="spectrum_cnn")


MODELS: dict[str, ZooModel] = {entry.name: entry for entry in (
    ZooModel("lenet5", lenet5, (28, 28, 1), "LeNet-5: tanh conv 6/16 5x5, average pooling, Dense 120/84"),
    ZooModel("mnist-convnet", mnist_convnet, (28, 28, 1),
             "keras.io simple MNIST convnet: conv 32/64 3x3, max pooling, dropout 0.5"),
    ZooModel("mnist1d-cnn", mnist1d_cnn, (40, 1), "1D CNN for MNIST-1D signals (40 steps)"),
    ZooModel("seed-cnn", seed_cnn, (28, 28, 1),
             "conv 64 3x3, max pool 2, conv 64 3x3, max pool 2, Dense 128, Dense 10 (Fashion-MNIST)"),
    ZooModel("spectrum-cnn", spectrum_cnn, (128, 1), "small 1D CNN for spectra of any length", 2),
)}


def names() -> list[str]:
    """The built-in model names, sorted."""
    return sorted(MODELS)


def lookup(name: str) -> ZooModel:
    """The zoo entry for `name` (underscores accepted for dashes).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    key = name.strip().lower().replace("_", "-")
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; built-in models: {', '.join(names())}. "
                         "Or pass a .json/.yaml spec or a .py file defining build_model().")
    return MODELS[key]


def build(name: str, input_shape: Sequence[int] | None = None, num_classes: int | None = None) -> Sequential:
    """Build zoo model `name` for `input_shape` (one example) and `num_classes`.

    Raises:
        ValueError: for an unknown name, a bad class count, or an input the layers cannot take
            (e.g. seed-cnn on 8x8 images, whose second pooling would have nothing left).
    """
    entry = lookup(name)
    classes = entry.num_classes if num_classes is None else num_classes
    if not isinstance(classes, int) or isinstance(classes, bool) or classes < 2:
        raise ValueError(f"{entry.name}: num_classes must be an integer >= 2; got {num_classes!r}.")
    shape = tuple(int(n) for n in (input_shape or entry.input_shape))
    return entry.builder(shape, classes)
