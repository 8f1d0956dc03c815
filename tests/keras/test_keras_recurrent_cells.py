"""RNN over SimpleRNNCell, LSTMCell, GRUCell and StackedRNNCells against what real Keras 3.15
computed for the same inputs and weights (fixtures/recurrent_cells.npz and .json, written by
make_keras_recurrent_fixtures.py); one step of each cell; Keras's configs and weight layout; a
Keras-saved Embedding -> RNN([LSTMCell, GRUCell]) model read, and convscope's read by Keras."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from keras_fixture_files import saved_arrays
from keras_layer_checks import FIXTURES, KERAS_PYTHON

from convscope import Sequential, layers, load_model
from convscope.models.keras_files import layer_entry

CELLS = json.loads((FIXTURES / "recurrent_cells.json").read_text())
RNN_CASES = sorted(case for case in CELLS if not case.startswith("step_"))
needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "recurrent_cells.npz"))


def from_keras(config: dict[str, Any], class_name: str = "RNN") -> Any:
    """A layer from Keras's config, read as a Keras file's layer entry is."""
    entry = layer_entry({"class_name": class_name, "config": config}, FIXTURES / "recurrent_cells.json")
    return getattr(layers, class_name).from_config(entry["config"])


def numbered(arrays: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    return [arrays[f"{prefix}{i}"] for i in range(sum(key.startswith(prefix) for key in arrays))]


@pytest.mark.parametrize("case", RNN_CASES)
def test_rnn_over_cells_matches_keras(case: str, arrays: dict[str, np.ndarray]) -> None:
    layer = from_keras(CELLS[case]["config"])
    x = arrays[f"{case}/x"]
    layer.build(x.shape)
    layer.set_weights(numbered(arrays, f"{case}/w"))
    layer.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the step loop's slow-path warning
        outputs = layer(torch.as_tensor(x))
    outputs = outputs if isinstance(outputs, list) else [outputs]
    for mine, theirs in zip(outputs, numbered(arrays, f"{case}/y"), strict=True):
        np.testing.assert_allclose(mine.detach().numpy(), theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", RNN_CASES)
def test_config_and_weight_names_are_keras(case: str) -> None:
    keras_config = CELLS[case]["config"]
    layer = from_keras(keras_config)
    layer.build((None, 5, 3))
    mine = layer.get_config()
    assert set(mine) == set(keras_config)
    cells = [mine["cell"]] if mine["cell"]["class_name"] != "StackedRNNCells" else mine["cell"]["config"]["cells"]
    theirs = [keras_config["cell"]] if keras_config["cell"]["class_name"] != "StackedRNNCells" else \
        keras_config["cell"]["config"]["cells"]
    for own, keras_cell in zip(cells, theirs, strict=True):
        assert own["class_name"] == keras_cell["class_name"]
        assert set(own["config"]) == set(keras_cell["config"]) - {"dtype"}
    # Keras names each weight rnn/<cell>/<weight> (rnn/stacked_rnn_cells/<cell>/<weight> for a stack)
    assert [name for name, _, _ in layer.keras_weights()] == \
        [path.split("/", 1)[1] for path in CELLS[case]["weight_paths"]]
    assert layers.RNN.from_config(mine).get_config() == mine


@pytest.mark.parametrize("name", ["SimpleRNNCell", "LSTMCell", "GRUCell"])
def test_one_step_of_a_cell_matches_keras(name: str, arrays: dict[str, np.ndarray]) -> None:
    prefix = f"step_{name}"
    cell = from_keras(CELLS[prefix]["config"], name)
    cell.build((None, 4))
    cell.set_weights(numbered(arrays, f"{prefix}/w"))
    output, states = cell(torch.as_tensor(arrays[f"{prefix}/x"]), numbered(arrays, f"{prefix}/s"))
    np.testing.assert_allclose(output.detach().numpy(), arrays[f"{prefix}/y"], rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(states, numbered(arrays, f"{prefix}/new"), strict=True):
        np.testing.assert_allclose(mine.detach().numpy(), theirs, rtol=1e-5, atol=1e-6)


def test_rnn_of_an_lstm_cell_is_the_lstm_layer() -> None:
    x = torch.randn(3, 6, 2)
    lstm = layers.LSTM(5, return_sequences=True)
    expected = lstm(x)
    rnn = layers.RNN(layers.LSTMCell(5), return_sequences=True)
    rnn.build((None, 6, 2))
    rnn.set_weights(lstm.get_weights())
    assert torch.equal(rnn(x), expected)  # the same fused kernel on the same weights


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_rnn_cells_model_predicts_as_keras(suffix: str) -> None:
    model = load_model(FIXTURES / f"rnn_cells{suffix}")
    (x,), (expected,), weights = saved_arrays("rnn_cells")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)


@needs_keras
@pytest.mark.slow
def test_real_keras_reads_rnn_cells_convscope_saves(tmp_path: Path) -> None:
    model = Sequential([layers.Input((6, 3)), layers.RNN([layers.LSTMCell(4), layers.GRUCell(3, reset_after=False),
                                                          layers.LSTMCell(2)], return_sequences=True),
                        layers.RNN(layers.SimpleRNNCell(3)), layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(3, 6, 3)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = model.predict(x, verbose=0)
    script = ("import sys, numpy as np, keras; m = keras.saving.load_model(sys.argv[1]); "
              "np.save(sys.argv[3], m.predict(np.load(sys.argv[2])['x'], verbose=0))")
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"model{suffix}")
        done = subprocess.run([str(KERAS_PYTHON), "-c", script, str(tmp_path / f"model{suffix}"),
                               str(tmp_path / "x.npz"), str(tmp_path / "y.npy")], capture_output=True, text=True,
                              timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow",
                                                "PATH": "/usr/bin:/bin"})
        assert done.returncode == 0, done.stderr[-3000:]
        np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.RNN(layers.Dense(3)), "RNN: a cell must be SimpleRNNCell, LSTMCell or GRUCell"),
    (lambda: layers.RNN([]), "StackedRNNCells: cells must be a non-empty list"),
    (lambda: layers.LSTMCell(3, return_sequences=True), r"LSTMCell: return_sequences belong to the layer"),
    (lambda: layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)], return_state=True, name="stack"),
     "RNN 'stack': return_state with stacked cells is not supported"),
    (lambda: layers.RNN(layers.GRUCell(3), stateful=True), "RNN: stateful=True is not supported"),
    (lambda: layers.Bidirectional(layers.LSTMCell(3)), "Bidirectional: layer must be a recurrent layer"),
])
def test_bad_arguments_name_the_layer(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_calls_name_the_cell() -> None:
    cell = layers.GRUCell(3, name="step")
    with pytest.raises(ValueError, match=r"GRUCell 'step': a cell takes one step, \(batch, features\); got shape"):
        cell(torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"GRUCell 'step': a cell computes one step on tensors"):
        cell(layers.Input((5, 4)))
    with pytest.raises(ValueError, match=r"RNN 'rnn_a': initial_state takes 3 tensor\(s\)"):
        layers.RNN([layers.LSTMCell(3), layers.GRUCell(2)], name="rnn_a")(torch.zeros(2, 5, 4),
                                                                         initial_state=[torch.zeros(2, 3)])
