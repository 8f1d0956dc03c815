"""Keras's `keras.datasets.boston_housing`."""

from __future__ import annotations

import os

import numpy as np


def load_data(path: str | os.PathLike[str] = "boston_housing.npz", test_split: float = 0.2, seed: int = 113
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)): 13 features per house, the median value in k$;
    shuffled with `seed`, the last `test_split` of the rows kept for testing. `path`: a file, a
    folder holding it, or a file name looked for locally (then downloaded and checked)."""
    from convscope.data.housing import load_boston_housing

    return load_boston_housing(path, test_split, seed)
