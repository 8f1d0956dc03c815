"""Builders of tiny dataset files for format, corruption and download tests."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from convscope.data.idx import write_idx
from convscope.data.registry import IDX_FILES


def tiny_idx_arrays(n_train: int = 30, n_test: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """Random 6x5 uint8 images and labels 0-9 for the four MNIST roles."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 6, 5), dtype=np.uint8),
        "y_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 6, 5), dtype=np.uint8),
        "y_test": (np.arange(n_test) % 10).astype(np.uint8),
    }


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], compress: bool = True) -> dict[str, str]:
    """Write the four IDX files into `folder`; return raw name -> SHA-256 of the raw content."""
    folder.mkdir(parents=True, exist_ok=True)
    hashes = {}
    for role, raw_name in IDX_FILES.items():
        path = write_idx(folder / (raw_name + (".gz" if compress else "")), arrays[role], compress=compress)
        content = gzip.decompress(path.read_bytes()) if compress else path.read_bytes()
        hashes[raw_name] = hashlib.sha256(content).hexdigest()
    return hashes


@pytest.fixture
def tiny_idx(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray], dict[str, str]]:
    """A folder with a tiny gzip IDX dataset: (folder, arrays by role, hashes by raw name)."""
    arrays = tiny_idx_arrays()
    folder = tmp_path / "tiny"
    return folder, arrays, write_idx_folder(folder, arrays)


@pytest.fixture
def trust_tiny(monkeypatch: pytest.MonkeyPatch):
    """Make the loaders expect the given hashes instead of the published ones."""

    def apply(hashes: dict[str, str]) -> None:
        monkeypatch.setattr("convscope.data.loaders.known_checksums", lambda name: hashes)

    return apply


@pytest.fixture
def no_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset CONVSCOPE_DATA_DIR so only the explicit path, cache and system folders are searched."""
    monkeypatch.delenv("CONVSCOPE_DATA_DIR", raising=False)


@pytest.fixture
def make_idx_folder():
    """Function (folder, seed=0, compress=True) -> (arrays by role, hashes by raw name)."""

    def make(folder: Path, seed: int = 0, compress: bool = True) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        arrays = tiny_idx_arrays(seed=seed)
        return arrays, write_idx_folder(folder, arrays, compress=compress)

    return make
