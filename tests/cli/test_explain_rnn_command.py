"""`convscope explain rnn` in a fresh process, on a saved Conv1D -> LSTM model and a .npy signal:
the step's text, the engine's agreement, the JSON under --out and the errors a user meets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_helpers import run_fresh

from convscope import Sequential, explain, layers


@pytest.fixture(scope="module")
def saved_signal_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Sequential, np.ndarray]:
    torch.manual_seed(0)
    model = Sequential([layers.Input((20, 2)), layers.Conv1D(6, 3, activation="relu", name="conv"),
                        layers.LSTM(4, go_backwards=True, name="lstm"), layers.Dense(3, name="head")])
    folder = tmp_path_factory.mktemp("rnn")
    model.save(folder / "model")
    signal = np.random.default_rng(1).normal(size=(20, 2)).astype(np.float32)
    np.save(folder / "signal.npy", signal)
    return folder / "model", folder / "signal.npy", model, signal


def test_explain_rnn_shows_one_unit_gate_by_gate(saved_signal_model, tmp_path: Path) -> None:
    model_folder, signal_file, model, signal = saved_signal_model
    result = run_fresh("explain", "rnn", "--model", str(model_folder), "--image", str(signal_file), "--raw",
                       "--step", "3", "--unit", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "LSTM 'lstm', unit 2 of 4, step 3 of 18 (reads input step 14, go_backwards; 6 features)"
    assert [line.split(":")[0] for line in lines if line.startswith("Gate ")] == [
        "Gate i (input gate)", "Gate f (forget gate)", "Gate c~ (candidate cell value)", "Gate o (output gate)"]
    expected = explain.recurrent_steps(model, signal, step=3, unit=2)
    assert "New hidden: h_t[2] = o * tanh(c_t) = " in result.stdout
    assert lines[-3].startswith(f"Engine h_t[2] = {expected.engine_hidden:.7g} (agrees;")
    assert lines[-2].startswith(f"Engine c_t[2] = {expected.engine_cell:.7g} (agrees;")
    data = json.loads((tmp_path / "rnn_steps.json").read_text())
    assert data["hidden"] == pytest.approx(expected.hidden) and data["agrees"] is True
    assert [gate["gate"] for gate in data["gates"]] == ["i", "f", "c", "o"]
    assert lines[-1] == f"wrote {tmp_path / 'rnn_steps.json'}"


def test_explain_rnn_errors_name_what_exists(saved_signal_model) -> None:
    model_folder, signal_file, _, _ = saved_signal_model
    result = run_fresh("explain", "rnn", "--model", str(model_folder), "--image", str(signal_file), "--raw",
                       "--step", "18")
    assert result.returncode != 0
    assert "step 18 does not exist; the sequence has 18 steps (0..17)" in result.stderr
    result = run_fresh("explain", "rnn", "--model", str(model_folder), "--image", str(signal_file), "--layer", "head")
    assert result.returncode != 0 and "head" in result.stderr
