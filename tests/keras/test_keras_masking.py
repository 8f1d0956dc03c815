"""Keras's masks (Embedding(mask_zero=True), Masking) against what real Keras 3.15 computed for
the same weights and inputs padded before and after (fixtures/masking.npz and masking.json,
written by make_keras_masking_fixtures.py from keras_masking_cases.py): the recurrent layers,
Bidirectional, GlobalAveragePooling1D and the layers that pass a mask on; Keras's warning where a
layer drops it; the loss and metrics of a masked return_sequences model; a Keras-saved model
with mask_zero=True; save/load; a classifier on padded sequences that learns; errors."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from keras_fixture_files import assert_predicts_as_keras
from keras_layer_checks import (
    FIXTURES,
    KERAS_PYTHON,
    keras_arrays,
    keras_descriptions,
    real_keras_predicts,
)
from keras_masking_cases import (
    CASES,
    EXTRA_CASES,
    NESTED_CASES,
    masked_nested_text,
    sequence_task,
    tagger,
)

import convscope.keras as keras
from convscope import Sequential, layers, load_model
from convscope.layers import Layer, masking

KERAS = keras_descriptions("masking")
EXTRAS = keras_descriptions("masking_extras")
NESTED = keras_descriptions("masking_nested")
needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
DROPPED = "destroy the mask information"


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return keras_arrays("masking")


@pytest.fixture(scope="module")
def extras() -> dict[str, np.ndarray]:
    return keras_arrays("masking_extras")


def with_weights(model: keras.Model, arrays: dict[str, np.ndarray], case: str) -> keras.Model:
    weights = [arrays[f"{case}/w{number}"] for number in range(KERAS[case]["weights"])]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in weights]
    model.set_weights(weights)
    return model


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("padding", ["pre", "post"])
def test_masked_outputs_match_keras(case: str, padding: str, arrays: dict[str, np.ndarray]) -> None:
    build, _ = CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = with_weights(build(keras), arrays, case)
        ours = model.predict(arrays[f"{case}/{padding}"], verbose=0)
    np.testing.assert_allclose(ours, arrays[f"{case}/{padding}_y"], atol=2e-5)
    assert sorted({str(item.message) for item in caught if DROPPED in str(item.message)}) == KERAS[case]["warnings"]


def test_padding_changes_nothing_for_a_masked_lstm(arrays: dict[str, np.ndarray]) -> None:
    """The last output of a masked LSTM is that of the real steps alone, padded either way."""
    model = with_weights(CASES["embedding_lstm"][0](keras), arrays, "embedding_lstm")
    pre, post = model.predict(arrays["embedding_lstm/pre"]), model.predict(arrays["embedding_lstm/post"])
    np.testing.assert_allclose(pre, post, atol=1e-6)
    unmasked = Sequential([layers.Input((7,)), layers.Embedding(12, 4), layers.LSTM(3)])
    unmasked.set_weights(model.get_weights())
    assert not np.allclose(unmasked.predict(arrays["embedding_lstm/pre"]), pre, atol=1e-3)  # the mask matters


@pytest.mark.parametrize("run", ["one_batch", "batches_of_4", "sample_weight"])
def test_evaluate_weighs_loss_and_metrics_by_the_mask_as_keras(run: str, arrays: dict[str, np.ndarray]) -> None:
    model = with_weights(tagger(keras), arrays, "tagger")
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["sparse_categorical_accuracy"])
    x, y = arrays["tagger/x"], arrays["tagger/y"]
    logs = model.evaluate(x, y, batch_size=4 if run == "batches_of_4" else 10, verbose=0, return_dict=True,
                          sample_weight=arrays["tagger/sample_weight"] if run == "sample_weight" else None)
    expected = KERAS["tagger"][run]
    assert set(logs) == set(expected)
    for name, value in expected.items():
        assert logs[name] == pytest.approx(value, abs=1e-5), name


def test_masked_loss_ignores_the_padded_steps() -> None:
    """Changing the labels of padded steps leaves the loss as it was; a real step's label moves it."""
    model = tagger(keras)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = sequence_task(1, 8)
    base = model.evaluate(x, y, verbose=0)
    padded = y.copy()
    padded[x == 0] = 1 - padded[x == 0]
    assert (x == 0).any()
    assert model.evaluate(x, padded, verbose=0) == pytest.approx(base, abs=1e-6)
    real = y.copy()
    real[x != 0] = 1 - real[x != 0]
    assert model.evaluate(x, real, verbose=0)[1] == pytest.approx(1 - base[1], abs=1e-6)  # every real step flips


