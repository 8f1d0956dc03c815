"""ConvLSTM1D, ConvLSTM2D and ConvLSTM3D against real Keras: outputs on fixed weights, shapes,
parameter counts and configs (fixtures from make_keras_conv_lstm_fixtures.py), Keras's own files,
saving, errors, and the keras.io next-frame model training."""

from __future__ import annotations

import json
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

from convscope import Model, Sequential, layers, load_model, optimizers
from convscope.layers import Layer

KERAS = keras_descriptions("conv_lstm")
needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return keras_arrays("conv_lstm")


def layer_for(case: str, arrays: dict[str, np.ndarray]) -> Layer:
    described = KERAS[case]
    layer = getattr(layers, described["class_name"])(**described["kwargs"])
    layer.build((None, *described["shape"][1:]))
    weights = [arrays[f"{case}/w{number}"] for number in range(described["weights"])]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights]  # Keras's order and layout
    layer.set_weights(weights)
    return layer.eval()


def outputs_of(layer: Layer, x: np.ndarray, states: list[np.ndarray] | None = None) -> list[np.ndarray]:
    result = layer(torch.from_numpy(x)) if not states else layer(torch.from_numpy(x), initial_state=states)
    return [tensor.detach().numpy() for tensor in (result if isinstance(result, list) else [result])]


