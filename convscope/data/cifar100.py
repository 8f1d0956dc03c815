"""CIFAR-100 from the official *python* distribution, ``cifar-100-python.tar.gz``, as Keras loads it.

The archive holds ``cifar-100-python/train`` (50,000 images), ``test`` (10,000) and ``meta``:
each a Python 2 pickle of a dict with ``data`` (N, 3072) uint8 (red, green, blue planes of 32x32),
``fine_labels`` (0-99) and ``coarse_labels`` (0-19) lists. The pickles are read with
`restricted_pickle.RestrictedUnpickler` (NumPy arrays, dicts, lists and bytes only), and the
tarball is checked against Keras's SHA-256 before any member is read. The batches are read from
the tarball directly, so nothing is extracted; an already extracted ``cifar-100-python/`` folder
(no hash is published for its files) is read the same way, checked structurally.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from convscope.data.integrity import IntegrityError, file_digest
from convscope.data.restricted_pickle import DatasetFileError, load_pickle

TARBALL = "cifar-100-python.tar.gz"
TARBALL_SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"  # Keras's file_hash
FOLDER = "cifar-100-python"
LABEL_MODES = ("fine", "coarse")
LABEL_COUNTS = {"fine": 100, "coarse": 20}

Split = tuple[np.ndarray, np.ndarray]


def check_label_mode(label_mode: str) -> None:
    if label_mode not in LABEL_MODES:
        raise ValueError(f'cifar100: `label_mode` must be one of "fine", "coarse". Received: label_mode={label_mode}.')


def parse_batch(data: bytes, source: Path | str, label_mode: str = "fine") -> Split:
    """Decode one pickled batch (``train`` or ``test``).

    Returns:
        images (N, 32, 32, 3) uint8 channels-last, labels (N,) int64 (Keras's dtype: the labels
        are a pickled list of ints).

    Raises:
        DatasetFileError: not a pickled batch dict, wrong image size, labels out of range.
    """
    check_label_mode(label_mode)
    batch = load_pickle(data, source)
    if not isinstance(batch, dict):
        raise DatasetFileError(source, f"holds a pickled {type(batch).__name__}, not a CIFAR-100 batch dict")
    fields: dict[str, Any] = {(key.decode("utf8") if isinstance(key, bytes) else str(key)): value
                              for key, value in batch.items()}
    label_key = f"{label_mode}_labels"
    if "data" not in fields or label_key not in fields:
        raise DatasetFileError(source, f"lacks 'data' or {label_key!r} (it has {sorted(fields)}); "
                                       "is this the python version of CIFAR-100?")
    pixels, labels = fields["data"], np.asarray(fields[label_key])
    if not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2 \
            or pixels.shape[1] != 3 * 32 * 32:
        shape = getattr(pixels, "shape", None)
        raise DatasetFileError(source, f"'data' must be a uint8 array of shape (N, 3072); got {shape}")
    if labels.shape != (len(pixels),) or labels.dtype.kind not in "iu" or \
            (labels.size and not 0 <= labels.min() <= labels.max() < LABEL_COUNTS[label_mode]):
        raise DatasetFileError(source, f"{label_key!r} must be {len(pixels)} integers 0-"
                                       f"{LABEL_COUNTS[label_mode] - 1}; got shape {labels.shape}")
    images = pixels.reshape(len(pixels), 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 32, 32, 3), as Keras's view
    return images, labels


def verify_tarball(path: Path, expected_sha256: str | None = None) -> None:
    """Raise `IntegrityError` when the tarball's SHA-256 is not `expected_sha256` (Keras's by default)."""
    expected_sha256 = expected_sha256 or TARBALL_SHA256
    actual = file_digest(path, "sha256")
    if actual != expected_sha256:
        raise IntegrityError(path, expected_sha256, actual,
                             hint=f"Download {TARBALL} again from https://www.cs.toronto.edu/~kriz/cifar.html.")


def read_tarball(path: Path, label_mode: str = "fine", expected_sha256: str | None = None) -> tuple[Split, Split]:
    """Verify the tarball, then decode its ``train`` and ``test`` members (nothing is extracted)."""
    verify_tarball(path, expected_sha256)
    contents: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name in (f"{FOLDER}/train", f"{FOLDER}/test"):
                    handle = archive.extractfile(member)
                    assert handle is not None  # regular files always have content
                    contents[Path(member.name).name] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DatasetFileError(path, f"is not a readable tar.gz archive ({error})") from error
    missing = [name for name in ("train", "test") if name not in contents]
    if missing:
        raise DatasetFileError(path, f"lacks {', '.join(f'{FOLDER}/{name}' for name in missing)}")
    return (parse_batch(contents["train"], f"{path}:{FOLDER}/train", label_mode),
            parse_batch(contents["test"], f"{path}:{FOLDER}/test", label_mode))


def batch_folder(folder: Path) -> Path | None:
    """The folder holding extracted ``train`` and ``test``: `folder/cifar-100-python/` or `folder`."""
    for candidate in (folder / FOLDER, folder):
        if (candidate / "train").is_file() and (candidate / "test").is_file():
            return candidate
    return None


def read_folder(folder: Path, label_mode: str = "fine") -> tuple[Split, Split]:
    """Decode the extracted ``train`` and ``test`` files of `folder`."""
    return (parse_batch((folder / "train").read_bytes(), folder / "train", label_mode),
            parse_batch((folder / "test").read_bytes(), folder / "test", label_mode))
