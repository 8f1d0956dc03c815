"""Keras's `keras.datasets.california_housing`."""

from __future__ import annotations

import os

import numpy as np


def load_data(version: str = "large", path: str | os.PathLike[str] = "california_housing.npz",
              test_split: float = 0.2, seed: int = 113
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)): 8 features per block group, the median house value
    in $; version "large" (20,640 rows) or "small" (the first 600); shuffled with `seed`, the last
    `test_split` kept for testing."""
    from convscope.data.housing import load_california_housing

    return load_california_housing(version, path, test_split, seed)
