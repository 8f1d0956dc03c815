"""The training recipe from Python, without the command line: settings, model specs, data, and
a whole run written to a folder."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convscope.runs import BEST_CHECKPOINT, LAST_CHECKPOINT, Run
from convscope.training import DEFAULT, TrainSettings, build_model, load_data, train_run


def write_bars(root: Path, per_class: int = 8, classes: int = 3) -> Path:
    """An image folder: class k is a bright bar at row 4 + 6k on a dark 28x28 frame."""
    rng = np.random.default_rng(0)
    for label in range(classes):
        (root / f"bar{label}").mkdir(parents=True)
        for index in range(per_class):
            pixels = rng.integers(0, 20, (28, 28)).astype(np.uint8)
            pixels[4 + 6 * label: 7 + 6 * label, 6:22] = 230
            Image.fromarray(pixels).save(root / f"bar{label}" / f"{index}.png")
    return root


def test_settings_repeat_as_a_command_line() -> None:
    settings = TrainSettings(model="seed-cnn", data="fashion_mnist", epochs=2, learning_rate=0.01)
    assert settings.command(Path("runs/x")) == ("convscope train seed-cnn --data fashion_mnist --epochs 2 "
                                                "--lr 0.01 --out runs/x")
    assert DEFAULT.epochs == 4 and DEFAULT.optimizer_config()["config"]["beta_2"] == 0.99
    with pytest.raises(ValueError, match="--batch-size must be at least 1"):
        TrainSettings(model="seed-cnn", data="mnist", batch_size=0).check()


def test_a_yaml_spec_builds_for_the_data(tmp_path: Path) -> None:
    spec = tmp_path / "model.yaml"
    spec.write_text("layers:\n  - Conv2D: {filters: 4, kernel_size: 3, activation: relu}\n"
                    "  - Flatten: {}\n  - {type: Dense, units: 3, activation: softmax}\n")
    model = build_model(str(spec), (28, 28, 1), 3)
    assert model.output_shape == (None, 3) and model.count_params() == 4 * 10 + 26 * 26 * 4 * 3 + 3
    with pytest.raises(ValueError, match="ends with 3 outputs but the data has 5 classes"):
        build_model(str(spec), (28, 28, 1), 5)


def test_train_run_writes_a_complete_run_folder(tmp_path: Path) -> None:
    bars = write_bars(tmp_path / "bars")
    settings = TrainSettings(model="mnist-convnet", data=str(bars), epochs=2, batch_size=8, device="cpu",
                             precision="float32", validation_split=0.25)
    data = load_data(settings)
    assert data.class_names == ["bar0", "bar1", "bar2"] and data.x_train.dtype == np.uint8
    printed = io.StringIO()
    folder = train_run(settings, tmp_path / "run", stream=printed, verbose=0)
    assert folder == tmp_path / "run"
    assert "Test: loss" in printed.getvalue() and f"Run saved to {folder}" in printed.getvalue()
    config = json.loads((folder / "config.json").read_text())
    assert config["status"] == "finished" and config["epochs_done"] == 2
    assert config["train"] == {**config["train"], "model": "mnist-convnet", "epochs": 2, "batch_size": 8}
    assert config["input"]["shape"] == [28, 28, 1] and 1 <= config["best_epoch"] <= 2
    for name in ("history.csv", "report.html", "plots/curves.png", "model/model.safetensors",
                 f"{LAST_CHECKPOINT}/model.safetensors", f"{BEST_CHECKPOINT}/model.safetensors"):
        assert (folder / name).is_file(), name
    run = Run.open(folder)
    assert run.description == f"run folder {folder} (final model)"
    assert run.class_names(3) == ["bar0", "bar1", "bar2"]
    with pytest.raises(ValueError, match="the folder is not empty"):
        train_run(settings, folder, stream=printed, verbose=0)