def test_keras_saved_masked_model_predicts_as_keras(tmp_path: Path) -> None:
    model = load_model(FIXTURES / "masked_text.keras")
    assert model.layers[0].mask_zero is True
    saved = np.load(FIXTURES / "masked_text.npz")
    assert (saved["x0"] == 0).any()  # pad_sequences' padding, before the words
    np.testing.assert_allclose(model.predict(saved["x0"]), saved["y0"], atol=1e-5)
    assert_predicts_as_keras(load_model(FIXTURES / "masked_text.h5"), "masked_text")


@pytest.mark.parametrize("suffix", [".keras", ".convscope"])
def test_save_and_load_keep_mask_zero_and_masking(tmp_path: Path, suffix: str) -> None:
    model = Sequential([layers.Input((6,)), layers.Embedding(9, 3, mask_zero=True),
                        layers.Bidirectional(layers.GRU(2, return_sequences=True)),
                        layers.GlobalAveragePooling1D()])
    x = np.array([[0, 0, 1, 2, 3, 4], [5, 6, 0, 0, 0, 0]], np.float32)
    path = tmp_path / f"model{suffix}"
    model.save(path)
    loaded = load_model(path)
    assert loaded.layers[0].mask_zero is True and loaded.layers[0].get_config()["mask_zero"] is True
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), atol=1e-6)
    features = Sequential([layers.Input((4, 2)), layers.Masking(mask_value=-1.0), layers.LSTM(2)])
    features.save(tmp_path / f"features{suffix}")
    again = load_model(tmp_path / f"features{suffix}")
    assert again.layers[0].mask_value == -1.0
    z = np.array([[[-1, -1], [1, 2], [3, 4], [-1, -1]]], np.float32)
    np.testing.assert_allclose(again.predict(z), features.predict(z), atol=1e-6)


@needs_keras
def test_real_keras_reads_the_masked_model_convscope_writes(tmp_path: Path) -> None:
    model = Sequential([layers.Input((5,)), layers.Embedding(8, 3, mask_zero=True), layers.LSTM(2),
                        layers.Dense(1)])
    x = np.array([[0, 0, 1, 2, 3], [4, 5, 6, 7, 1]], np.float32)
    model.save(tmp_path / "masked.keras")
    np.savez(tmp_path / "x.npz", x=x)
    theirs, _ = real_keras_predicts(tmp_path / "masked.keras", tmp_path / "x.npz", "x", tmp_path)
    np.testing.assert_allclose(model.predict(x), theirs, atol=1e-5)


