"""Sample and class weights on the seed CNN: the loss is sum(w * per-sample loss) / N (Keras 3's
reduction), `weighted_metrics` count each sample by its weight while `metrics` do not, class
weights are the sample weights their labels pick, and every way in (arrays, train_on_batch,
batches of (x, y, w), validation data, validation_split, a resumed checkpoint) weighs alike.
NumPy references here; tests/keras/test_keras_multi_output.py checks the same against Keras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from crash_callbacks import StopAt

from convscope import Sequential, optimizers, set_seed, zoo
from convscope.engine import loop
from convscope.engine.checkpoint import Checkpointer, restore_latest
from convscope.keras.utils import Sequence

SAMPLES = 24


def data(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.random((SAMPLES, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, SAMPLES),
            rng.uniform(0.1, 3.0, SAMPLES).astype(np.float32))


def seed_cnn(**compile_options: Any) -> Sequential:
    """The seed CNN (two 64-channel convolutions), with the same weights each time."""
    set_seed(5)
    model = zoo.build("seed-cnn")
    options = {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
               "weighted_metrics": ["accuracy"], **compile_options}
    model.compile(optimizers.SGD(learning_rate=0.05), precision="float32", device="cpu", **options)
    return model  # type: ignore[return-value]


def reference(model: Sequential, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """The weighted loss and both accuracies from the model's own predictions, in NumPy."""
    probabilities = model.predict(x).astype(np.float64)
    losses = -np.log(np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1 - 1e-7))
    correct = (probabilities.argmax(-1) == y).astype(np.float64)
    return {"loss": float((w * losses).sum() / len(y)), "accuracy": float(correct.mean()),
            "weighted_accuracy": float((w * correct).sum() / w.sum())}


def assert_same_history(mine: dict[str, list[float]], theirs: dict[str, list[float]], rtol: float) -> None:
    assert list(mine) == list(theirs)
    for key in theirs:
        np.testing.assert_allclose(mine[key], theirs[key], rtol=rtol, err_msg=key)


def test_the_loss_is_the_weighted_sum_over_the_batch_size() -> None:
    x, y, w = data()
    model = seed_cnn()
    expected = reference(model, x, y, w)
    for batch_size in (SAMPLES, 5):  # batches of 5 with a short last one: the same means
        logs = model.evaluate(x, y, sample_weight=w, batch_size=batch_size, verbose=0, return_dict=True)
        assert logs == pytest.approx(expected, rel=1e-5)
    assert model.test_on_batch(x, y, sample_weight=w) == pytest.approx(
        [expected["loss"], expected["accuracy"], expected["accuracy"], expected["weighted_accuracy"]], rel=1e-5)
    unweighted = model.evaluate(x, y, verbose=0, return_dict=True)
    assert unweighted["weighted_accuracy"] == pytest.approx(unweighted["accuracy"])
    assert unweighted["loss"] != pytest.approx(expected["loss"], rel=1e-3)


def test_weights_of_one_train_exactly_as_no_weights() -> None:
    x, y, _ = data()
    plain, weighted = seed_cnn(), seed_cnn()
    history = plain.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    weighted_history = weighted.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                                    sample_weight=np.ones(SAMPLES)).history
    assert_same_history(weighted_history, history, rtol=1e-6)
    for mine, theirs in zip(weighted.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)


def test_one_train_on_batch_step_moves_the_weights_by_the_weighted_gradient() -> None:
    """SGD's step is linear in the gradient: weights w take a step of sum(w * grad) / N."""
    x, y, w = data()
    start = seed_cnn().get_weights()
    steps = []
    for weights in (w, 2 * w):
        model = seed_cnn()
        loss = model.train_on_batch(x, y, sample_weight=weights, return_dict=True)["loss"]
        steps.append(([after - before for after, before in zip(model.get_weights(), start)], loss))
    (single, loss), (double, double_loss) = steps
    assert double_loss == pytest.approx(2 * loss, rel=1e-5)
    for one, two in zip(single, double):
        np.testing.assert_allclose(two, 2 * one, rtol=1e-3, atol=1e-7)


def test_class_weights_are_the_sample_weights_their_labels_pick() -> None:
    x, y, _ = data()
    class_weight = {0: 2.0, 3: 0.5, 7: 4.0}
    as_samples = np.array([class_weight.get(int(label), 1.0) for label in y], dtype=np.float32)
    by_class, by_sample = seed_cnn(), seed_cnn()
    history = by_class.fit(x, y, class_weight=class_weight, batch_size=8, shuffle=False, verbose=0).history
    expected = by_sample.fit(x, y, sample_weight=as_samples, batch_size=8, shuffle=False, verbose=0).history
    assert_same_history(history, expected, rtol=1e-6)
    one_hot = seed_cnn(loss="categorical_crossentropy")  # the class of one-hot targets is their argmax
    assert one_hot.evaluate(x, np.eye(10)[y], sample_weight=as_samples, verbose=0) == pytest.approx(
        seed_cnn().evaluate(x, y, sample_weight=as_samples, verbose=0), rel=1e-5)
    with pytest.raises(ValueError, match="class_weight and sample_weight at the same time"):
        by_class.fit(x, y, class_weight=class_weight, sample_weight=as_samples, verbose=0)
    with pytest.raises(ValueError, match="class_weight must be a dict mapping class indices"):
        by_class.train_on_batch(x, y, class_weight=[1.0, 2.0])


