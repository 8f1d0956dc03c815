"""SimpleRNN, LSTM, GRU and Bidirectional against what real Keras 3.15 computed for the same inputs
and weights (fixtures/recurrent.npz and recurrent.json, written by make_keras_recurrent_fixtures.py
from keras_recurrent_cases.py), on torch's fused kernels and on the per-step loop; Keras-saved
Conv1D+LSTM and Bidirectional models read and predicted; files convscope writes read back by
real Keras; errors naming the layer; a Conv1D -> LSTM classifier that learns."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from keras_fixture_files import keras_summary, saved_arrays
from keras_layer_checks import (
    FIXTURES,
    KERAS_PYTHON,
    keras_arrays,
    keras_descriptions,
    real_keras_predicts,
)
from keras_recurrent_cases import CASES

from convscope import Sequential, layers, load_model, optimizers
from convscope.explain.shapes import shape_journey
from convscope.layers import Layer
from convscope.layers.recurrent import Recurrent
from convscope.ops import cpu_kernels

KERAS = keras_descriptions("recurrent")
needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return keras_arrays("recurrent")


def layer_for(case: str, arrays: dict[str, np.ndarray]) -> Layer:
    class_name, kwargs, shape = CASES[case]
    layer = getattr(layers, class_name)(**kwargs)
    layer.build((None, *shape[1:]))
    weights = [arrays[f"{case}/w{number}"] for number in range(KERAS[case]["weights"])]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights]  # Keras's order and layout
    layer.set_weights(weights)
    return layer.eval()


def outputs_of(layer: Layer, x: np.ndarray) -> list[np.ndarray]:
    result = layer(torch.from_numpy(x))
    return [tensor.detach().numpy() for tensor in (result if isinstance(result, list) else [result])]


def recurrent_parts(layer: Layer) -> list[Recurrent]:
    return [layer.forward_layer, layer.backward_layer] if isinstance(layer, layers.Bidirectional) else [layer]


@pytest.mark.parametrize("path", ["fused", "loop"])
@pytest.mark.parametrize("case", CASES)
def test_outputs_match_keras(case: str, path: str, arrays: dict[str, np.ndarray],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    layer = layer_for(case, arrays)
    if path == "loop":
        for part in recurrent_parts(layer):
            monkeypatch.setattr(part, "fused", lambda: False)
    outputs = outputs_of(layer, arrays[f"{case}/x"])
    assert len(outputs) == KERAS[case]["outputs"]
    for number, output in enumerate(outputs):
        np.testing.assert_allclose(output, arrays[f"{case}/y{number}"], rtol=1e-5, atol=2e-6)


def test_fused_and_loop_agree_on_gradients() -> None:
    for layer in (layers.LSTM(5, return_sequences=True), layers.GRU(4), layers.SimpleRNN(3)):
        x = torch.randn(3, 7, 2, requires_grad=True)
        fused = layer(x)
        assert layer.fused()
        fused_grads = torch.autograd.grad(fused.square().sum(), [x, *layer.parameters()])
        layer.fused = lambda: False  # type: ignore[method-assign]
        loop = layer(x)
        torch.testing.assert_close(loop, fused, rtol=1e-5, atol=1e-6)
        for mine, theirs in zip(torch.autograd.grad(loop.square().sum(), [x, *layer.parameters()]), fused_grads):
            torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_shapes_counts_and_config_match_keras(case: str) -> None:
    class_name, kwargs, shape = CASES[case]
    layer = getattr(layers, class_name)(**kwargs)
    layer.build((None, *shape[1:]))
    assert layer.count_params() == KERAS[case]["params"]
    shapes = [list(s) for s in layer.output_shapes(shape)]
    keras_shapes = KERAS[case]["output_shape"]
    if case != "bidirectional_backward_layer":  # Keras doubles the forward units there; the output has 3 + 2
        assert shapes == (keras_shapes if isinstance(keras_shapes[0], list) else [keras_shapes])
    mine, theirs = layer.get_config(), KERAS[case]["config"]
    if class_name == "Bidirectional":
        assert mine["merge_mode"] == theirs["merge_mode"]
        mine, theirs = mine["layer"]["config"], theirs["layer"]["config"]
    theirs = {key: value for key, value in theirs.items() if key != "dtype"}  # zero_output_for_mask compared too
    theirs.pop("activity_regularizer", None)
    assert set(mine) == set(theirs)
    for key, value in theirs.items():
        if not key.endswith(("_initializer", "name")):
            assert mine[key] == value, key


@pytest.mark.parametrize("case", CASES)
def test_config_and_save_round_trips(case: str, arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    layer = layer_for(case, arrays)
    x = arrays[f"{case}/x"]
    clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
    clone.build(layer.input_shape)
    assert clone.get_config() == layer.get_config()
    clone.set_weights(layer.get_weights())
    for mine, theirs in zip(outputs_of(clone.eval(), x), outputs_of(layer, x)):
        np.testing.assert_array_equal(mine, theirs)
    if KERAS[case]["outputs"] == 1:
        model = Sequential([layers.Input(x.shape[1:]), layer])
        before = model.predict(x, verbose=0)
        for path in (tmp_path / "model", tmp_path / "model.keras", tmp_path / "model.h5"):
            model.save(path)
            np.testing.assert_allclose(load_model(path).predict(x, verbose=0), before, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", ["conv1d_lstm", "bigru"])
def test_keras_saved_models_predict_as_keras(name: str, suffix: str) -> None:
    model = load_model(FIXTURES / f"{name}{suffix}")
    (x,), (expected,), weights = saved_arrays(name)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for mine, theirs in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("name", ["conv1d_lstm", "bigru"])
def test_summary_shows_keras_shapes_and_counts(name: str) -> None:
    model = load_model(FIXTURES / f"{name}.keras")
    rows, counts = keras_summary(name)
    assert model.count_params() == counts["Total params"]
    assert [(layer.output_shape, layer.count_params()) for layer in model.layers] == \
        [(tuple(None if size == "None" else int(size) for size in row[1].strip("()").split(", ")), int(row[2]))
         for row in rows]
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for layer in model.layers:
        assert f"({type(layer).__name__})" in text


@needs_keras
@pytest.mark.slow
def test_real_keras_reads_recurrent_models_convscope_saves(tmp_path: Path) -> None:
    model = Sequential([layers.Input((16, 2)), layers.Conv1D(4, 3, activation="relu"), layers.LSTM(5, return_sequences=True),
                        layers.Bidirectional(layers.GRU(3, reset_after=False), merge_mode="ave"),
                        layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(3, 16, 2)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    expected = model.predict(x, verbose=0)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"model{suffix}")
        predictions, _ = real_keras_predicts(tmp_path / f"model{suffix}", tmp_path / "x.npz", "x", tmp_path)
        np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.LSTM(0), "LSTM: units must be a positive integer"),
    (lambda: layers.GRU(-3, name="gate"), "GRU 'gate': units must be a positive integer"),
    (lambda: layers.SimpleRNN(4, stateful=True), "SimpleRNN: stateful=True is not supported"),
    (lambda: layers.LSTM(4, dropout=1.5), "LSTM: dropout must be a fraction"),
    (lambda: layers.Bidirectional(layers.LSTM(4), merge_mode="max"), "Bidirectional: merge_mode must be one of"),
    (lambda: layers.Bidirectional(layers.Dense(4)), "Bidirectional: layer must be a recurrent layer"),
    (lambda: layers.Bidirectional(layers.LSTM(4), backward_layer=layers.LSTM(4)), "opposite directions"),
])
def test_bad_arguments_name_the_layer(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("layer", [layers.LSTM(4, name="lstm_a"), layers.Bidirectional(layers.GRU(2), name="bi")])
def test_input_that_is_not_3d_names_the_layer(layer: Layer) -> None:
    with pytest.raises(ValueError, match=r"(LSTM 'lstm_a'|Bidirectional 'bi') expects 3-D input"):
        layer(torch.zeros(2, 10))
    with pytest.raises(ValueError, match="expects 3-D input"):
        Sequential([layers.Input((10, 2, 1)), layer])


def test_return_state_in_a_functional_model() -> None:
    from convscope import Model

    inputs = layers.Input((6, 3))
    output, h, c = layers.LSTM(4, return_state=True)(inputs)
    model = Model(inputs, [output, c])
    x = np.random.default_rng(1).normal(size=(2, 6, 3)).astype(np.float32)
    first, cell = model.predict(x, verbose=0)
    assert first.shape == (2, 4) and cell.shape == (2, 4)
    np.testing.assert_allclose(first, model.layers[1](torch.from_numpy(x))[1].detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("layer", [layers.SimpleRNN(3, return_state=True, name="rnn"),
                                   layers.Bidirectional(layers.GRU(2), merge_mode=None, name="rnn")])
def test_sequential_refuses_a_layer_with_several_outputs(layer: Layer) -> None:
    with pytest.raises(ValueError, match=r"(SimpleRNN|Bidirectional) 'rnn' returns [23] tensors; .*functional API"):
        Sequential([layers.Input((5, 2)), layer])


def test_dropout_trains_and_is_off_in_inference() -> None:
    layer = layers.LSTM(4, dropout=0.5, recurrent_dropout=0.5)
    x = torch.randn(8, 5, 3)
    inference = layer.eval()(x)
    torch.testing.assert_close(layer(x), inference)
    layer.train()
    assert not layer.fused()  # recurrent dropout runs the loop
    assert not torch.allclose(layer(x), inference)


def signals(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Noisy 1-D signals of three kinds: a slow sine, a fast sine, a step."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 64, dtype=np.float32)
    labels = rng.integers(0, 3, count)
    shapes = np.stack([np.sin(2 * np.pi * 2 * t), np.sin(2 * np.pi * 9 * t), np.where(t > 0.5, 1.0, -1.0)])
    phase = rng.integers(0, 8, count)
    x = np.stack([np.roll(shapes[label], shift) for label, shift in zip(labels, phase)])
    x = x + rng.normal(scale=0.3, size=x.shape)
    return x[..., None].astype(np.float32), labels


def test_conv1d_lstm_classifier_learns_signals() -> None:
    torch.manual_seed(0)
    x, y = signals(384, 0)
    x_test, y_test = signals(192, 1)
    model = Sequential([layers.Input((64, 1)), layers.Conv1D(8, 5, activation="relu"), layers.MaxPooling1D(2),
                        layers.LSTM(16), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    with cpu_kernels.enabled(True):
        model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.9  # chance is 1/3


def conv1d_lstm() -> Sequential:
    return Sequential([layers.Input((40, 2)), layers.Conv1D(8, 5, activation="relu"), layers.MaxPooling1D(2),
                       layers.LSTM(6), layers.Dense(3, activation="softmax")])


def test_shape_journey_passes_through_the_lstm() -> None:
    steps = shape_journey(conv1d_lstm())
    assert [(step.kind, step.output_shape) for step in steps] == \
        [("Conv1D", (36, 8)), ("MaxPooling1D", (18, 8)), ("LSTM", (6,)), ("Dense", (3,))]
    assert steps[2].arithmetic == ["units = 6 (the size of the hidden state h, and of the cell c)",
                                   "weights: 4 gates (i, f, c, o) x (features 8 + units 6 + bias 1) x units 6 = 360",
                                   "return_sequences=False: h after the last step -> (6)"]


@pytest.mark.parametrize("fused", [True, False])
def test_onnx_export_predicts_as_the_model(fused: bool, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from convscope.export import export_model, onnx_predict

    model = conv1d_lstm() if fused else Sequential([
        layers.Input((40, 2)), layers.Conv1D(8, 5), layers.LSTM(6, return_sequences=True, recurrent_activation="hard_sigmoid"),
        layers.Bidirectional(layers.GRU(4, reset_after=False)), layers.Dense(3)])
    x = np.random.default_rng(0).normal(size=(5, 40, 2)).astype(np.float32)
    export_model(model, tmp_path / "model.onnx")
    np.testing.assert_allclose(onnx_predict(tmp_path / "model.onnx", x), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("shape", [(4, 12), (12, 4), (3, 2, 5)])
def test_orthogonal_initializer_gives_orthonormal_rows_or_columns(shape: tuple[int, ...]) -> None:
    from convscope import initializers

    matrix = initializers.get({"class_name": "Orthogonal", "config": {"gain": 2.0, "seed": 3}})(shape)
    assert matrix.shape == shape
    flat = matrix.reshape(-1, shape[-1]).double() / 2.0
    small = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    torch.testing.assert_close(small, torch.eye(small.shape[0], dtype=torch.float64), atol=1e-5, rtol=0)
    torch.testing.assert_close(matrix, initializers.Orthogonal(gain=2.0, seed=3)(shape))


def test_the_step_by_step_path_warns_once_saying_why() -> None:
    x = torch.randn(2, 5, 3)
    fused = layers.LSTM(4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fused(x)  # the fused kernel: silent
    slow = layers.GRU(4, activation="relu", reset_after=False, name="gru")
    with pytest.warns(UserWarning, match=r"^GRU 'gru': activation='relu', reset_after=False has no fused torch "
                                         r"kernel, so the layer runs its cell step by step"):
        slow(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        slow(x)  # once per layer
    dropping = layers.LSTM(4, recurrent_dropout=0.5, name="lstm").train()
    with pytest.warns(UserWarning, match=r"recurrent_dropout=0.5 in training has no fused torch kernel"):
        dropping(x)
