"""Built-in models: small, well-known CNNs by name, each a function returning a model (a
`Sequential` stack, or a functional graph for the residual CNN).

    >>> from convscope import zoo
    >>> zoo.names()
    ['lenet5', 'mnist-convnet', 'mnist1d-cnn', 'residual-cnn', 'seed-cnn', 'spectrum-cnn']
    >>> model = zoo.build("seed-cnn")              # 28x28x1 in, 10 classes out
    >>> model.output_shape
    (None, 10)

Every builder takes `input_shape` (one example, channels-last) and `num_classes`, so the same
architecture can be fitted to another dataset; the defaults are the ones the model is known by.
An entry may also say how many epochs `convscope train` gives it by default (`epochs`; the
recipe's own default otherwise). Torch is imported only when a model is built, and the module
imports nothing of convscope before: benchmarks/keras_peer.py loads it alone, under real Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from convscope.layers.symbolic import SymbolicTensor
    from convscope.models.functional import Functional
    from convscope.models.model import Model
    from convscope.models.sequential import Sequential

Shape = tuple[int, ...]


@dataclass(frozen=True)
class ZooModel:
    """A named architecture: its builder, default input shape, a one-line description, and the
    epochs `convscope train` gives it unless told otherwise (None: the recipe's default)."""

    name: str
    builder: Callable[[Shape, int], Model]
    input_shape: Shape
    description: str
    num_classes: int = 10
    epochs: int | None = None


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


# BatchNormalization's moving averages follow the batch statistics with momentum 0.9 (PyTorch's
# default; Keras's is 0.99): within tens of steps rather than hundreds, so a model trained for a
# few hundred steps, or whose weights still move fast at the end of a short run, evaluates with
# statistics of its final weights.
BATCH_NORM_MOMENTUM = 0.9


def residual_block(x: SymbolicTensor, filters: int, strides: int = 1, *, keras: Any = None) -> SymbolicTensor:
    """Two 3x3 conv + BatchNormalization layers (the first with `strides`) added to a shortcut,
    then relu: He et al. (2016)'s basic block. The shortcut is `x` itself, or a 1x1 convolution
    with BatchNormalization (a projection) where the block changes the size or the channels.
    `keras` is the namespace whose layers make it (convscope's by default; see `residual_cnn`)."""
    layers = (keras or _convscope_namespace()).layers

    def normalized(tensor: SymbolicTensor) -> SymbolicTensor:
        return layers.BatchNormalization(momentum=BATCH_NORM_MOMENTUM)(tensor)

    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    y = layers.ReLU()(normalized(y))
    y = normalized(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = normalized(layers.Conv2D(filters, 1, strides=strides, use_bias=False)(x))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def residual_cnn(input_shape: Shape = (28, 28, 1), num_classes: int = 10,
                 widths: Sequence[int] = (32, 64, 128), *, keras: Any = None) -> Functional:
    """A small ResNet: a 3x3 relu conv stem with 2x2 max pooling, one residual block per width
    (each after the first halves the size: a strided block with a projection shortcut), global
    average pooling and a softmax Dense layer.

    28x28 -> 28 (stem) -> 14 (pool) -> 14 -> 7 -> 4 -> 128 features, for the default widths;
    32x32x3 (CIFAR-10) -> 16 -> 16 -> 8 -> 4. Global pooling makes any image of 2x2 or more fit.
    The stem's convolution and pooling run as one fused kernel where the CPU kernels apply, and
    pooling early leaves the blocks a quarter of the positions: 20.6 MFLOP per 28x28 image, twice
    the seed CNN's. A RandomFlip layer mirrors half the images while training (inference passes
    them through).

    `convscope train residual-cnn --data fashion-mnist` (the recipe's Adam and one-cycle rate,
    batch 128, this model's 10 epochs) reached 93.35% and 93.43% test accuracy (seeds 0 and 1)
    in 7-8 minutes on a busy 2-core CPU; without the flips 93.18%, with train accuracy at 99%
    (benchmarks/RESULTS.md has the curves).

    `keras` is the namespace that makes the layers and the model: convscope's by default. Its
    Keras twin (benchmarks/keras_peer.py, tests/models/make_zoo_fixtures.py) is this code given
    real Keras, so the two cannot drift apart.

    Raises:
        ValueError: for an input that is not an image (height, width, channels).

    >>> residual_cnn((32, 32, 3), 10).count_params()
    309898
    """
    keras = keras or _convscope_namespace()
    layers = keras.layers
    if len(input_shape) != 3:
        raise ValueError(f"residual-cnn takes images (height, width, channels); got input shape {tuple(input_shape)}. "
                         "For signals (length, channels) use mnist1d-cnn or spectrum-cnn.")
    inputs = keras.Input(tuple(input_shape))
    x = layers.RandomFlip("horizontal")(inputs)  # while training only: mirrored clothes and photos are the same class
    x = layers.Conv2D(widths[0], 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    for stage, filters in enumerate(widths):
        x = residual_block(x, filters, strides=2 if stage else 1, keras=keras)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return cast("Functional", keras.Model(inputs, outputs, name="residual_cnn"))


def _convscope_namespace() -> Any:
    """convscope's layers and functional model under Keras's names (`layers`, `Input`, `Model`)."""
    from types import SimpleNamespace

    from convscope import layers
    from convscope.models.functional import Functional

    return SimpleNamespace(layers=layers, Input=layers.Input, Model=Functional)


RESIDUAL_EPOCHS = 10  # 93.3-93.4% on Fashion-MNIST (see residual_cnn); 4 epochs gave 92.4%, 6 gave 92.8%

MODELS: dict[str, ZooModel] = {entry.name: entry for entry in (
    ZooModel("lenet5", lenet5, (28, 28, 1), "LeNet-5: tanh conv 6/16 5x5, average pooling, Dense 120/84"),
    ZooModel("mnist-convnet", mnist_convnet, (28, 28, 1),
             "keras.io simple MNIST convnet: conv 32/64 3x3, max pooling, dropout 0.5"),
    ZooModel("mnist1d-cnn", mnist1d_cnn, (40, 1), "1D CNN for MNIST-1D signals (40 steps)"),
    ZooModel("residual-cnn", residual_cnn, (28, 28, 1),
             "small ResNet: conv stem + max pool, residual stages 32/64/128 with BatchNormalization, "
             f"global average pooling; trains {RESIDUAL_EPOCHS} epochs by default", epochs=RESIDUAL_EPOCHS),
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


def build(name: str, input_shape: Sequence[int] | None = None, num_classes: int | None = None) -> Model:
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