@pytest.mark.parametrize("case", KERAS)
def test_outputs_match_keras(case: str, arrays: dict[str, np.ndarray]) -> None:
    layer = layer_for(case, arrays)
    states = [arrays[f"{case}/s{number}"] for number in range(KERAS[case]["states"])]
    outputs = outputs_of(layer, arrays[f"{case}/x"], states)
    assert len(outputs) == KERAS[case]["outputs"]
    for number, output in enumerate(outputs):
        np.testing.assert_allclose(output, arrays[f"{case}/y{number}"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", KERAS)
def test_shapes_counts_and_config_match_keras(case: str) -> None:
    described = KERAS[case]
    layer = getattr(layers, described["class_name"])(**described["kwargs"])
    layer.build((None, *described["shape"][1:]))
    assert layer.count_params() == described["params"]
    keras_shapes = described["output_shape"]
    assert [list(shape) for shape in layer.output_shapes(tuple(described["shape"]))] == \
        (keras_shapes if isinstance(keras_shapes[0], list) else [keras_shapes])
    mine, theirs = layer.get_config(), described["config"]
    assert set(mine) == set(theirs)
    for key, value in theirs.items():
        if not key.endswith(("_initializer", "name")):
            assert mine[key] == value, key


@pytest.mark.parametrize("case", ["2d_valid_strides", "1d_same", "3d_same_sequences"])
def test_config_and_save_round_trips(case: str, arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    layer = layer_for(case, arrays)
    x = arrays[f"{case}/x"]
    clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
    clone.build(layer.input_shape)
    assert clone.get_config() == layer.get_config()
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(outputs_of(clone.eval(), x)[0], outputs_of(layer, x)[0])
    model = Sequential([layers.Input(x.shape[1:]), layer])
    before = model.predict(x, verbose=0)
    for path in (tmp_path / "model", tmp_path / "model.keras", tmp_path / "model.h5"):
        model.save(path)
        np.testing.assert_allclose(load_model(path).predict(x, verbose=0), before, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_next_frame_model_predicts_as_keras(suffix: str) -> None:
    model = load_model(FIXTURES / f"next_frame{suffix}")
    (x,), (expected,), weights = saved_arrays("next_frame")
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)
    for mine, theirs in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(mine, theirs)


def test_summary_shows_keras_shapes_and_counts() -> None:
    model = load_model(FIXTURES / "next_frame.keras")
    rows, counts = keras_summary("next_frame")
    assert model.count_params() == counts["Total params"]
    assert [(layer.output_shape, layer.count_params()) for layer in model.layers] == \
        [(tuple(None if size == "None" else int(size) for size in row[1].strip("()").split(", ")),
          int(row[2].replace(",", ""))) for row in rows]
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    assert "(ConvLSTM2D)" in "\n".join(lines)


@needs_keras
@pytest.mark.slow
def test_real_keras_reads_conv_lstm_models_convscope_saves(tmp_path: Path) -> None:
    model = Sequential([layers.Input((3, 6, 5, 2)), layers.ConvLSTM2D(3, 3, padding="same", return_sequences=True),
                        layers.ConvLSTM2D(2, (2, 3), strides=2, unit_forget_bias=False), layers.Flatten(),
                        layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(2, 3, 6, 5, 2)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    expected = model.predict(x, verbose=0)
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"model{suffix}")
        predictions, _ = real_keras_predicts(tmp_path / f"model{suffix}", tmp_path / "x.npz", "x", tmp_path)
        np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.ConvLSTM2D(0, 3), "ConvLSTM2D: filters must be a positive integer"),
    (lambda: layers.ConvLSTM1D(4, (3, 3), name="frames"), "ConvLSTM1D 'frames': kernel_size must be"),
    (lambda: layers.ConvLSTM2D(4, 3, padding="causal"), "ConvLSTM2D: unknown padding 'causal'"),
    (lambda: layers.ConvLSTM2D(4, 3, strides=2, dilation_rate=2), "ConvLSTM2D: strides > 1 cannot be combined"),
    (lambda: layers.ConvLSTM3D(4, 3, stateful=True), "ConvLSTM3D: stateful=True is not supported"),
    (lambda: layers.ConvLSTM2D(4, 3, dropout=1.0), "ConvLSTM2D: dropout must be a fraction"),
    (lambda: layers.ConvLSTM2D(4, 3, recurrent_activation="nope"), "ConvLSTM2D recurrent_activation"),
])
def test_bad_arguments_name_the_layer(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(("layer", "shape", "message"), [
    (layers.ConvLSTM2D(2, 3), (2, 5, 5, 1), r"ConvLSTM2D 'conv_lstm2d\w*' expects 5-D input \(batch, time, rows, "),
    (layers.ConvLSTM1D(2, 3), (2, 8, 1), r"expects 4-D input \(batch, time, steps, channels\)"),
    (layers.ConvLSTM3D(2, 3), (2, 3, 5, 5, 1), r"expects 6-D input \(batch, time, depth, rows, cols, channels\)"),
    (layers.ConvLSTM2D(2, 5), (2, 3, 4, 4, 1), "kernel 5x5 .* is larger than each frame, 4x4"),
])
def test_bad_inputs_name_the_layer(layer: Layer, shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layer(torch.zeros(shape))


def test_initial_state_of_the_wrong_shape_names_the_layer() -> None:
    layer = layers.ConvLSTM2D(2, 3, padding="same")
    x = torch.zeros(2, 3, 5, 5, 1)
    with pytest.raises(ValueError, match=r"ConvLSTM2D '\w+': initial_state\[1\] must have shape \(2, 5, 5, 2\)"):
        layer(x, initial_state=[torch.zeros(2, 5, 5, 2), torch.zeros(2, 5, 5, 3)])
    with pytest.raises(ValueError, match="initial_state takes 2 tensors"):
        layer(x, initial_state=[torch.zeros(2, 5, 5, 2)])


def test_states_feed_a_second_layer_in_a_functional_model() -> None:
    frames = layers.Input((3, 6, 6, 1))
    _, h, c = layers.ConvLSTM2D(2, 3, padding="same", return_state=True)(frames)
    decoded = layers.ConvLSTM2D(2, 3, padding="same")(frames, initial_state=[h, c])
    model = Model(frames, decoded)
    assert model.output_shape == (None, 6, 6, 2)
    x = np.random.default_rng(1).normal(size=(2, 3, 6, 6, 1)).astype(np.float32)
    assert model.predict(x, verbose=0).shape == (2, 6, 6, 2)


def test_a_masked_step_keeps_the_states() -> None:
    layer = layers.ConvLSTM1D(2, 3, padding="same", return_sequences=True).eval()
    x = torch.randn(2, 4, 5, 1)
    mask = torch.tensor([[True, True, False, True], [True, True, True, True]])
    masked = layer(x, mask=mask)
    shorter = layers.ConvLSTM1D(2, 3, padding="same", return_sequences=True).eval()
    shorter.build((None, 3, 5, 1))
    shorter.set_weights(layer.get_weights())
    dropped = shorter(x[:, [0, 1, 3]])
    torch.testing.assert_close(masked[0, 1], masked[0, 2])  # the masked step repeats the previous output
    torch.testing.assert_close(masked[0, 3], dropped[0, 2])  # and the next step starts from its states
    torch.testing.assert_close(layer(x, mask=torch.ones(2, 4, dtype=torch.bool)), layer(x))


def test_channels_first_is_channels_last_transposed() -> None:
    last = layers.ConvLSTM2D(3, (3, 2), strides=(1, 2), padding="same", return_sequences=True)
    first = layers.ConvLSTM2D(3, (3, 2), strides=(1, 2), padding="same", return_sequences=True,
                              data_format="channels_first")
    x = torch.randn(2, 3, 5, 6, 2)
    expected = last(x)
    first.build((None, 3, 2, 5, 6))
    first.set_weights(last.get_weights())
    torch.testing.assert_close(first(x.permute(0, 1, 4, 2, 3)), expected.permute(0, 1, 4, 2, 3))
    assert first.compute_output_shape((None, 3, 2, 5, 6)) == (None, 3, 3, 5, 3)


def test_dropout_trains_and_is_off_in_inference() -> None:
    layer = layers.ConvLSTM2D(2, 3, padding="same", dropout=0.5, recurrent_dropout=0.5)
    x = torch.randn(4, 3, 5, 5, 1)
    layer.eval()
    torch.testing.assert_close(layer(x), layer(x))
    layer.train()
    torch.manual_seed(0)
    first = layer(x)
    assert not torch.allclose(first, layer(x))
    first.square().sum().backward()
    assert all(parameter.grad is not None for parameter in layer.parameters())


def test_unit_forget_bias_starts_the_forget_gate_at_one() -> None:
    layer = layers.ConvLSTM2D(3, 3)
    layer.build((None, 2, 5, 5, 1))
    _, _, bias = layer.get_weights()
    np.testing.assert_array_equal(bias, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])


def test_next_frame_model_learns() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    frames = np.zeros((16, 5, 8, 8, 1), np.float32)  # a square moving one pixel right per frame
    for sample in range(16):
        row, col = rng.integers(0, 5, 2)
        for step in range(5):
            frames[sample, step, row:row + 3, (col + step) % 6:(col + step) % 6 + 3, 0] = 1.0
    model = Sequential([
        layers.Input((None, 8, 8, 1)),
        layers.ConvLSTM2D(8, (3, 3), padding="same", return_sequences=True, activation="relu"),
        layers.BatchNormalization(),
        layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same"),
    ])
    model.compile(loss="binary_crossentropy", optimizer=optimizers.Adam(0.01))
    history = model.fit(frames[:, :-1], frames[:, 1:], batch_size=4, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert losses == sorted(losses, reverse=True)  # falls every epoch
