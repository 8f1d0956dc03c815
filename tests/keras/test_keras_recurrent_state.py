"""`initial_state` on SimpleRNN, LSTM, GRU and Bidirectional against what real Keras 3.15
computed for the same inputs, states and weights (fixtures/recurrent_state.npz and .json, written
by make_keras_recurrent_fixtures.py), eagerly and in functional models; Keras's seq2seq
encoder-decoder (fixtures/seq2seq.*) loaded, predicted, summarized, saved both ways and trained;
wrong state counts and shapes named."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from keras_fixture_files import keras_summary, saved_arrays
from keras_layer_checks import FIXTURES, KERAS_PYTHON

from convscope import Model, layers, load_model, optimizers
from convscope.layers.masking import output_mask

STATES = json.loads((FIXTURES / "recurrent_state.json").read_text())
needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "recurrent_state.npz"))


def make_layer(case: str) -> Any:
    described = STATES[case]
    kwargs = dict(described["kwargs"])
    if described["class_name"] == "Bidirectional":
        inner = kwargs.pop("layer")
        return layers.Bidirectional(getattr(layers, inner["class_name"])(**inner["config"]), **kwargs)
    return getattr(layers, described["class_name"])(**kwargs)


def case_arrays(arrays: dict[str, np.ndarray], case: str, prefix: str) -> list[np.ndarray]:
    return [arrays[f"{case}/{prefix}{i}"] for i in range(STATES[case][{"s": "states", "w": "weights",
                                                                       "y": "outputs"}[prefix]])]


def listed(outputs: Any) -> list[np.ndarray]:
    return [np.asarray(value.detach()) for value in (outputs if isinstance(outputs, list) else [outputs])]


@pytest.mark.parametrize("case", sorted(STATES))
def test_initial_state_matches_keras_eagerly(case: str, arrays: dict[str, np.ndarray]) -> None:
    layer = make_layer(case)
    x = arrays[f"{case}/x"]
    layer.build(x.shape)
    layer.set_weights(case_arrays(arrays, case, "w"))
    layer.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the step loop's slow-path warning
        outputs = layer(torch.as_tensor(x), initial_state=case_arrays(arrays, case, "s"))
    for mine, theirs in zip(listed(outputs), case_arrays(arrays, case, "y"), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", sorted(STATES))
def test_initial_state_matches_keras_in_a_functional_model(case: str, arrays: dict[str, np.ndarray]) -> None:
    x, states = arrays[f"{case}/x"], case_arrays(arrays, case, "s")
    sequence = layers.Input(x.shape[1:])
    state_inputs = [layers.Input(state.shape[1:]) for state in states]
    layer = make_layer(case)
    model = Model([sequence, *state_inputs], layer(sequence, initial_state=state_inputs))
    layer.set_weights(case_arrays(arrays, case, "w"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outputs = model.predict([x, *states], verbose=0)
    for mine, theirs in zip(outputs if isinstance(outputs, list) else [outputs], case_arrays(arrays, case, "y"),
                            strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-5)


def test_zero_initial_state_is_the_default() -> None:
    layer = layers.GRU(3, return_sequences=True)
    x = torch.randn(2, 4, 5)
    np.testing.assert_array_equal(listed(layer(x)), listed(layer(x, initial_state=[torch.zeros(2, 3)])))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", ["seq2seq", "seq2seq_masked"])
def test_keras_seq2seq_file_predicts_as_keras(name: str, suffix: str) -> None:
    """seq2seq_masked: the decoder's Embedding(mask_zero=True) makes a mask, but Keras fills a call's mask
    only for a call on one tensor, so the GRU given initial_state runs every step (its output still
    carries the mask)."""
    model = load_model(FIXTURES / f"{name}{suffix}")
    x, (expected,), weights = saved_arrays(name)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    if name == "seq2seq_masked":
        mask = output_mask(model([torch.as_tensor(value) for value in x]))
        assert mask is not None
        np.testing.assert_array_equal(mask.numpy(), x[1] != 0)


def test_seq2seq_summary_connects_the_states_as_keras() -> None:
    model = load_model(FIXTURES / "seq2seq.keras")
    rows, counts = keras_summary("seq2seq")
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert model.count_params() == counts["Total params"]
    assert "input_layer_1[0][0], lstm_3[0][1], lstm_3[0][2]" in [row[3] for row in rows]
    assert "input_layer_1[0][0], lstm_3[0][1], lstm_3[0][2]" in text


def seq2seq() -> Model:
    encoder_inputs, decoder_inputs = layers.Input((None, 5)), layers.Input((None, 4))
    _, state_h, state_c = layers.LSTM(16, return_state=True)(encoder_inputs)
    decoded = layers.LSTM(16, return_sequences=True)(decoder_inputs, initial_state=[state_h, state_c])
    return Model([encoder_inputs, decoder_inputs], layers.Dense(4, activation="softmax")(decoded))


def test_seq2seq_saves_and_loads(tmp_path: Path) -> None:
    model = seq2seq()
    x = [np.random.default_rng(0).normal(size=(3, 7, 5)).astype(np.float32),
         np.random.default_rng(1).normal(size=(3, 6, 4)).astype(np.float32)]
    expected = model.predict(x, verbose=0)
    for path in (tmp_path / "run", tmp_path / "model.keras", tmp_path / "model.h5"):
        model.save(path)
        loaded = load_model(path)
        np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
        assert loaded.get_config()["layers"][3]["inbound_nodes"] == model.get_config()["layers"][3]["inbound_nodes"]


def test_seq2seq_learns_to_copy_the_source_class() -> None:
    """The decoder sees only noise; the class at every step must come through the encoder's states."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 256)
    source = rng.normal(size=(256, 6, 5)).astype(np.float32) * 0.3
    source[np.arange(256), :, labels] += 1.0
    target = rng.normal(size=(256, 5, 4)).astype(np.float32)
    y = np.repeat(labels[:, None], 5, axis=1)
    model = seq2seq()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.02), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit([source, target], y, epochs=15, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.95  # chance is 1/4


@needs_keras
@pytest.mark.slow
def test_real_keras_reads_the_seq2seq_convscope_saves(tmp_path: Path) -> None:
    model = seq2seq()
    x = [np.random.default_rng(0).normal(size=(3, 7, 5)).astype(np.float32),
         np.random.default_rng(1).normal(size=(3, 6, 4)).astype(np.float32)]
    np.savez(tmp_path / "x.npz", x0=x[0], x1=x[1])
    model.save(tmp_path / "model.keras")
    script = ("import sys, numpy as np, keras; m = keras.saving.load_model(sys.argv[1]); a = np.load(sys.argv[2]); "
              "np.save(sys.argv[3], m.predict([a['x0'], a['x1']], verbose=0))")
    done = subprocess.run([str(KERAS_PYTHON), "-c", script, str(tmp_path / "model.keras"), str(tmp_path / "x.npz"),
                           str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=300,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("make", "states", "message"), [
    (lambda: layers.LSTM(4, name="decoder"), [np.zeros((2, 4), np.float32)],
     r"LSTM 'decoder': initial_state takes 2 tensor\(s\), \[h, c\]; got 1"),
    (lambda: layers.GRU(4, name="gru_a"), [np.zeros((2, 3), np.float32)],
     r"GRU 'gru_a': initial_state\[0\] must have shape \(2, 4\); got \(2, 3\)"),
    (lambda: layers.SimpleRNN(4, name="rnn_b"), np.zeros((3, 4), np.float32),
     r"SimpleRNN 'rnn_b': initial_state\[0\] must have shape \(2, 4\); got \(3, 4\)"),
    (lambda: layers.Bidirectional(layers.LSTM(3), name="bi"), [np.zeros((2, 3), np.float32)] * 2,
     r"Bidirectional 'bi': initial_state takes 4 tensor\(s\), the forward layer's \[h, c\] then the backward"),
])
def test_wrong_states_name_the_layer(make: Any, states: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()(torch.zeros(2, 5, 3), initial_state=states)


def test_wrong_symbolic_states_name_the_layer() -> None:
    encoder_inputs, decoder_inputs = layers.Input((None, 5)), layers.Input((None, 4))
    _, state_h, state_c = layers.LSTM(8, return_state=True)(encoder_inputs)
    with pytest.raises(ValueError, match=r"LSTM 'decoder': initial_state\[0\] must have shape \(batch, 6\); got "
                                         r"\(None, 8\)"):
        layers.LSTM(6, name="decoder")(decoder_inputs, initial_state=[state_h, state_c])
    with pytest.raises(ValueError, match="GRU 'gru_c': called on a symbolic sequence, so initial_state must be"):
        layers.GRU(8, name="gru_c")(decoder_inputs, initial_state=np.zeros((1, 8), np.float32))


def test_one_hot_targets_fit_outputs_of_any_length() -> None:
    """categorical_crossentropy takes (N, steps, classes) targets for a (None, None, classes) output."""
    model = seq2seq()
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    target = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (8, 6))]
    history = model.fit([np.ones((8, 7, 5), np.float32), np.ones((8, 6, 4), np.float32)], target, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
