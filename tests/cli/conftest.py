"""Fixtures for CLI tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import write_bars_dataset


@pytest.fixture(scope="session")
def bars_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bars_dataset(tmp_path_factory.mktemp("bars") / "bars")
