"""Activations, optimizers and metrics against what real Keras 3.15 computed (fixtures
activations.npz, optimizers.npz and metrics.npz, written by make_keras_references.py from the
cases in keras_training_cases.py), then their use by name in compile and fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from keras_layer_cases import ACTIVATIONS
from keras_training_cases import (
    METRIC_CASES,
    OPTIMIZER_CASES,
    metric_batches,
    optimizer_problem,
)

import convscope.keras as keras
from convscope import activations, metrics, optimizers

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, np.ndarray]:
    with np.load(FIXTURES / f"{name}.npz") as archive:
        return dict(archive)


# -- activations ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_keras(name: str) -> None:
    expected = load("activations")
    fn = activations.get(name)
    np.testing.assert_allclose(fn(torch.from_numpy(expected["x"])).numpy(), expected[name], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(getattr(keras.activations, name)(expected["x"]).numpy(), expected[name],
                               rtol=1e-5, atol=1e-6)  # NumPy in, as Keras's functions take it


def test_activation_arguments_match_keras() -> None:
    expected = load("activations")
    x = torch.from_numpy(expected["x"])
    np.testing.assert_allclose(keras.activations.gelu(x, approximate=True).numpy(), expected["gelu_approximate"],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.activations.leaky_relu(x, negative_slope=0.1).numpy(),
                               expected["leaky_relu_0.1"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(keras.activations.elu(x, alpha=0.5).numpy(), expected["elu_0.5"], rtol=1e-5, atol=1e-6)


def test_activation_names_round_trip_as_keras_writes_them() -> None:
    assert activations.name_of(activations.get("swish")) == "silu"  # Keras 3 writes silu for swish
    assert activations.name_of(activations.get("hard_swish")) == "hard_silu"
    for name in ACTIVATIONS:
        assert activations.get(activations.name_of(activations.get(name))) is activations.get(name)


# -- optimizers -------------------------------------------------------------------------------
@pytest.mark.parametrize("case", OPTIMIZER_CASES)
def test_optimizer_steps_match_keras(case: str) -> None:
    class_name, kwargs = OPTIMIZER_CASES[case]
    start, curvature, pull = (torch.from_numpy(a) for a in optimizer_problem())
    weights = torch.nn.Parameter(start.clone())
    optimizer = getattr(keras.optimizers, class_name)(**kwargs).build([weights])
    steps = []
    for _ in range(5):
        weights.grad = curvature * weights.detach() + pull
        optimizer.step()
        steps.append(weights.detach().clone().numpy())
    np.testing.assert_allclose(np.stack(steps), load("optimizers")[case], rtol=1e-5, atol=1e-5)



def keras_adam(start: np.ndarray, grads: list[np.ndarray], learning_rate: float, amsgrad: bool) -> np.ndarray:
    """Keras 3's Adam.update_step in float64: epsilon is added to sqrt(v), and the step size
    carries the bias corrections."""
    weights, m, v, v_hat, steps = start.astype(np.float64), 0.0, 0.0, 0.0, []
    for t, grad in enumerate(grads, start=1):
        alpha = learning_rate * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        m, v = m + (grad - m) * 0.1, v + (grad ** 2 - v) * 0.001
        v_hat = np.maximum(v_hat, v)
        weights = weights - m * alpha / (np.sqrt(v_hat if amsgrad else v) + 1e-7)
        steps.append(weights)
    return np.stack(steps)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_epsilon_is_keras_where_gradients_are_tiny(amsgrad: bool) -> None:
    """torch adds eps after bias-correcting sqrt(v); with gradients near epsilon that moves a
    weight several times further than Keras does, unless eps follows the step."""
    grads = [np.random.default_rng(step).normal(scale=1e-6, size=6) for step in range(6)]
    weights = torch.nn.Parameter(torch.zeros(6))  # near 0, float32 resolves each step's size
    recipe = optimizers.Adam(learning_rate=0.01, amsgrad=amsgrad)
    torch_optimizer = recipe.build([weights])
    steps = []
    for grad in grads:
        weights.grad = torch.tensor(grad, dtype=torch.float32)
        torch_optimizer.step()
        steps.append(weights.detach().numpy().copy())
    np.testing.assert_allclose(np.stack(steps), keras_adam(np.zeros(6), grads, 0.01, amsgrad), rtol=1e-5, atol=1e-9)
    assert recipe.iterations == 6

def test_optimizer_defaults_are_keras() -> None:
    assert optimizers.AdamW().get_config()["weight_decay"] == 0.004
    for recipe in (optimizers.Nadam(), optimizers.Adamax()):
        config = recipe.get_config()
        assert (config["learning_rate"], config["beta_1"], config["beta_2"], config["epsilon"],
                config["weight_decay"]) == (0.001, 0.9, 0.999, 1e-7, None)
    assert isinstance(optimizers.get("nadam"), optimizers.Nadam)
    assert isinstance(optimizers.get("Adamax"), optimizers.Adamax)


@pytest.mark.parametrize(("clipping", "expected"), [
    ({"clipvalue": 0.5}, [0.5, -0.5, 0.25]),
    ({"clipnorm": 1.0}, [0.8, -0.6, 0.0]),  # per tensor: (4, -3, 0) / 5 and (0.25) stays
    ({"global_clipnorm": 1.0}, [4 / 5.0062, -3 / 5.0062, 0.25 / 5.0062]),
])
def test_gradient_clipping_is_keras(clipping: dict[str, float], expected: list[float]) -> None:
    first, second = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(1))
    torch_optimizer = optimizers.SGD(learning_rate=1.0, **clipping).build([first, second])
    first.grad, second.grad = torch.tensor([4.0, -3.0, 0.0]), torch.tensor([0.25])
    torch_optimizer.step()
    moved = torch.cat([-first.detach(), -second.detach()]).tolist()
    if "clipvalue" in clipping:
        assert moved == pytest.approx([0.5, -0.5, 0.0, 0.25])
    elif "clipnorm" in clipping:
        assert moved == pytest.approx([0.8, -0.6, 0.0, 0.25])
    else:
        assert moved == pytest.approx([expected[0], expected[1], 0.0, expected[2]], rel=1e-4)


def test_optimizer_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="at most one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(ValueError, match="use_ema=True is not supported"):
        optimizers.Nadam(use_ema=True)
    with pytest.raises(ValueError, match="weight_decay must be a number >= 0"):
        optimizers.Adamax(weight_decay=-1.0)
    recipe = optimizers.Nadam(learning_rate=0.01, clipnorm=2.0)
    assert optimizers.get(optimizers.serialize(recipe)).get_config() == recipe.get_config()


# -- metrics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", METRIC_CASES)
def test_metric_matches_keras(case: str) -> None:
    class_name, kwargs, kind = METRIC_CASES[case]
    metric = getattr(keras.metrics, class_name)(**kwargs)
    results = []
    for y_true, y_pred, weight in metric_batches(kind):
        metric.update_state(y_true, y_pred, sample_weight=weight)
        results.append(np.asarray(metric.result()))
    np.testing.assert_allclose(np.stack(results), load("metrics")[case], rtol=1e-5, atol=1e-6)
    metric.reset_state()
    y_true, y_pred, _ = metric_batches(kind)[0]
    metric.update_state(y_true, y_pred)
    np.testing.assert_allclose(np.asarray(metric.result()), load("metrics")[case][0], rtol=1e-5, atol=1e-6)


def test_metric_configs_and_names_are_keras() -> None:
    assert (metrics.Precision().name, metrics.Recall().name, metrics.AUC().name) == ("precision", "recall", "auc")
    assert metrics.AUC().get_config() == {
        "name": "auc", "dtype": None, "num_thresholds": 200, "curve": "ROC", "summation_method": "interpolation",
        "multi_label": False, "num_labels": None, "label_weights": None, "from_logits": False}
    assert metrics.Precision(thresholds=0.3).get_config() == {
        "name": "precision", "dtype": None, "thresholds": 0.3, "top_k": None, "class_id": None}
    assert metrics.TopKCategoricalAccuracy().get_config() == {"name": "top_k_categorical_accuracy", "dtype": None,
                                                              "k": 5}
    assert metrics.get("AUC")[0] == "auc" and metrics.get("recall")[0] == "recall"


def test_fit_logs_precision_recall_and_auc_like_keras() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.layers.Input((6,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Nadam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["accuracy", "precision", keras.metrics.Recall(), keras.metrics.AUC(name="prc", curve="PR")])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "precision", "recall", "prc", "val_loss", "val_accuracy",
                                     "val_precision", "val_recall", "val_prc"}
    reference = keras.metrics.AUC(curve="PR")
    reference.update_state(y[48:], model.predict(x[48:], verbose=0))
    assert history.history["val_prc"][-1] == pytest.approx(float(reference.result()), rel=1e-5)
