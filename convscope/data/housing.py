"""Keras's regression datasets: Boston housing (506 x 13) and California housing (20,640 x 8).

Each is one `.npz` file with arrays ``x`` and ``y``, shuffled with
``np.random.RandomState(seed)`` and split as Keras does: the first ``int(n * (1 - test_split))``
rows train, the rest test. Keras's numbers for the same file and seed.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from convscope.data.remote_files import REMOTE_FILES, resolve
from convscope.data.restricted_pickle import DatasetFileError, require_keys

Split = tuple[np.ndarray, np.ndarray]
PathLike = str | os.PathLike[str]


def read_xy(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``x`` and ``y`` of a numeric `.npz` file (no pickle allowed, as Keras loads it)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as error:
        raise DatasetFileError(path, f"is not a readable numeric .npz archive ({error})") from error
    require_keys(arrays, ("x", "y"), path)
    x, y = arrays["x"], arrays["y"]
    if len(x) != len(y):
        raise DatasetFileError(path, f"'x' has {len(x)} rows but 'y' has {len(y)}")
    return x, y


def shuffle_and_split(x: np.ndarray, y: np.ndarray, test_split: float, seed: int) -> tuple[Split, Split]:
    """Keras's shuffle (RandomState(seed) over the row indices) and train/test cut."""
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x))
    rng.shuffle(indices)
    x, y = x[indices], y[indices]
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))


def _check_test_split(test_split: float) -> None:
    if not 0 <= test_split < 1:
        raise ValueError(f"Invalid `test_split` argument: {test_split}. "
                         "It must be between 0 and 1 (exclusive of 1).")


def load_boston_housing(path: PathLike = "boston_housing.npz", test_split: float = 0.2, seed: int = 113, *,
                        download: bool = True, progress: bool = True) -> tuple[Split, Split]:
    """((x_train, y_train), (x_test, y_test)): x (n, 13), y (n,) (prices in k$), in the file's dtype.

    Raises:
        ValueError: `test_split` outside [0, 1); `DatasetFileError` for an unreadable file.
    """
    _check_test_split(test_split)
    x, y = read_xy(resolve(REMOTE_FILES["boston_housing.npz"], path, download=download, progress=progress))
    return shuffle_and_split(x, y, test_split, seed)


def load_california_housing(version: str = "large", path: PathLike = "california_housing.npz",
                            test_split: float = 0.2, seed: int = 113, *, download: bool = True,
                            progress: bool = True) -> tuple[Split, Split]:
    """((x_train, y_train), (x_test, y_test)): x (n, 8), y (n,) (prices in $), in the file's dtype;
    version "small" keeps the file's first 600 rows before shuffling."""
    _check_test_split(test_split)
    x, y = read_xy(resolve(REMOTE_FILES["california_housing.npz"], path, download=download, progress=progress))
    if version == "small":
        x, y = x[:600], y[:600]
    elif version != "large":
        raise ValueError(f"Argument `version` must be one of 'small', 'large'. Received: version={version}")
    return shuffle_and_split(x, y, test_split, seed)
