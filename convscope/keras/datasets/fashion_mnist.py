"""Keras's `keras.datasets.fashion_mnist`."""

from __future__ import annotations

import numpy as np


def load_data(path: str | None = None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as uint8 arrays, found locally or downloaded
    and checked (see `convscope.datasets.load`)."""
    from convscope import datasets

    return datasets.load("fashion_mnist", path=path, channel_axis=False)
