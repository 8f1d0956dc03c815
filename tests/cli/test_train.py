"""Training from the command line on a tiny image folder: golden output, the run folder, and
the commands that read it (evaluate, predict, resume, demo)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import mask, run_cli

from convscope.runs import Run

RECIPE = ("--epochs", "1", "--batch-size", "16", "--precision", "float32", "--device", "cpu", "--seed", "0")


@pytest.fixture(scope="module")
def trained(bars_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("train") / "run"
    code, stdout, stderr = run_cli("train", "mnist-convnet", "--data", str(bars_dir), "--out", str(out), *RECIPE)
    assert code == 0, stderr
    return out, mask(stdout, RUN=out, DATA=bars_dir)


@pytest.mark.slow
def test_train_output_golden(trained: tuple[Path, str], golden: Callable[[str, str], None]) -> None:
    golden("train-mnist-convnet-bars.txt", trained[1])
    assert "Epoch 1/1 - <time>s - <n> img/s - loss: " in trained[1]


@pytest.mark.slow
def test_run_folder_holds_everything(trained: tuple[Path, str], bars_dir: Path) -> None:
    out, _ = trained
    for name in ("config.json", "history.csv", "summary.txt", "metrics.json", "report.html",
                 "model/config.json", "model/model.safetensors", "checkpoints/best/model.safetensors",
                 "checkpoints/last/model.safetensors", "plots/curves.png", "plots/confusion.png", "plots/samples.png"):
        assert (out / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["status"] == "finished" and config["data"]["class_names"] == ["bar0", "bar1", "bar2", "bar3"]
    assert config["command"] == (f"convscope train mnist-convnet --data {bars_dir} --epochs 1 --batch-size 16 "
                                 f"--device cpu --precision float32 --out {out}")
    assert config["input"]["shape"] == [28, 28, 1] and config["input"]["background"] == "dark"
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert len(rows) == 1 and set(rows[0]) == {"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_samples"] == 8 and 0 <= metrics["test_accuracy"] <= 1


@pytest.mark.slow
def test_report_opens_offline(trained: tuple[Path, str]) -> None:
    page = (trained[0] / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing fetched from elsewhere
    assert "Total params: 25,220" in page and "test_accuracy" in page


@pytest.mark.slow
def test_evaluate_and_predict_read_the_run(trained: tuple[Path, str], bars_dir: Path) -> None:
    out, _ = trained
    code, stdout, _ = run_cli("evaluate", str(out), "--json")
    result = json.loads(stdout)
    recorded = json.loads((out / "metrics.json").read_text())
    assert code == 0 and result["samples"] == 8
    assert result["accuracy"] == pytest.approx(recorded["test_accuracy"])
    assert result["loss"] == pytest.approx(recorded["test_loss"], rel=1e-3)
    image = sorted((bars_dir / "bar2").iterdir())[0]
    code, stdout, _ = run_cli("predict", str(out), str(image), "--json")
    top = json.loads(stdout)[0]["top"]
    assert code == 0 and {entry["name"] for entry in top} <= {"bar0", "bar1", "bar2", "bar3"}
    assert Run.open(out).load_model().output_shape == (None, 4)


@pytest.mark.slow
def test_resume_continues_to_more_epochs(bars_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_cli("train", "mnist-convnet", "--data", str(bars_dir), "--out", str(out), *RECIPE)[0] == 0
    code, stdout, stderr = run_cli("train", "--resume", str(out), "--epochs", "2")
    assert code == 0, stderr
    assert "Resuming" in stdout and "Epoch 2/2" in stdout and "Epoch 1/2" not in stdout
    assert [row["epoch"] for row in csv.DictReader((out / "history.csv").open())] == ["1", "2"]
    assert json.loads((out / "config.json").read_text())["epochs_done"] == 2


@pytest.mark.slow
def test_demo_trains_seed_cnn_on_fashion_mnist(fashion_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    code, stdout, stderr = run_cli("demo", "--out", str(out), "--limit", "256", "--test-limit", "128",
                                   "--epochs", "1", "--precision", "float32")
    assert code == 0, stderr
    assert 'Model: "seed_cnn"' in stdout and "Total params: 243,786" in stdout
    assert re.search(r"Test: loss [\d.]+ - accuracy [\d.]+ \(128 samples\)", stdout)
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["model"] == "seed-cnn" and config["data"]["class_names"][9] == "Ankle boot"


def test_recipe_optimizer_and_its_record() -> None:
    from convscope.training import TrainSettings

    adam = TrainSettings(model="seed-cnn", data="fashion_mnist")
    assert adam.optimizer_config() == {"class_name": "adam", "config": {"learning_rate": 4e-3, "beta_2": 0.99}}
    sgd = TrainSettings(model="seed-cnn", data="fashion_mnist", optimizer="sgd", learning_rate=0.05)
    assert sgd.optimizer_config() == {"class_name": "sgd", "config": {"learning_rate": 0.05}}
    with pytest.raises(ValueError, match="--beta-2 must be in"):
        TrainSettings(model="seed-cnn", data="fashion_mnist", beta_2=1.0).check()
    assert "--beta-2 0.999" in TrainSettings(model="seed-cnn", data="mnist", beta_2=0.999).command(Path("out"))


def test_a_run_recorded_without_beta_2_resumes_with_adams_usual_value(tmp_path: Path) -> None:
    from convscope.training import resume_settings

    (tmp_path / "config.json").write_text(json.dumps({"train": {"model": "seed-cnn", "data": "mnist", "epochs": 3}}))
    settings = resume_settings(tmp_path)
    assert settings.beta_2 == 0.999 and settings.epochs == 3
    assert resume_settings(tmp_path, epochs=5).epochs == 5