def test_wrong_weights_are_refused_with_the_argument_named() -> None:
    x, y, w = data()
    model = seed_cnn()
    with pytest.raises(ValueError, match=r"sample_weight has 23 weights but there are 24 samples"):
        model.fit(x, y, sample_weight=w[:-1], verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight must hold one weight per sample, shape \(24,\)"):
        model.evaluate(x, y, sample_weight=np.ones((SAMPLES, 2)), verbose=0)
    with pytest.raises(ValueError, match="validation sample_weight contains 1 NaN"):
        model.fit(x, y, validation_data=(x, y, np.where(np.arange(SAMPLES) == 3, np.nan, w)), verbose=0)
    with pytest.raises(ValueError, match=r"validation_data must be a tuple \(x_val, y_val\) or \(x_val, y_val, "
                                         r"val_sample_weight\).* of 4 items"):
        model.fit(x, y, validation_data=(x, y, w, w), verbose=0)


class WeightedBatches(Sequence):
    def __init__(self, x: np.ndarray, y: np.ndarray, w: np.ndarray, batch: int) -> None:
        super().__init__()
        self.x, self.y, self.w, self.batch = x, y, w, batch

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        part = slice(index * self.batch, (index + 1) * self.batch)
        return self.x[part], self.y[part], self.w[part]


def test_batches_with_weights_train_as_weighted_arrays() -> None:
    x, y, w = data()
    from_arrays, from_batches = seed_cnn(), seed_cnn()
    expected = from_arrays.fit(x, y, sample_weight=w, batch_size=8, epochs=2, shuffle=False, verbose=0,
                               validation_data=(x, y, w)).history
    history = from_batches.fit(WeightedBatches(x, y, w, 8), epochs=2, shuffle=False, verbose=0,
                               validation_data=WeightedBatches(x, y, w, 5)).history
    assert_same_history(history, expected, rtol=1e-5)
    generator = ((x[start:start + 8], y[start:start + 8], w[start:start + 8]) for start in range(0, SAMPLES, 8))
    assert from_batches.evaluate(generator, verbose=0) == pytest.approx(
        from_batches.evaluate(x, y, sample_weight=w, verbose=0), rel=1e-5)
    with pytest.raises(ValueError, match="`sample_weight` should not be passed"):
        from_batches.evaluate(WeightedBatches(x, y, w, 8), sample_weight=w, verbose=0)


def test_validation_is_weighted_by_its_own_weights_in_batches_of_validation_batch_size(
        monkeypatch: pytest.MonkeyPatch) -> None:
    x, y, w = data()
    model = seed_cnn()
    sizes = []
    evaluate_any = loop.evaluate_any

    def spy(*arguments: Any, **options: Any) -> dict[str, float]:
        sizes.append(options.get("batch_size"))
        return evaluate_any(*arguments, **options)

    monkeypatch.setattr(loop, "evaluate_any", spy)
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x[:10], y[:10], w[:10]),
                        validation_batch_size=3).history
    assert sizes == [3]
    monkeypatch.undo()
    assert history["val_loss"][0] == pytest.approx(
        model.evaluate(x[:10], y[:10], sample_weight=w[:10], verbose=0, return_dict=True)["loss"], rel=1e-5)


def test_validation_split_splits_the_sample_weights_and_drops_class_weights() -> None:
    """Keras splits x, y and sample_weight alike; class weights weigh the training part only."""
    x, y, w = data()
    model = seed_cnn()
    history = model.fit(x, y, sample_weight=w, validation_split=0.25, epochs=1, verbose=0).history
    cut = int(SAMPLES * 0.75)
    after = model.evaluate(x[cut:], y[cut:], sample_weight=w[cut:], verbose=0, return_dict=True)
    assert history["val_loss"][0] == pytest.approx(after["loss"], rel=1e-5)
    history = model.fit(x, y, class_weight={1: 5.0}, validation_split=0.25, epochs=1, verbose=0).history
    assert history["val_loss"][0] == pytest.approx(
        model.evaluate(x[cut:], y[cut:], verbose=0, return_dict=True)["loss"], rel=1e-5)


def test_a_weighted_run_resumes_mid_epoch_to_the_same_weights(tmp_path: Path) -> None:
    """The shuffled order picks each batch's weights with its samples, also after a restore."""
    x, y, w = data()
    straight = seed_cnn()
    straight.fit(x, y, sample_weight=w, batch_size=8, epochs=2, verbose=0)
    crashed = seed_cnn()
    crashed.fit(x, y, sample_weight=w, batch_size=8, epochs=2, verbose=0,
                callbacks=[Checkpointer(tmp_path, every_steps=1), StopAt(5)])
    resumed = seed_cnn()
    point = restore_latest(resumed, tmp_path)
    assert (point.epoch, point.step) == (1, 2)
    history = resumed.fit(x, y, sample_weight=w, batch_size=8, epochs=2, verbose=0, initial_epoch=1, resume=point)
    for mine, theirs in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert history.history["loss"] == pytest.approx(straight.history.history["loss"][1:], abs=1e-6)
