"""Fixtures for the web app: an untrained seed-cnn run with fixed weights, and test images."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from convscope import runs, utils, zoo

DIGITS = [str(i) for i in range(10)]
MNIST_INPUT = runs.InputSpec((28, 28, 1), 1 / 255, "dark", "center", 20)


def make_run(folder: Path, seed: int = 0) -> Path:
    """A run folder holding seed-cnn with seeded (untrained) weights and MNIST preprocessing."""
    utils.set_seed(seed, deterministic=False)
    model = zoo.build("seed-cnn")
    return runs.save_model_run(model, folder, input_spec=MNIST_INPUT, class_names=DIGITS,
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