def test_fit_learns_padded_sentiment_with_mask_zero() -> None:
    """An IMDB-like task: label 1 when word 3 appears; sequences of random length, pre-padded."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    samples, steps = 512, 20
    x = np.zeros((samples, steps), np.float32)
    y = np.zeros(samples, np.float32)
    for row in range(samples):
        length = int(rng.integers(3, steps + 1))
        words = rng.integers(4, 50, size=length)
        if row % 2:
            words[rng.integers(0, length)] = 3
            y[row] = 1
        x[row, steps - length:] = words
    model = Sequential([layers.Input((steps,)), layers.Embedding(50, 8, mask_zero=True), layers.LSTM(8),
                        layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the masked LSTM's step-by-step path says it is slower
        model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] > 0.9


def test_masked_step_keeps_the_state() -> None:
    """A masked step in the middle of a sequence is skipped: the output equals that of the
    sequence without it (SimpleRNN, return_sequences: the masked step repeats the last output)."""
    model = Sequential([layers.Input((4, 1)), layers.Masking(), layers.SimpleRNN(2, return_sequences=True)])
    gap = model.predict(np.array([[[1.0], [0.0], [2.0], [3.0]]], np.float32))
    np.testing.assert_allclose(gap[0, 1], gap[0, 0])
    short = Sequential([layers.Input((3, 1)), layers.SimpleRNN(2, return_sequences=True)])
    short.set_weights(model.get_weights())
    np.testing.assert_allclose(gap[0, [0, 2, 3]], short.predict(np.array([[[1.0], [2.0], [3.0]]], np.float32))[0],
                               atol=1e-6)


class StepDropper(Layer):
    """Keeps every other step but claims to pass the mask on unchanged (a faulty custom layer)."""

    supports_masking = True

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return (input_shape[0], None if input_shape[1] is None else (input_shape[1] + 1) // 2, *input_shape[2:])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs[:, ::2]


def test_mask_that_does_not_match_the_steps_names_the_layer() -> None:
    model = Sequential([layers.Input((6,)), layers.Embedding(9, 3, mask_zero=True), StepDropper(),
                        layers.LSTM(2, name="reader")])
    with pytest.raises(ValueError, match=r"LSTM 'reader': the mask on its input has shape \(1, 6\).*\(1, 3\)"):
        model.predict(np.array([[1, 2, 3, 0, 0, 0]], np.float32))


def test_training_batch_normalization_fed_a_mask_says_so() -> None:
    model = Sequential([layers.Input((5,)), layers.Embedding(9, 3, mask_zero=True),
                        layers.BatchNormalization(name="norm"), layers.LSTM(2)])
    model.predict(np.ones((2, 5), np.float32))  # inference: the moving statistics, as in Keras
    model.compile(loss="mse")
    with pytest.raises(ValueError, match="BatchNormalization 'norm'.*masked batch statistics"):
        model.fit(np.ones((2, 5), np.float32), np.zeros((2, 2), np.float32), verbose=0)


def test_models_without_masks_never_carry_one() -> None:
    """A CNN has no mask-making layer, so its forward pass is the plain one (fused, no mask)."""
    model = Sequential([layers.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2),
                        layers.Flatten(), layers.Dense(2)])
    assert not masking.makes_masks(model.layers)
    output = model(torch.zeros(1, 8, 8, 1))
    assert masking.output_mask(output) is None
    start = time.perf_counter()
    for _ in range(50):
        masking.makes_masks(model.layers)
    assert time.perf_counter() - start < 0.05  # a few attribute reads per call


def test_embedding_mask_and_masking_layer() -> None:
    embedding = layers.Embedding(5, 2, mask_zero=True)
    ids = torch.tensor([[0.0, 1.0, 4.0], [2.0, 0.0, 0.0]])
    assert embedding.compute_mask(ids, None).tolist() == [[False, True, True], [True, False, False]]
    assert layers.Embedding(5, 2).compute_mask(ids, None) is None
    masker = layers.Masking(mask_value=2.0)
    values = torch.tensor([[[2.0, 2.0], [2.0, 1.0]]])
    assert masker.compute_mask(values, None).tolist() == [[False, True]]
    np.testing.assert_array_equal(masker(values).numpy(), [[[0.0, 0.0], [2.0, 1.0]]])
    with pytest.raises(ValueError, match="Masking: mask_value must be a number"):
        layers.Masking(mask_value="zero")


def test_the_logits_path_keeps_the_mask() -> None:
    """A final Activation("softmax") is split off for a stable loss (logits); the mask still
    weighs that loss, in a Sequential and a functional model alike."""
    x, y = sequence_task(5, 10)
    whole = tagger(keras)
    split = Sequential([layers.Input((7,)), layers.Embedding(12, 4, mask_zero=True),
                        layers.LSTM(4, return_sequences=True), layers.TimeDistributed(layers.Dense(2)),
                        layers.Activation("softmax")])
    inputs = keras.Input((7,))
    hidden = layers.LSTM(4, return_sequences=True)(layers.Embedding(12, 4, mask_zero=True)(inputs))
    graph = keras.Model(inputs, layers.Activation("softmax")(layers.TimeDistributed(layers.Dense(2))(hidden)))
    results = []
    for model in (whole, split, graph):
        model.set_weights(whole.get_weights())
        model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.append(model.evaluate(x, y, batch_size=4, verbose=0))
    assert split.compiled is not None and split.compiled.logits and graph.compiled is not None
    np.testing.assert_allclose(results[1], results[0], atol=1e-6)
    np.testing.assert_allclose(results[2], results[0], atol=1e-6)


@pytest.mark.parametrize("case", list(EXTRA_CASES))
@pytest.mark.parametrize("padding", ["pre", "post"])
def test_merges_nested_models_and_time_distributed_use_masks_as_keras(
        case: str, padding: str, extras: dict[str, np.ndarray]) -> None:
    """Merges combine their inputs' masks, a model used as a layer takes and gives masks, and
    TimeDistributed hands each step's mask to the layer it wraps, as in Keras 3.15."""
    build, _ = EXTRA_CASES[case]
    model = build(keras)
    weights = [extras[f"{case}/w{number}"] for number in range(EXTRAS[case]["weights"])]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in weights]
    model.set_weights(weights)
    inputs = [torch.from_numpy(extras[f"{case}/{padding}_x{number}"]) for number in range(EXTRAS[case]["inputs"])]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        output = model(inputs if len(inputs) > 1 else inputs[0])
    assert not [item for item in caught if DROPPED in str(item.message)]  # no layer drops a mask here
    np.testing.assert_allclose(output.detach().numpy(), extras[f"{case}/{padding}_y"], atol=2e-5)
    mask = masking.output_mask(output)
    if f"{case}/{padding}_mask" in extras:
        assert mask is not None
        np.testing.assert_array_equal(mask.numpy(), extras[f"{case}/{padding}_mask"])
    else:
        assert mask is None


