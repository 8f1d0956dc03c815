"""Fixtures for the web app tests; benchmarks/ is importable (its load tools drive the live tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from serve_helpers import make_run, make_signal_run

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))


@pytest.fixture(scope="session")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("serve") / "run")


@pytest.fixture(scope="session")
def signal_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_signal_run(tmp_path_factory.mktemp("serve") / "run1d")
