"""Fixtures for the web app tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from serve_helpers import make_run


@pytest.fixture(scope="session")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("serve") / "run")