@pytest.fixture(scope="module")
def nested() -> dict[str, np.ndarray]:
    return keras_arrays("masking_nested")


def dropping_layers(messages: list[str]) -> list[str]:
    """The types of the layers whose dropped mask the warnings report (their names count up
    per process). Keras also warns when it passes a mask into a model used as a layer (of type
    Sequential or Functional), though the mask goes in; convscope does not."""
    kinds = {message.split("(of type ")[1].split(")")[0] for message in messages if DROPPED in message}
    return sorted(kinds - {"Sequential", "Functional"})


@pytest.mark.parametrize("case", list(NESTED_CASES))
@pytest.mark.parametrize("padding", ["pre", "post"])
def test_a_mask_passes_into_a_model_used_as_a_layer_as_keras(
        case: str, padding: str, nested: dict[str, np.ndarray]) -> None:
    """The outer model's mask (Embedding(mask_zero=True)) reaches the first layers of a nested
    Sequential or functional model, whose output carries the mask its layers passed on."""
    build, _ = NESTED_CASES[case]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build(keras)
        weights = [nested[f"{case}/w{number}"] for number in range(NESTED[case]["weights"])]
        assert [w.shape for w in model.get_weights()] == [w.shape for w in weights]
        model.set_weights(weights)
        inputs = [torch.from_numpy(nested[f"{case}/{padding}_x{number}"]) for number in range(NESTED[case]["inputs"])]
        output = model(inputs if len(inputs) > 1 else inputs[0])
    assert dropping_layers([str(item.message) for item in caught]) == dropping_layers(NESTED[case]["warnings"])
    np.testing.assert_allclose(output.detach().numpy(), nested[f"{case}/{padding}_y"], atol=2e-5)
    mask = masking.output_mask(output)
    if f"{case}/{padding}_mask" in nested:
        assert mask is not None
        np.testing.assert_array_equal(mask.numpy(), nested[f"{case}/{padding}_mask"])
    else:
        assert mask is None


def test_a_nested_model_fed_a_mask_matches_the_flat_model() -> None:
    """Embedding(mask_zero) -> Sequential([LSTM, average]) computes what the same layers do
    unnested, on both paddings; the logits path (a final sigmoid split off) keeps the mask."""
    x = np.array([[0, 0, 0, 1, 2, 3, 4], [5, 6, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7]], np.float32)
    model = masked_nested_text(keras)
    inner = model.layers[1]
    flat = Sequential([layers.Input((7,)), layers.Embedding(12, 4, mask_zero=True), *[
        type(layer).from_config(layer.get_config()) for layer in inner.layers]])
    flat.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(x), flat.predict(x), atol=1e-6)
    unmasked = Sequential([layers.Input((7,)), layers.Embedding(12, 4), *[
        type(layer).from_config(layer.get_config()) for layer in inner.layers]])
    unmasked.set_weights(model.get_weights())
    assert not np.allclose(model.predict(x[:2]), unmasked.predict(x[:2]), atol=1e-4)  # the mask matters
    logits = model(torch.from_numpy(x), logits=True)
    np.testing.assert_allclose(torch.sigmoid(logits).detach().numpy(), model.predict(x), atol=1e-6)


def test_keras_saved_nested_masked_model_predicts_as_keras() -> None:
    model = load_model(FIXTURES / "masked_nested.keras")
    assert isinstance(model.layers[1], Sequential)
    saved = np.load(FIXTURES / "masked_nested.npz")
    assert (saved["x0"] == 0).any()
    np.testing.assert_allclose(model.predict(saved["x0"]), saved["y0"], atol=1e-5)
    assert_predicts_as_keras(load_model(FIXTURES / "masked_nested.h5"), "masked_nested")


@pytest.mark.parametrize("suffix", [".keras", ".convscope"])
def test_save_and_load_keep_the_mask_passing_into_a_nested_model(tmp_path: Path, suffix: str,
                                                                 nested: dict[str, np.ndarray]) -> None:
    for case in ("sequential_lstm_average", "functional_encoder_lstm"):
        model = NESTED_CASES[case][0](keras)
        model.set_weights([nested[f"{case}/w{number}"] for number in range(NESTED[case]["weights"])])
        model.save(tmp_path / f"{case}{suffix}")
        loaded = load_model(tmp_path / f"{case}{suffix}")
        for padding in ("pre", "post"):
            np.testing.assert_allclose(loaded.predict(nested[f"{case}/{padding}_x0"]), nested[f"{case}/{padding}_y"],
                                       atol=2e-5)


