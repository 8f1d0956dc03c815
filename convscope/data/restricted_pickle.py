"""Reading the pickled dataset files Keras uses (CIFAR-100's batches, IMDB's and Reuters's ragged
`.npz` arrays) without letting a file run code.

A pickle may name any importable function and call it while loading. These files only ever need
NumPy's three array-rebuilding globals (`numpy.ndarray`, `numpy.dtype`,
`numpy.core.multiarray._reconstruct`, spelt `numpy._core` since NumPy 2), so every other global
is refused: a tampered file cannot reach `os.system` or `builtins.eval`. The same set as
Keras 3's `keras.src.datasets.npz_utils`.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ALLOWED_GLOBALS = frozenset({
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds plain containers, bytes, numbers and NumPy arrays, nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load `{module}.{name}`: a dataset file holds only dicts, lists, bytes, numbers "
            "and NumPy arrays. The file may be corrupted or malicious.")


class DatasetFileError(ValueError):
    """A dataset file that cannot be read: truncated, corrupted or not of the expected format."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        self.path = Path(path)
        super().__init__(f"{path}: {problem}. The file is truncated, corrupted or not the dataset file it is "
                         "named after; delete it and load again (or replace it with an intact copy).")


def load_pickle(data: bytes, source: str | os.PathLike[str]) -> Any:
    """Unpickle `data` with `RestrictedUnpickler` (strings of Python 2 pickles come back as bytes).

    Raises:
        DatasetFileError: the bytes are not a complete pickle, or name a refused global.
    """
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError) as error:
        raise DatasetFileError(source, f"cannot be read as a pickle ({error})") from error


def _read_npy(buffer: io.BytesIO, source: str) -> np.ndarray:
    """One `.npy` member: numeric arrays without pickle; object arrays through the restricted unpickler."""
    try:
        return np.lib.format.read_array(buffer, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" not in str(error):
            raise DatasetFileError(source, f"holds a broken array ({error})") from error
    buffer.seek(0)
    version = np.lib.format.read_magic(buffer)
    if version[0] == 1:
        np.lib.format.read_array_header_1_0(buffer)
    else:  # 2.0 and 3.0 share the header-length layout; 3.0 only encodes the header as UTF-8
        np.lib.format.read_array_header_2_0(buffer)
    array = load_pickle(buffer.read(), source)
    if not isinstance(array, np.ndarray):
        raise DatasetFileError(source, f"holds a pickled {type(array).__name__}, not an array")
    return array


def load_npz(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every array of an `.npz` archive, ragged object arrays included, loaded safely.

    Raises:
        DatasetFileError: not a zip archive, or a member is truncated or not an array.
    """
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                if member.endswith(".npy"):
                    buffer = io.BytesIO(archive.read(member))
                    arrays[member[:-len(".npy")]] = _read_npy(buffer, f"{path}:{member}")
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise DatasetFileError(path, f"is not a readable .npz archive ({error})") from error
    return arrays


def require_keys(arrays: dict[str, np.ndarray], keys: tuple[str, ...], path: str | os.PathLike[str]) -> None:
    """Raise `DatasetFileError` naming the file when an expected array is absent."""
    missing = [key for key in keys if key not in arrays]
    if missing:
        raise DatasetFileError(path, f"lacks the array(s) {', '.join(missing)} (it holds {sorted(arrays) or 'none'})")
