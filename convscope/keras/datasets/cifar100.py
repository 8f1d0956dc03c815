"""Keras's `keras.datasets.cifar100`."""

from __future__ import annotations

import numpy as np


def load_data(label_mode: str = "fine", path: str | None = None
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)): images (N, 32, 32, 3) uint8, labels (N, 1) int64,
    fine (0-99) or coarse (0-19) by `label_mode`; found locally (`path`: a folder with
    cifar-100-python.tar.gz or its extracted cifar-100-python/) or downloaded and checked against
    Keras's SHA-256 (see `convscope.datasets.load`)."""
    from convscope.data.loaders import load_cifar100
    from convscope.data.registry import get_spec

    (x_train, y_train), (x_test, y_test) = load_cifar100(
        get_spec("cifar100"), path, download=True, mirrors=None, progress=True, label_mode=label_mode)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))  # Keras's label shape
