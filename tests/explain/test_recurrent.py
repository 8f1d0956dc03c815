"""Recurrent layers explained: the NumPy reference cells against the engine's SimpleRNN, LSTM and
GRU, one unit at one step worked out gate by gate, and the shape journey's weight counts."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch

from convscope import Sequential, explain, layers
from convscope.explain.reference import recurrent as reference

KINDS = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {"reset_after": True}), ("GRU", {"reset_after": False})]


def random_layer(kind: str, features: int, units: int, seed: int, **options: object) -> layers.Layer:
    """A built layer with random weights, biases included (zero biases would hide bias mistakes)."""
    layer = getattr(layers, kind)(units, **options)
    layer.build((None, None, features))
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in layer.get_weights()])
    layer.eval()
    return layer


def engine(layer: layers.Layer, sequence: np.ndarray) -> np.ndarray:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the step-by-step path's slow-path warning
        return layer(torch.from_numpy(sequence[None].astype(np.float32)))[0].numpy()


def reference_run(layer: layers.Layer, sequence: np.ndarray, **options: object) -> tuple[np.ndarray, list[np.ndarray]]:
    config = layer.get_config()
    weights = layer.get_weights()
    return reference.recurrent_run(type(layer).__name__, sequence, *weights, activation=config["activation"],
                                   recurrent_activation=config.get("recurrent_activation", "sigmoid"),
                                   reset_after=config.get("reset_after", True), **options)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize(("kind", "options"), KINDS)
def test_reference_run_matches_the_engine(kind: str, options: dict[str, object], go_backwards: bool) -> None:
    sequence = np.random.default_rng(1).normal(size=(7, 5))
    layer = random_layer(kind, 5, 4, seed=2, return_sequences=True, go_backwards=go_backwards, **options)
    outputs, states = reference_run(layer, sequence, go_backwards=go_backwards)
    assert outputs.shape == (7, 4)
    np.testing.assert_allclose(engine(layer, sequence), outputs, rtol=1e-5, atol=1e-5)
    last = random_layer(kind, 5, 4, seed=2, go_backwards=go_backwards, **options)  # return_sequences=False
    np.testing.assert_allclose(engine(last, sequence), states[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(outputs[-1], states[0])


@pytest.mark.parametrize(("kind", "options"), KINDS[1:])
def test_reference_run_matches_other_activations(kind: str, options: dict[str, object]) -> None:
    """relu and hard_sigmoid put the engine on its step-by-step path; the reference agrees there too."""
    sequence = np.random.default_rng(3).normal(size=(6, 3))
    layer = random_layer(kind, 3, 5, seed=4, return_sequences=True, activation="relu",
                         recurrent_activation="hard_sigmoid", **options)
    outputs, _ = reference_run(layer, sequence)
    np.testing.assert_allclose(engine(layer, sequence), outputs, rtol=1e-5, atol=1e-5)


def test_lstm_state_after_return_state_matches() -> None:
    sequence = np.random.default_rng(5).normal(size=(5, 3))
    layer = random_layer("LSTM", 3, 4, seed=6, return_state=True)
    with torch.no_grad():
        _, h, c = layer(torch.from_numpy(sequence[None].astype(np.float32)))
    _, (ref_h, ref_c) = reference_run(layer, sequence)
    np.testing.assert_allclose(h[0].numpy(), ref_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(c[0].numpy(), ref_c, rtol=1e-5, atol=1e-5)


def test_lstm_step_by_hand() -> None:
    """One feature, one unit; only the candidate's input weight is set: i = f = o = sigmoid(0) = 0.5,
    c~ = tanh(1), c = 0.5 * 0 + 0.5 * tanh(1), h = 0.5 * tanh(c)."""
    h, c = reference.lstm_step([1.0], [0.0], [0.0], [[0.0, 0.0, 1.0, 0.0]], [[0.0, 0.0, 0.0, 0.0]])
    assert c[0] == pytest.approx(0.5 * math.tanh(1.0))
    assert h[0] == pytest.approx(0.5 * math.tanh(0.5 * math.tanh(1.0)))


def test_gru_step_by_hand_both_reset_settings() -> None:
    """h_{t-1} = 1, z's weights 0 (z = 0.5), r's recurrent weight large negative (r near 0)."""
    kernel, recurrent = [[0.0, 0.0, 1.0]], [[0.0, -50.0, 2.0]]
    after = reference.gru_step([1.0], [1.0], kernel, recurrent, [[0.0, 0.0, 0.0], [0.0, 0.0, 0.5]], reset_after=True)
    # candidate = tanh(1 + r * (2 * 1 + 0.5)), r = sigmoid(-50) ~ 0
    assert after[0] == pytest.approx(0.5 * 1 + 0.5 * math.tanh(1.0 + 2.5 / (1 + math.exp(50))))
    before = reference.gru_step([1.0], [1.0], kernel, recurrent, [0.0, 0.0, 0.5], reset_after=False)
    # candidate = tanh(1 + 0.5 + (r * 1) * 2)
    assert before[0] == pytest.approx(0.5 * 1 + 0.5 * math.tanh(1.5 + 2 / (1 + math.exp(50))))


def test_reference_refuses_weights_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match=r"LSTM reference: expected kernel \(features, 4 \* units\)"):
        reference.lstm_step([1.0, 2.0], [0.0], [0.0], [[0.0, 0.0, 1.0, 0.0]], [[0.0] * 4])
    with pytest.raises(ValueError, match="kind must be one of SimpleRNN, LSTM, GRU"):
        reference.recurrent_run("Recurrent", [[1.0]], [[1.0]], [[1.0]])
    with pytest.raises(ValueError, match="activation 'swish' is not one of"):
        reference.simple_rnn_step([1.0], [0.0], [[1.0]], [[1.0]], activation="swish")


def conv_lstm_model(seed: int = 7, **options: object) -> Sequential:
    """A Conv1D feature extractor feeding an LSTM, as in a signal classifier."""
    torch.manual_seed(seed)
    model = Sequential([layers.Input((24, 2)), layers.Conv1D(8, 5, activation="relu", name="conv"),
                        layers.MaxPooling1D(2, name="pool"), layers.LSTM(6, name="lstm", **options),
                        layers.Dense(3, name="head")])
    lstm = model.get_layer("lstm")
    rng = np.random.default_rng(seed)
    lstm.set_weights([rng.normal(0, 0.4, size=w.shape).astype(np.float32) for w in lstm.get_weights()])
    model.eval()
    return model


def test_conv1d_lstm_model_lstm_fed_the_conv_output() -> None:
    model = conv_lstm_model()
    signal = np.random.default_rng(8).normal(size=(24, 2)).astype(np.float32)
    maps = {m.layer: m for m in explain.feature_maps(model, signal)}
    pooled = np.asarray(maps["pool"].maps, np.float64)
    assert pooled.shape == (10, 8) and pooled.any()
    _, (h, _) = reference_run(model.get_layer("lstm"), pooled)
    np.testing.assert_allclose(np.asarray(maps["lstm"].maps, np.float64), h, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("go_backwards", [False, True])
def test_recurrent_steps_on_the_conv1d_lstm_model(go_backwards: bool) -> None:
    model = conv_lstm_model(go_backwards=go_backwards)
    signal = np.random.default_rng(9).normal(size=(24, 2)).astype(np.float32)
    maps = {m.layer: m for m in explain.feature_maps(model, signal)}
    outputs, _ = reference_run(model.get_layer("lstm"), np.asarray(maps["pool"].maps, np.float64),
                               go_backwards=go_backwards)
    for step in (0, 4, 9):
        for unit in (0, 5):
            steps = explain.recurrent_steps(model, signal, step=step, unit=unit)
            assert (steps.layer, steps.kind, steps.steps, steps.features) == ("lstm", "LSTM", 10, 8)
            assert steps.input_step == (9 - step if go_backwards else step)
            assert steps.hidden == pytest.approx(outputs[step, unit], abs=1e-12)
            assert steps.engine_hidden == pytest.approx(steps.hidden, abs=1e-5)
            assert steps.engine_cell == pytest.approx(steps.cell, abs=1e-5)
            assert steps.agrees
    assert explain.recurrent_steps(model, signal).step == 9  # default: the last step


@pytest.mark.filterwarnings("ignore:.*reset_after=False has no fused torch kernel")
@pytest.mark.parametrize(("kind", "options"), KINDS)
def test_recurrent_steps_gates_add_up(kind: str, options: dict[str, object]) -> None:
    """Every gate's pre-activation is its parts' sum, and the new state is the reference's."""
    layer = random_layer(kind, 4, 3, seed=10, return_sequences=True, **options)
    model = Sequential([layers.Input((6, 4)), layer])
    sequence = np.random.default_rng(11).normal(size=(6, 4)).astype(np.float32)
    outputs, _ = reference_run(layer, sequence.astype(np.float64))
    for step in range(6):
        for unit in range(3):
            steps = explain.recurrent_steps(model, sequence, step=step, unit=unit)
            assert [gate.gate for gate in steps.gates] == list(reference.GATES[kind])
            for gate in steps.gates:
                recurrent = gate.recurrent_part + (gate.recurrent_bias or 0.0)
                expected = gate.input_part + gate.bias + (recurrent if gate.reset is None else gate.reset * recurrent)
                assert gate.pre_activation == pytest.approx(expected, abs=1e-12)
            assert steps.hidden == pytest.approx(outputs[step, unit], abs=1e-12)
            assert steps.agrees, steps.text()


