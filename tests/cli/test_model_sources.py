"""Every command that takes a model reads a run folder, a saved-model folder or a built-in name
through `convscope.runs.resolve_model`, and says which it used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_helpers import run_fresh

from convscope import zoo
from convscope.runs import resolve_model


def test_resolve_model_reads_each_kind_of_source(run_folder: Path, tmp_path: Path) -> None:
    run = resolve_model(run_folder)
    assert (run.kind, run.description) == ("run folder", f"run folder {run_folder} (final model)")
    assert run.class_names(10)[0] == "a" and run.load_model().count_params() == 243_786
    inner = resolve_model(run_folder / "model")  # model/ of a run keeps the run's classes and input
    assert inner.description == f"run folder {run_folder} (final model)" and inner.class_names(10)[0] == "a"
    builtin = resolve_model("seed-cnn")
    assert builtin.description == "built-in model seed-cnn (untrained: random weights)"
    assert builtin.load_model().count_params() == 243_786 and builtin.preprocessing.shape == (28, 28, 1)
    assert resolve_model("mnist1d-cnn").preprocessing.scale == 1.0
    zoo.build("lenet5").save(tmp_path / "saved")
    saved = resolve_model(tmp_path / "saved")
    assert saved.description == f"saved model {tmp_path / 'saved'}" and saved.class_names(10)[9] == "9"


def test_an_unfinished_run_is_read_from_its_best_checkpoint(run_folder: Path, tmp_path: Path) -> None:
    unfinished = tmp_path / "unfinished"
    shutil.copytree(run_folder, unfinished)
    shutil.move(unfinished / "model", unfinished / "checkpoints" / "best")
    run = resolve_model(unfinished)
    assert run.description == f"run folder {unfinished} (checkpoint best; training did not finish)"
    assert resolve_model(unfinished / "checkpoints" / "best").description == f"run folder {unfinished} (checkpoint best)"
    shutil.rmtree(unfinished / "checkpoints")
    with pytest.raises(FileNotFoundError, match="the run has no model/ and no checkpoint yet"):
        resolve_model(unfinished)


def test_resolve_model_names_what_it_could_not_use(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no saved model here .* or one of: lenet5, mnist-convnet"):
        resolve_model(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="notes.txt: a file, not a model"):
        resolve_model(tmp_path / "notes.txt")
    (tmp_path / "config.json").write_text(json.dumps({"format": "something.else"}))
    with pytest.raises(ValueError, match="not a convscope run or saved model"):
        resolve_model(tmp_path)


def test_export_takes_the_run_folder_train_writes(run_folder: Path, tmp_path: Path) -> None:
    result = run_fresh("export", str(run_folder), "--out", str(tmp_path / "seed.onnx"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"model: run folder {run_folder} (final model)"
    assert f"wrote {tmp_path / 'seed.onnx'} (onnx" in result.stdout and (tmp_path / "seed.onnx").stat().st_size > 0


@pytest.mark.parametrize("argv", [("explain", "shapes", "--model"), ("explain", "filters", "--model"),
                                  ("summary",)])
def test_explain_and_summary_take_a_run_folder(argv: tuple[str, ...], run_folder: Path) -> None:
    result = run_fresh(*argv, str(run_folder))
    assert result.returncode == 0, result.stderr
    assert result.stderr == f"model: run folder {run_folder} (final model)\n"
    assert "26" in result.stdout