@needs_keras
def test_real_keras_reads_the_nested_masked_model_convscope_writes(tmp_path: Path) -> None:
    model = masked_nested_text(keras)
    x = np.array([[0, 0, 1, 2, 3, 4, 5], [4, 5, 6, 0, 0, 0, 0]], np.float32)
    model.save(tmp_path / "nested.keras")
    np.savez(tmp_path / "x.npz", x=x)
    theirs, _ = real_keras_predicts(tmp_path / "nested.keras", tmp_path / "x.npz", "x", tmp_path)
    np.testing.assert_allclose(model.predict(x), theirs, atol=1e-5)


@pytest.mark.parametrize("call", ["rows", "fully_masked_row", "broadcast_keys", "axis_1", "float_mask"])
def test_softmax_with_a_mask_matches_keras(call: str, extras: dict[str, np.ndarray]) -> None:
    """Masked positions get -1e9 before the softmax and 0 after (a fully masked row is all 0)."""
    softmax = layers.Softmax(axis=EXTRAS["softmax"]["calls"][call])
    x, mask = extras[f"softmax/{call}/x"], extras[f"softmax/{call}/mask"]
    ours = softmax(torch.from_numpy(x), mask=torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(ours, extras[f"softmax/{call}/y"], atol=1e-6)


def test_softmax_refuses_a_mask_that_does_not_broadcast_as_keras() -> None:
    """Keras refuses a (batch, steps) mask on (batch, steps, classes) logits; so does convscope,
    naming the layer and quoting Keras's reason."""
    reason = "The `mask` must be broadcastable to `inputs`"
    assert reason in EXTRAS["softmax"]["refused"]["sequence_softmax"]
    assert reason in EXTRAS["softmax"]["refused"]["softmax_mask_shape"]
    model = Sequential([layers.Input((7,)), layers.Embedding(12, 4, mask_zero=True), layers.Dense(3),
                        layers.Softmax(name="probabilities")])
    with pytest.raises(ValueError, match=r"Softmax 'probabilities': the `mask` must be broadcastable.*\(2, 7, 3\)"):
        model.predict(np.array([[0, 0, 1, 2, 3, 4, 5], [1, 2, 3, 0, 0, 0, 0]], np.float32))
    with pytest.raises(ValueError, match=r"mask.shape=\(2, 3\)"):
        layers.Softmax()(torch.ones(2, 4), mask=torch.ones(2, 3, dtype=torch.bool))


def test_split_off_softmax_keeps_its_mask_in_the_loss() -> None:
    """A final masked Softmax gives the loss its masked logits: the same loss as the probabilities."""
    softmax = layers.Softmax()
    x = torch.randn(3, 5)
    mask = torch.tensor([[True, True, False, True, False]] * 3)
    logits, _ = masking.call(softmax, x, mask, logits=True)
    np.testing.assert_allclose(torch.softmax(logits, -1).numpy(), softmax(x, mask=mask).numpy(), atol=1e-7)


def test_stateful_metrics_ignore_the_mask_as_keras() -> None:
    """Keras 3 weighs the loss and Mean-based metrics (accuracy) by the output's mask, but not
    Precision, Recall or AUC: they count the padded steps too."""
    arrays = keras_arrays("masking_extras")
    model = Sequential([layers.Input((7,)), layers.Embedding(12, 4, mask_zero=True),
                        layers.LSTM(4, return_sequences=True),
                        layers.TimeDistributed(layers.Dense(1, activation="sigmoid"))])
    model.set_weights([arrays[f"metrics/w{number}"] for number in range(EXTRAS["metrics"]["weights"])])
    model.compile(loss="binary_crossentropy", metrics=["accuracy", keras.metrics.Precision(name="precision"),
                                                       keras.metrics.Recall(name="recall"),
                                                       keras.metrics.AUC(name="auc")])
    logs = model.evaluate(arrays["metrics/x"], arrays["metrics/y"], batch_size=4, verbose=0, return_dict=True)
    expected = EXTRAS["metrics"]["logs"]
    assert set(logs) == set(expected)
    for name, value in expected.items():
        assert logs[name] == pytest.approx(value, abs=1e-5), name