def test_a_wrong_engine_value_is_reported() -> None:
    model = Sequential([layers.Input((3, 2)), random_layer("GRU", 2, 2, seed=12)])
    steps = explain.recurrent_steps(model, np.ones((3, 2), np.float32), unit=1)
    wrong = dataclasses.replace(steps, engine_hidden=steps.hidden + 0.01)
    assert steps.agrees and not wrong.agrees
    assert "DISAGREES" in wrong.text() and "DISAGREES" not in steps.text()


def test_recurrent_steps_refuses_what_does_not_exist() -> None:
    model = conv_lstm_model()
    signal = np.zeros((24, 2), np.float32)
    with pytest.raises(ValueError, match=r"step 10 does not exist; the sequence has 10 steps \(0..9\)"):
        explain.recurrent_steps(model, signal, step=10)
    with pytest.raises(ValueError, match=r"unit 6 does not exist; the layer has 6 units \(0..5\)"):
        explain.recurrent_steps(model, signal, unit=6)
    with pytest.raises(ValueError, match="head"):
        explain.recurrent_steps(model, signal, layer="head")


def test_recurrent_steps_text_golden(golden: object) -> None:
    """Small hand-readable cases: an LSTM (1 feature, 2 units) at its first and second step, and
    a GRU of each reset setting."""
    kernel = [[0.5, -1.0, 1.0, 0.25, 0.0, 2.0, 0.5, -0.5]]
    recurrent = [[0.5, 0.0, 1.0, 0.0, -1.0, 0.5, 0.25, 1.0], [0.0, 1.0, 0.0, -0.5, 1.0, 0.0, 0.5, 0.25]]
    bias = [0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    texts = [explain.recurrent_steps_from_arrays("LSTM", [[1.0], [2.0]], kernel, recurrent, bias, step=step, unit=1,
                                                 layer="lstm").text() for step in (0, 1)]
    gru_kernel = [[0.5, -1.0, 1.0, 0.25, 0.0, 2.0]]
    gru_recurrent = [[0.5, 0.0, 1.0, 0.0, -1.0, 0.5], [0.0, 1.0, 0.0, -0.5, 1.0, 0.0]]
    texts.append(explain.recurrent_steps_from_arrays(
        "GRU", [[1.0], [2.0]], gru_kernel, gru_recurrent, [[0.0] * 6, [0.5] * 6], unit=0, layer="gru").text())
    texts.append(explain.recurrent_steps_from_arrays(
        "GRU", [[1.0], [2.0]], gru_kernel, gru_recurrent, [0.5] * 6, unit=0, reset_after=False, go_backwards=True,
        layer="gru").text())
    golden("recurrent-steps.txt", "\n\n".join(texts) + "\n")  # type: ignore[operator]


def test_long_sums_show_the_largest_terms() -> None:
    layer = random_layer("SimpleRNN", 20, 16, seed=13)
    model = Sequential([layers.Input((4, 20)), layer])
    steps = explain.recurrent_steps(model, np.random.default_rng(14).normal(size=(4, 20)).astype(np.float32))
    text = steps.text(max_terms=5)
    assert "(other 15 terms: " in text and "(other 11 terms: " in text
    gate = steps.gates[0]
    assert gate.input_part == pytest.approx(float(gate.inputs @ gate.input_weights))


@pytest.mark.parametrize(("kind", "options"), [*KINDS, ("LSTM", {"use_bias": False}), ("GRU", {"use_bias": False})])
def test_shape_journey_counts_weights_as_keras(kind: str, options: dict[str, object]) -> None:
    model = Sequential([layers.Input((10, 7)), getattr(layers, kind)(5, return_sequences=True, **options),
                        layers.Dense(2)])
    journey = explain.shape_journey(model)
    step = journey[0]
    assert step.output_shape == (10, 5) and step.agrees
    count = model.layers[0].count_params()
    assert any(line.endswith(f"x units 5 = {count}") for line in step.arithmetic), step.arithmetic
    assert "return_sequences=True: h at every step -> (10, 5)" in step.arithmetic
    assert journey[1].output_shape == (10, 2)  # Dense applied at every step


def test_shape_journey_lines_for_an_lstm() -> None:
    text = explain.format_shape_journey(explain.shape_journey(conv_lstm_model()))
    assert ("LSTM 'lstm': (10, 8) -> (6)\n"
            "     units = 6 (the size of the hidden state h, and of the cell c)\n"
            "     weights: 4 gates (i, f, c, o) x (features 8 + units 6 + bias 1) x units 6 = 360\n"
            "     return_sequences=False: h after the last step -> (6)\n") in text


@pytest.mark.filterwarnings("ignore:.*a mask has no fused torch kernel")  # model.predict on the masked path
def test_masked_steps_are_refused_and_unmasked_examples_explained() -> None:
    """A Masking layer's padded steps keep the state; the steps refuse such an example rather
    than work out numbers the model does not compute, and explain one without padding."""
    model = Sequential([layers.Input((5, 2)), layers.Masking(0.0, name="masking"), random_layer("LSTM", 2, 3, seed=15)])
    padded = np.ones((5, 2), np.float32)
    padded[3:] = 0.0
    with pytest.raises(ValueError, match=r"LSTM 'lstm' reads a mask from Masking 'masking', and this example's steps "
                                         r"3, 4 are masked"):
        explain.recurrent_steps(model, padded)
    full = np.random.default_rng(16).normal(size=(5, 2)).astype(np.float32)
    steps = explain.recurrent_steps(model, full, unit=1)
    assert steps.agrees
    assert steps.hidden == pytest.approx(float(model.predict(full[None], verbose=0)[0, 1]), abs=1e-5)
