"""Fixtures for the web app: an untrained seed-cnn run with fixed weights, and test images."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from convscope import runs, utils, zoo

DIGITS = [str(i) for i in range(10)]
MNIST_INPUT = runs.Preprocessing((28, 28, 1), 1 / 255, "dark", "center", 20)


def make_run(folder: Path, seed: int = 0) -> Path:
    """A run folder holding seed-cnn with seeded (untrained) weights and MNIST preprocessing."""
    utils.set_seed(seed, deterministic=False)
    model = zoo.build("seed-cnn")
    return runs.save_model_run(model, folder, preprocessing=MNIST_INPUT, class_names=DIGITS,
                               metrics={"test_accuracy": 0.5, "test_loss": 1.0})


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def drawn_one(size: tuple[int, int] = (300, 200), mode: str = "RGB", background: str = "white") -> Image.Image:
    """A dark vertical stroke on a light page, off-centre, like a photo of a handwritten 1."""
    ink = "black" if background == "white" else "white"
    image = Image.new(mode, size, background)
    ImageDraw.Draw(image).line([(size[0] // 4, size[1] // 5), (size[0] // 4, 4 * size[1] // 5)], fill=ink, width=14)
    return image


SIGNAL_INPUT = runs.Preprocessing((40, 1), 1.0, "mixed", "resize", 0)


def make_signal_run(folder: Path, seed: int = 0) -> Path:
    """A run folder holding mnist1d-cnn (Conv1D, 'same' padding) with seeded untrained weights."""
    utils.set_seed(seed, deterministic=False)
    model = zoo.build("mnist1d-cnn")
    return runs.save_model_run(model, folder, preprocessing=SIGNAL_INPUT, class_names=DIGITS, source="mnist1d")


def make_strided_run(folder: Path, seed: int = 0) -> Path:
    """A small Conv2D model with stride 2 and 'same' padding (the odd padded cell at the end)."""
    from convscope import Sequential, layers

    utils.set_seed(seed, deterministic=False)
    model = Sequential([layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", input_shape=(28, 28, 1)),
                        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax")])
    return runs.save_model_run(model, folder, preprocessing=MNIST_INPUT, class_names=DIGITS, source="mnist")


def make_fashion_run(folder: Path, seed: int = 0) -> Path:
    """seed-cnn with Fashion-MNIST's input settings (whole image resized, no centring) and classes."""
    utils.set_seed(seed, deterministic=False)
    spec = runs.Preprocessing((28, 28, 1), 1 / 255, "dark", "resize", 0)
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    return runs.save_model_run(zoo.build("seed-cnn"), folder, preprocessing=spec, class_names=names,
                               source="fashion_mnist")


def make_linear_run(folder: Path, seed: int = 0) -> Path:
    """A Conv2D without an activation (its maps are signed) before a ReLU conv and pooling."""
    from convscope import Sequential, layers

    utils.set_seed(seed, deterministic=False)
    model = Sequential([layers.Conv2D(4, 3, input_shape=(28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                        layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax")])
    return runs.save_model_run(model, folder, preprocessing=MNIST_INPUT, class_names=DIGITS, source="mnist")


def make_graph_run(folder: Path, build: str = "residual_cnn", seed: int = 0) -> Path:
    """A run folder holding one of tests/graph_models.py's functional models (seeded, untrained)
    with MNIST's input settings."""
    import graph_models

    model = getattr(graph_models, build)(seed=seed)
    return runs.save_model_run(model, folder, preprocessing=MNIST_INPUT, class_names=DIGITS, source="mnist")
