"""Per-element sample weights (one per timestep of a Conv1D sequence labeller, one per pixel of a
segmentation model): the loss is sum(w x loss) / number of loss values and weighted metrics are
sum(w x score) / sum(w), Keras 3's reductions, checked in NumPy and against real Keras
(tests/keras/make_keras_element_weight_fixtures.py); a model with no trainable weights still
returns its loss from train_on_batch and fit, and changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from convscope import Sequential, layers, optimizers, set_seed

FIXTURE = np.load(Path(__file__).parents[1] / "keras" / "fixtures" / "element_weights.npz")
SAMPLES, TIMESTEPS, CHANNELS, CLASSES = 6, 16, 3, 4


def sequence_labeller(learning_rate: float = 0.5) -> Sequential:
    """Two Conv1D layers, one class per timestep: (N, 16, 3) -> (N, 16, 4), as in the fixture."""
    set_seed(3)
    model = Sequential([layers.Input((TIMESTEPS, CHANNELS)),
                        layers.Conv1D(8, 3, padding="same", activation="relu"),
                        layers.Conv1D(CLASSES, 3, padding="same", activation="softmax")])
    model.compile(optimizers.SGD(learning_rate=learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"], precision="float32", device="cpu")
    return model


def segmenter() -> Sequential:
    """Per-pixel classes: (N, 6, 6, 2) -> (N, 6, 6, 3)."""
    set_seed(4)
    model = Sequential([layers.Input((6, 6, 2)), layers.Conv2D(8, 3, padding="same", activation="relu"),
                        layers.Conv2D(3, 1, activation="softmax")])
    model.compile(optimizers.SGD(learning_rate=0.1), loss="sparse_categorical_crossentropy",
                  weighted_metrics=["accuracy"], precision="float32", device="cpu")
    return model


def reference(probabilities: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> dict[str, float]:
    """Keras's weighted loss and accuracy in NumPy; `weights` (N,) or of the labels' shape."""
    probabilities = probabilities.astype(np.float64)
    picked = np.take_along_axis(probabilities, labels[..., None], axis=-1)[..., 0]
    losses = -np.log(np.clip(picked, 1e-7, 1 - 1e-7))
    correct = (probabilities.argmax(-1) == labels).astype(np.float64)
    spread = np.broadcast_to(weights.reshape(weights.shape + (1,) * (labels.ndim - weights.ndim)), labels.shape)
    return {"loss": float((spread * losses).sum() / losses.size),
            "weighted_accuracy": float((spread * correct).sum() / spread.sum()),
            "accuracy": float(correct.mean())}


def weighted_only(logs: dict[str, float]) -> dict[str, float]:
    """The logs of a model with weighted_metrics=["accuracy"] only: Keras names it "accuracy"."""
    return {"loss": logs["loss"], "accuracy": logs["weighted_accuracy"]}


def test_per_timestep_weights_weigh_each_timestep_of_a_conv1d_labeller() -> None:
    x, y, w = FIXTURE["x"], FIXTURE["y"], FIXTURE["w"]
    model = sequence_labeller()
    expected = reference(model.predict(x), y, w)
    for batch_size in (SAMPLES, 4):  # batches of 4 with a short last one: the same means
        logs = model.evaluate(x, y, sample_weight=w, batch_size=batch_size, verbose=0, return_dict=True)
        assert logs == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x, y, sample_weight=w[..., None], verbose=0, return_dict=True) == pytest.approx(
        expected, rel=1e-5)  # (N, timesteps, 1) is taken too
    returned = model.train_on_batch(x, y, sample_weight=w, return_dict=True)
    assert returned == pytest.approx(expected, rel=1e-5)  # the logs of the batch before the step
    unweighted = reference(model.predict(x), y, np.ones(SAMPLES))
    assert unweighted["loss"] != pytest.approx(expected["loss"], rel=1e-3)


def test_per_timestep_weights_match_real_keras() -> None:
    x, y, w = FIXTURE["x"], FIXTURE["y"], FIXTURE["w"]
    model = sequence_labeller()
    model.set_weights([FIXTURE[f"w{index}"] for index in range(4)])
    keras_logs = {key: float(FIXTURE[f"evaluate/{key}"]) for key in ("loss", "accuracy", "weighted_accuracy")}
    assert model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True) == pytest.approx(keras_logs, rel=1e-5)
    trained = model.train_on_batch(x, y, sample_weight=w, return_dict=True)
    assert trained == pytest.approx({key: float(FIXTURE[f"train/{key}"]) for key in keras_logs}, rel=1e-5)
    for index, weight in enumerate(model.get_weights()):
        np.testing.assert_allclose(weight, FIXTURE[f"after/w{index}"], rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.get_weights()[0], FIXTURE["w0"])


def test_per_pixel_weights_weigh_each_pixel_of_a_segmenter() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(5, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 3, (5, 6, 6))
    w = rng.uniform(0.0, 3.0, (5, 6, 6)).astype(np.float32)
    model = segmenter()
    probabilities = model.predict(x)
    expected = weighted_only(reference(probabilities, y, w))
    assert model.evaluate(x, y, sample_weight=w, batch_size=2, verbose=0, return_dict=True) == pytest.approx(
        expected, rel=1e-5)
    per_sample = weighted_only(reference(probabilities, y, w[:, 0, 0]))  # one weight per image: all its pixels
    assert model.test_on_batch(x, y, sample_weight=w[:, 0, 0], return_dict=True) == pytest.approx(per_sample, rel=1e-5)
    assert model.test_on_batch(x, y, sample_weight=w[:, :1, 0], return_dict=True) == pytest.approx(per_sample, rel=1e-5)
    history = model.fit(x, y, sample_weight=w, batch_size=5, epochs=1, shuffle=False, verbose=0).history
    assert history["loss"][0] == pytest.approx(expected["loss"], rel=1e-5)


def test_zero_weights_on_pixels_leave_their_labels_out_of_the_gradient() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6, 6, 2)).astype(np.float32)
    y = rng.integers(0, 3, (3, 6, 6))
    w = (rng.random((3, 6, 6)) < 0.5).astype(np.float32)
    relabelled = np.where(w > 0, y, (y + 1) % 3)  # different labels only where the weight is 0
    first, second = segmenter(), segmenter()
    first.train_on_batch(x, y, sample_weight=w)
    second.train_on_batch(x, relabelled, sample_weight=w)
    for mine, theirs in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-6, atol=1e-7)
    third = segmenter()
    third.train_on_batch(x, relabelled)
    assert not np.allclose(third.get_weights()[0], first.get_weights()[0])


def test_a_weight_shape_that_fits_neither_rule_names_the_argument_and_both_shapes() -> None:
    x, y, w = FIXTURE["x"], FIXTURE["y"], FIXTURE["w"]
    model = sequence_labeller()
    with pytest.raises(ValueError, match=r"sample_weight must hold one weight per sample, shape \(6,\), or one per "
                                         r"element of the loss, shape \(6, 16\).*got shape \(6, 5\)"):
        model.fit(x, y, sample_weight=w[:, :5], verbose=0)
    with pytest.raises(ValueError, match=r"validation sample_weight .*got shape \(6, 16, 2\)"):
        model.fit(x, y, validation_data=(x, y, np.ones((SAMPLES, TIMESTEPS, 2))), verbose=0)
    with pytest.raises(ValueError, match="class_weight takes one class per sample"):
        model.fit(x, y, class_weight={0: 2.0}, verbose=0)
    with pytest.raises(ValueError, match=r"integer class labels of shape \(N, 16\).*got shape \(6, 15\)"):
        model.evaluate(x, y[:, :15], verbose=0)


def frozen_labeller(how: str) -> Sequential:
    model = sequence_labeller()
    if how == "model":
        model.trainable = False
    else:
        for layer in model.layers:
            layer.trainable = False
    model.compile(optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], precision="float32", device="cpu")
    return model


@pytest.mark.parametrize("how", ["model", "layers"])
def test_train_on_batch_of_a_frozen_model_returns_the_loss_and_changes_nothing(how: str) -> None:
    x, y = FIXTURE["x"], FIXTURE["y"]
    model = frozen_labeller(how)
    before = model.get_weights()
    expected = model.evaluate(x, y, verbose=0)
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        returned = model.train_on_batch(x, y)
    assert returned == pytest.approx(expected, rel=1e-6)
    with pytest.warns(UserWarning, match="does not have any trainable weights"):
        history = model.fit(x, y, batch_size=4, epochs=2, verbose=0).history
    assert history["loss"] == pytest.approx([expected[0]] * 2, rel=1e-5)
    for mine, theirs in zip(model.get_weights(), before):
        np.testing.assert_array_equal(mine, theirs)
