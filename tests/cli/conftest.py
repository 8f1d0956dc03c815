"""Fixtures for CLI tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from image_folders import write_bars_dataset

from convscope import runs, utils, zoo


@pytest.fixture(scope="session")
def bars_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bars_dataset(tmp_path_factory.mktemp("bars") / "bars")


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder (config.json, model/) holding an untrained seed CNN with named classes."""
    utils.set_seed(0, deterministic=False)
    return runs.save_model_run(zoo.build("seed-cnn"), tmp_path_factory.mktemp("sources") / "run",
                               preprocessing=runs.Preprocessing((28, 28, 1)), class_names=list("abcdefghij"))


@pytest.fixture(scope="session")
def digit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 28x28 uint8 'digit' as .npy: a bright bar on a dark frame."""
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[6:22, 12:16] = 254
    path = tmp_path_factory.mktemp("inputs") / "digit.npy"
    np.save(path, pixels)
    return path
