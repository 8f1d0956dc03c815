"""Fixtures for explain tests: a slice of real MNIST, read straight from the IDX files."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip) as an array: magic (2 zero bytes, dtype code, ndim), sizes, data."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


@pytest.fixture(scope="session")
def mnist_small(shared_data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): 3,000 training and 500 test images, (N, 28, 28, 1)
    float32 scaled to [0, 1], labels int64."""
    folder = shared_data_dir / "mnist"
    x_train = read_idx(folder / "train-images-idx3-ubyte.gz")[:3000]
    y_train = read_idx(folder / "train-labels-idx1-ubyte.gz")[:3000]
    x_test = read_idx(folder / "t10k-images-idx3-ubyte.gz")[:500]
    y_test = read_idx(folder / "t10k-labels-idx1-ubyte.gz")[:500]
    scale = np.float32(1 / 255)
    return (x_train[..., None].astype(np.float32) * scale, y_train.astype(np.int64),
            x_test[..., None].astype(np.float32) * scale, y_test.astype(np.int64))


@pytest.fixture(scope="module")
def digit() -> np.ndarray:
    """A drawn 7: a (28, 28, 1) float32 image, a bar on top and a stroke down."""
    image = np.zeros((28, 28, 1), dtype=np.float32)
    image[5:23, 12:16] = 1.0
    image[5:9, 8:16] = 1.0
    return image


def assert_png_drawn(path: Path, min_width: int = 200, min_height: int = 150) -> None:
    """The file is a PNG at least this large, with many colours and ink beyond the background."""
    assert path.is_file(), f"{path} was not written"
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.width >= min_width and image.height >= min_height, image.size
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    background = np.median(pixels.reshape(-1, 3), axis=0)
    ink = np.abs(pixels - background).sum(axis=-1) > 60
    assert ink.mean() > 0.02, f"{path.name} is nearly blank ({ink.mean():.3%} ink)"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20
    assert not list(path.parent.glob(f".{path.stem}-*.png")), "temporary file left behind"


@pytest.fixture
def png_drawn() -> Callable[..., None]:
    """`png_drawn(path, min_width, min_height)` asserts a real, non-blank PNG."""
    return assert_png_drawn
