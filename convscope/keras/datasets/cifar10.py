"""Keras's `keras.datasets.cifar10`."""

from __future__ import annotations

import numpy as np


def load_data(path: str | None = None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)) as uint8 arrays, found locally or downloaded
    and checked (see `convscope.datasets.load`)."""
    from convscope import datasets

    (x_train, y_train), (x_test, y_test) = datasets.load("cifar10", path=path, channel_axis=True)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))  # Keras's label shape
