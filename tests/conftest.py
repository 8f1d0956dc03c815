"""Shared fixtures: where the read-only test data lives, and a quiet, seeded environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# CI clones the repository with shared/ beside it; developers have the same layout.
SHARED_DATA = Path(os.environ.get("CONVSCOPE_TEST_SHARED_DATA", REPO.parent / "shared" / "data"))
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """Folder holding `mnist/` (the real MNIST IDX files); skips when absent."""
    if not (SHARED_DATA / "mnist").is_dir():
        pytest.skip(f"shared MNIST data not found at {SHARED_DATA / 'mnist'}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fashion_dir() -> Path:
    """Debian's dataset-fashion-mnist folder; skips when the package is not installed."""
    if not FASHION_SYSTEM_DIR.is_dir():
        pytest.skip("Debian package dataset-fashion-mnist is not installed")
    return FASHION_SYSTEM_DIR


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let a test write into the user's real cache."""
    monkeypatch.setenv("CONVSCOPE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("MPLBACKEND", "Agg")
