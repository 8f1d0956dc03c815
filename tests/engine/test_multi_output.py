"""Models with several inputs and outputs through fit, evaluate and predict: x and y as lists or
dicts, batch sources yielding them, per-output losses, loss weights and metrics, the total loss
as their weighted sum plus regularization, checkpoints, saving, and the errors that name what
does not fit. tests/keras/test_keras_multi_output.py compares the numbers with real Keras."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from crash_callbacks import StopAt

from convscope import Model, keras, layers, load_model, optimizers, regularizers, set_seed
from convscope.engine.checkpoint import Checkpointer, restore_latest
from convscope.keras.utils import Sequence

SAMPLES = 32


def two_heads(regularized: bool = False, **compile_options: Any) -> Model:
    """An image and a vector in; class scores (softmax) and a value out. Same weights each time."""
    set_seed(2)
    image, extra = keras.Input((10, 10, 1), name="image"), keras.Input((3,), name="extra")
    x = layers.Conv2D(6, 3, activation="relu")(image)
    x = layers.Flatten()(layers.MaxPooling2D(2)(x))
    x = layers.concatenate([x, layers.Dense(4, activation="relu")(extra)])
    regularizer = regularizers.L2(0.01) if regularized else None
    x = layers.Dense(16, activation="relu", kernel_regularizer=regularizer)(x)
    model = Model([image, extra], [layers.Dense(3, activation="softmax", name="class_out")(x),
                                   layers.Dense(1, name="reg_out")(x)])
    options = {"loss": {"class_out": "sparse_categorical_crossentropy", "reg_out": "mse"},
               "loss_weights": {"class_out": 1.0, "reg_out": 0.5},
               "metrics": {"class_out": ["accuracy"], "reg_out": ["mae"]}, **compile_options}
    model.compile(optimizers.SGD(learning_rate=0.05), precision="float32", device="cpu", **options)
    return model


def data(seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return ([rng.random((SAMPLES, 10, 10, 1), dtype=np.float32), rng.normal(size=(SAMPLES, 3)).astype(np.float32)],
            [rng.integers(0, 3, SAMPLES), rng.normal(size=(SAMPLES, 1)).astype(np.float32)])


def as_dicts(x: list[np.ndarray], y: list[np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return {"image": x[0], "extra": x[1]}, {"class_out": y[0], "reg_out": y[1]}


def assert_same_history(mine: dict[str, list[float]], theirs: dict[str, list[float]], rtol: float = 1e-6) -> None:
    assert list(mine) == list(theirs)
    for key in theirs:
        np.testing.assert_allclose(mine[key], theirs[key], rtol=rtol, err_msg=key)


def test_lists_and_dicts_train_alike_and_logs_are_named_per_output() -> None:
    x, y = data()
    x_dict, y_dict = as_dicts(x, y)
    by_list, by_dict = two_heads(), two_heads()
    history = by_list.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(x, y)).history
    expected_names = ["loss", "class_out_loss", "reg_out_loss", "class_out_accuracy", "reg_out_mae"]
    assert list(history) == [*expected_names, *(f"val_{name}" for name in expected_names)]
    dict_history = by_dict.fit(x_dict, y_dict, batch_size=8, epochs=2, shuffle=False, verbose=0,
                               validation_data=(x_dict, y_dict)).history
    assert_same_history(dict_history, history)
    for mine, theirs in zip(by_dict.get_weights(), by_list.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    scores, value = by_list.predict(x_dict)
    assert scores.shape == (SAMPLES, 3) and value.shape == (SAMPLES, 1)


def test_the_total_loss_is_the_weighted_sum_of_the_outputs_losses_plus_regularization() -> None:
    x, y = data()
    model = two_heads(regularized=True, loss_weights=[2.0, 0.25])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    scores, value = model.predict(x)
    class_loss = float(np.mean(-np.log(scores[np.arange(SAMPLES), y[0]])))
    value_loss = float(np.mean((value - y[1]) ** 2))
    penalty = float(sum(float(term.detach()) for term in model.losses))
    assert penalty > 0
    assert logs["class_out_loss"] == pytest.approx(class_loss, rel=1e-5)
    assert logs["reg_out_loss"] == pytest.approx(value_loss, rel=1e-5)
    assert logs["loss"] == pytest.approx(2.0 * class_loss + 0.25 * value_loss + penalty, rel=1e-5)
    # evaluate's list: loss, each output's loss, then the metrics by name (Keras's order)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(
        [logs["loss"], logs["class_out_loss"], logs["reg_out_loss"], logs["class_out_accuracy"], logs["reg_out_mae"]])


def test_the_softmax_output_trains_from_its_logits() -> None:
    model = two_heads()
    assert model.compiled is not None and model.compiled.logits == [True, False]
    x, y = data()
    logits, value = model(x, logits=[True, False])
    probabilities, same_value = model(x)
    np.testing.assert_allclose(np.exp(logits.detach().numpy()) / np.exp(logits.detach().numpy()).sum(-1, keepdims=True),
                               probabilities.detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(value.detach().numpy(), same_value.detach().numpy())


def test_metrics_for_every_output_or_one_entry_per_output() -> None:
    x, y = data()
    every = two_heads(loss="mse", loss_weights=None, metrics=["mae", "mse", "accuracy"])  # not one per output
    logs = every.evaluate(x, [np.eye(3)[y[0]], y[1]], verbose=0, return_dict=True)
    assert sorted(logs) == sorted(["loss", "class_out_loss", "reg_out_loss", *(f"{output}_{metric}" for output in (
        "class_out", "reg_out") for metric in ("mae", "mse", "accuracy"))])
    per_output = two_heads(loss="mse", loss_weights=None, metrics=["mae", "mse"])  # Keras 3: one per output
    assert sorted(per_output.evaluate(x, [np.eye(3)[y[0]], y[1]], verbose=0, return_dict=True)) == sorted(
        ["loss", "class_out_loss", "reg_out_loss", "class_out_mae", "reg_out_mse"])
    listed = two_heads(metrics=[["accuracy", "accuracy"], None])
    assert list(listed.evaluate(x, y, verbose=0, return_dict=True)) == [  # sorted by name, as Keras 3 returns them
        "class_out_accuracy", "class_out_accuracy_1", "class_out_loss", "loss", "reg_out_loss"]


def test_an_output_without_loss_needs_no_targets() -> None:
    x, y = data()
    model = two_heads(loss=["sparse_categorical_crossentropy", None], loss_weights=None, metrics=None)
    before = model.get_layer("reg_out").get_weights()
    logs = model.fit(x, [y[0]], batch_size=8, epochs=1, verbose=0).history
    assert list(logs) == ["loss"]  # one loss in use: no per-output losses, as in Keras
    assert model.evaluate(x, {"class_out": y[0]}, verbose=0) == pytest.approx(
        model.evaluate(x, y, verbose=0), rel=1e-6)
    for unchanged, start in zip(model.get_layer("reg_out").get_weights(), before):
        np.testing.assert_array_equal(unchanged, start)


def test_a_model_made_with_a_dict_of_outputs_is_keyed_by_its_keys() -> None:
    set_seed(3)
    inputs = keras.Input((5,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    model = Model(inputs, {"zeta": layers.Dense(1)(hidden), "alpha": layers.Dense(2, activation="softmax")(hidden)})
    model.compile("sgd", loss={"zeta": "mse", "alpha": "sparse_categorical_crossentropy"},
                  metrics={"alpha": ["accuracy"]}, precision="float32")
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 5)).astype(np.float32), {"zeta": rng.normal(size=(12, 1)), "alpha": rng.integers(0, 2, 12)}
    history = model.fit(x, y, epochs=1, verbose=0).history
    assert list(history) == ["loss", "alpha_loss", "zeta_loss", "alpha_accuracy"]
    outputs = model.predict(x)
    assert set(outputs) == {"zeta", "alpha"} and outputs["alpha"].shape == (12, 2)


class ListBatches(Sequence):
    """Batches of ([image, extra], {"class_out": ..., "reg_out": ...})."""

    def __init__(self, x: list[np.ndarray], y: list[np.ndarray], batch: int) -> None:
        super().__init__()
        self.x, self.y, self.batch = x, y, batch

    def __len__(self) -> int:
        return -(-len(self.x[0]) // self.batch)

    def __getitem__(self, index: int) -> tuple[list[np.ndarray], dict[str, np.ndarray]]:
        part = slice(index * self.batch, (index + 1) * self.batch)
        return [array[part] for array in self.x], {"class_out": self.y[0][part], "reg_out": self.y[1][part]}


def test_batch_sources_yield_lists_and_dicts() -> None:
    x, y = data()
    from_arrays, from_batches = two_heads(), two_heads()
    expected = from_arrays.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    history = from_batches.fit(ListBatches(x, y, 8), epochs=2, shuffle=False, verbose=0,
                               validation_data=ListBatches(x, y, 5)).history
    assert_same_history({key: value for key, value in history.items() if not key.startswith("val_")}, expected)
    assert history["val_loss"][-1] == pytest.approx(from_batches.evaluate(x, y, verbose=0)[0], rel=1e-5)
    generator = ((part[0], part[1]) for part in (ListBatches(x, y, 8)[index] for index in range(4)))
    predicted = from_batches.predict(ListBatches(x, y, 8))
    np.testing.assert_allclose(predicted[0], from_batches.predict(x)[0], rtol=1e-6)
    assert from_batches.evaluate(generator, verbose=0) == pytest.approx(from_batches.evaluate(x, y, verbose=0))


def test_what_does_not_fit_is_named() -> None:
    x, y = data()
    model = two_heads()
    with pytest.raises(ValueError, match=r"x: the model has 2 inputs \(image, extra\); got one ndarray"):
        model.fit(x[0], y, verbose=0)
    with pytest.raises(ValueError, match=r"y: no targets for output\(s\) \['reg_out'\]"):
        model.fit(x, {"class_out": y[0]}, verbose=0)
    with pytest.raises(ValueError, match=r"x\['extra'\] has shape \(32, 4\) but input 'extra'"):
        model.evaluate([x[0], np.ones((SAMPLES, 4))], y, verbose=0)
    with pytest.raises(ValueError, match=r"x\['image'\] has 32 samples but y\['reg_out'\] has 31"):
        model.fit(x, [y[0], y[1][:-1]], verbose=0)
    with pytest.raises(ValueError, match="class_weight is only supported for models with a single output"):
        model.fit(x, y, class_weight={0: 2.0}, verbose=0)
    with pytest.raises(ValueError, match=r"compile: loss names \['value'\], which are not outputs"):
        two_heads(loss={"value": "mse"})
    with pytest.raises(ValueError, match="compile: loss has 3 entries but the model has 2 output"):
        two_heads(loss=["mse"] * 3, loss_weights=None)
    with pytest.raises(ValueError, match="give at least one of the outputs"):
        two_heads(loss=[None, None], loss_weights=None)
    with pytest.raises(ValueError, match="loss_weights is one number but the model has 2 outputs"):
        two_heads(loss_weights=0.5)
    nested_in = keras.Input((4,))
    nested = Model(nested_in, [[layers.Dense(1)(nested_in)], layers.Dense(1)(nested_in)])
    with pytest.raises(ValueError, match="has nested outputs"):
        nested.compile("sgd", "mse")


def test_checkpoints_resume_and_saved_models_recompile(tmp_path: Path) -> None:
    x, y = data()
    weights = np.linspace(0.5, 1.5, SAMPLES, dtype=np.float32)
    straight = two_heads()
    straight.fit(x, y, sample_weight=weights, batch_size=8, epochs=2, verbose=0)
    crashed = two_heads()
    crashed.fit(x, y, sample_weight=weights, batch_size=8, epochs=2, verbose=0,
                callbacks=[Checkpointer(tmp_path / "checkpoints", every_steps=2), StopAt(6)])
    resumed = two_heads()
    point = restore_latest(resumed, tmp_path / "checkpoints")
    assert (point.epoch, point.step) == (1, 2)
    resumed.fit(x, y, sample_weight=weights, batch_size=8, epochs=2, verbose=0, initial_epoch=1, resume=point)
    for mine, theirs in zip(resumed.get_weights(), straight.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    resumed.save(tmp_path / "saved")
    loaded = load_model(tmp_path / "saved")
    assert loaded.compiled is not None and [head.loss_weight for head in loaded.compiled.heads] == [1.0, 0.5]
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        resumed.evaluate(x, y, verbose=0, return_dict=True), rel=1e-6)
