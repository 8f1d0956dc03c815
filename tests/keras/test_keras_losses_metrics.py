"""Keras 3's other losses and metrics against what real Keras computed (fixtures
losses_metrics.npz/.json, written by make_keras_loss_metric_fixtures.py from the cases in
keras_loss_metric_cases.py), then their use by name in compile, in fit's logs and in saved files."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from keras_loss_metric_cases import (
    LOSS_CASES,
    METRIC_CASES,
    loss_data,
    metric_batches,
)

import convscope.keras as keras
from convscope import losses, metrics
from convscope.models import load_model

FIXTURES = Path(__file__).parent / "fixtures"
KERAS_PYTHON = Path(__file__).resolve().parents[2] / "benchmarks" / ".keras-env" / "bin" / "python"
EXPECTED = dict(np.load(FIXTURES / "losses_metrics.npz"))
CONFIGS = json.loads((FIXTURES / "losses_metrics.json").read_text())


def without_name(config: dict[str, Any]) -> dict[str, Any]:
    """A config without its name (Keras numbers a repeated default name) and dtype policy."""
    return {key: value for key, value in config.items() if key not in ("name", "dtype")}


# -- losses -----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", LOSS_CASES)
def test_loss_matches_keras(case: str) -> None:
    class_name, kwargs, kind = LOSS_CASES[case]
    cls = getattr(keras.losses, class_name)
    y_true, y_pred, weight = loss_data(kind)
    expected = {key.rsplit("/", 1)[1]: value for key, value in EXPECTED.items() if key.startswith(f"loss/{case}/")}
    np.testing.assert_allclose(cls(**kwargs)(y_true, y_pred).numpy(), expected["mean"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cls(**kwargs, reduction="sum")(y_true, y_pred).numpy(), expected["sum"],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cls(**kwargs, reduction=None)(y_true, y_pred).numpy(), expected["none"],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(cls(**kwargs)(y_true, y_pred, sample_weight=weight).numpy(), expected["weighted"],
                               rtol=1e-5, atol=1e-6)  # Dice over every axis: one value, spread over the weights


@pytest.mark.parametrize("case", LOSS_CASES)
def test_loss_config_is_keras_and_round_trips(case: str) -> None:
    class_name, kwargs, _ = LOSS_CASES[case]
    loss = getattr(keras.losses, class_name)(**kwargs)
    keras_config = CONFIGS["losses"][case]
    assert loss.name == keras_config["name"]
    config = loss.get_config()
    assert {key: config[key] for key in keras_config} == keras_config  # Keras's keys, its values
    rebuilt = losses.get(losses.serialize(loss))
    assert type(rebuilt) is type(loss) and rebuilt.get_config() == config
    assert losses.get({"class_name": class_name, "config": config}).get_config() == config


@pytest.mark.parametrize(("name", "cls"), [
    ("huber", "Huber"), ("kld", "KLDivergence"), ("KLD", "KLDivergence"), ("kl_divergence", "KLDivergence"),
    ("mape", "MeanAbsolutePercentageError"), ("msle", "MeanSquaredLogarithmicError"), ("log_cosh", "LogCosh"),
    ("cosine_similarity", "CosineSimilarity"), ("poisson", "Poisson"), ("hinge", "Hinge"),
    ("squared_hinge", "SquaredHinge"), ("categorical_hinge", "CategoricalHinge"), ("dice", "Dice"),
    ("tversky", "Tversky"), ("binary_focal_crossentropy", "BinaryFocalCrossentropy"),
    ("categorical_focal_crossentropy", "CategoricalFocalCrossentropy"), ("bce", "BinaryCrossentropy"),
    ("Huber", "Huber"), ("BinaryFocalCrossentropy", "BinaryFocalCrossentropy"),
])
def test_loss_names_compile_takes(name: str, cls: str) -> None:
    assert type(losses.get(name)).__name__ == cls
    function = {"huber": losses.huber, "kld": losses.kld, "log_cosh": losses.log_cosh}.get(name)
    if function is not None:
        assert type(losses.get(function)).__name__ == cls


def test_loss_functions_give_per_sample_values() -> None:
    y_true, y_pred, _ = loss_data("regression")
    np.testing.assert_allclose(keras.losses.huber(y_true, y_pred, delta=0.3).numpy(),
                               EXPECTED["loss/huber_delta/none"], rtol=1e-5)
    np.testing.assert_allclose(keras.losses.mape(y_true, y_pred).numpy(), EXPECTED["loss/mape/none"], rtol=1e-5)
    np.testing.assert_allclose(keras.metrics.log_cosh(y_true, y_pred).numpy(), EXPECTED["loss/log_cosh/none"],
                               rtol=1e-5)


# -- metrics ----------------------------------------------------------------------------------
@pytest.mark.parametrize("case", METRIC_CASES)
def test_metric_accumulates_like_keras(case: str) -> None:
    class_name, kwargs, kind = METRIC_CASES[case]
    metric = getattr(keras.metrics, class_name)(**kwargs)
    results = []
    for y_true, y_pred, weight in metric_batches(kind):
        metric.update_state(y_true, y_pred, sample_weight=weight)
        results.append(np.asarray(metric.result(), dtype="float32"))
    np.testing.assert_allclose(np.stack(results), EXPECTED[f"metric/{case}"], rtol=1e-5, atol=1e-6)
    metric.reset_state()  # a new epoch: only the first batch again
    y_true, y_pred, _ = metric_batches(kind)[0]
    metric.update_state(torch.from_numpy(y_true), torch.from_numpy(y_pred))
    np.testing.assert_allclose(np.asarray(metric.result()), EXPECTED[f"metric/{case}"][0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", METRIC_CASES)
def test_metric_config_is_keras_and_round_trips(case: str) -> None:
    class_name, kwargs, _ = METRIC_CASES[case]
    metric = getattr(keras.metrics, class_name)(**kwargs)
    keras_config = CONFIGS["metrics"][case]
    if not keras_config["name"][-1].isdigit():
        assert metric.name == keras_config["name"]
    config = metric.get_config()
    assert without_name({key: config[key] for key in keras_config}) == without_name(keras_config)
    rebuilt = type(metric)(**config)
    assert rebuilt.get_config() == config


@pytest.mark.parametrize(("name", "cls"), [
    ("root_mean_squared_error", "RootMeanSquaredError"), ("RootMeanSquaredError", "RootMeanSquaredError"),
    ("mape", "MeanAbsolutePercentageError"), ("msle", "MeanSquaredLogarithmicError"), ("r2_score", "R2Score"),
    ("f1_score", "F1Score"), ("F1Score", "F1Score"), ("kl_divergence", "KLDivergence"),
    ("binary_crossentropy", "BinaryCrossentropy"), ("bce", "BinaryCrossentropy"), ("true_positives", "TruePositives"),
    ("log_cosh_error", "LogCoshError"), ("cosine_similarity", "CosineSimilarity"), ("hinge", "Hinge"),
])
def test_metric_names_compile_takes(name: str, cls: str) -> None:
    logged, metric = metrics.get(name)
    assert type(metric).__name__ == cls
    assert logged == (name if name[0].islower() else metric.name)


def test_metric_needing_arguments_says_so() -> None:
    with pytest.raises(ValueError, match="'MeanIoU' needs arguments"):
        metrics.get("MeanIoU")


# -- compile, fit, save -----------------------------------------------------------------------
def regression_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, (x @ rng.normal(size=(4, 2))).astype("float32")


def test_fit_logs_the_new_metrics_per_epoch() -> None:
    x, y = regression_data()
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss="huber", metrics=["root_mean_squared_error", "mape", "r2_score",
                                                           keras.metrics.LogCoshError()])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "root_mean_squared_error", "mape", "r2_score", "logcosh"}
    predictions = model.predict(x, verbose=0)
    evaluated = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    rmse, r2 = keras.metrics.RootMeanSquaredError(), keras.metrics.R2Score()
    rmse.update_state(y, predictions)
    r2.update_state(y, predictions)
    assert evaluated["root_mean_squared_error"] == pytest.approx(float(rmse.result()), rel=1e-5)
    assert evaluated["r2_score"] == pytest.approx(float(r2.result()), rel=1e-5)  # all batches, not their mean
    assert evaluated["loss"] == pytest.approx(float(keras.losses.Huber()(y, predictions)), rel=1e-5)


def test_fit_with_focal_loss_and_segmentation_metrics() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(48, 5)).astype("float32")
    labels = np.argmax(x[:, :3], -1)
    y = np.eye(3, dtype="float32")[labels]
    model = keras.Sequential([keras.layers.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="categorical_focal_crossentropy",
                  metrics=[keras.metrics.F1Score(average="micro"), keras.metrics.OneHotMeanIoU(num_classes=3),
                           keras.metrics.F1Score(average="macro", name="f1_macro")])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", "f1_score", "one_hot_mean_io_u", "f1_macro"}
    assert history.history["loss"][-1] < history.history["loss"][0]
    evaluated = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    iou = keras.metrics.OneHotMeanIoU(num_classes=3)
    iou.update_state(y, model.predict(x, verbose=0))
    assert evaluated["one_hot_mean_io_u"] == pytest.approx(float(iou.result()), rel=1e-5)


def test_fit_weighs_a_whole_batch_dice_loss_as_keras() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, :2] > 0).astype("float32")
    weights = np.linspace(0.5, 1.5, 32).astype("float32")
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
    model.compile(optimizer="adam", loss="dice")
    model.fit(x, y, epochs=1, batch_size=32, sample_weight=weights, verbose=0)
    evaluated = model.evaluate(x, y, batch_size=32, sample_weight=weights, verbose=0, return_dict=True)
    dice = float(keras.losses.dice(y, model.predict(x, verbose=0)))
    assert evaluated["loss"] == pytest.approx(dice * weights.mean(), rel=1e-5)


def compiled_model() -> keras.Sequential:
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2, activation="sigmoid")])
    model.compile(optimizer="adam", loss=keras.losses.BinaryFocalCrossentropy(gamma=3.0, apply_class_balancing=True),
                  metrics=["mape", keras.metrics.F1Score(average="micro", threshold=0.4),
                           keras.metrics.BinaryIoU(target_class_ids=[1]), keras.metrics.TruePositives(thresholds=0.3)])
    return model


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_compile_settings_survive_a_keras_file(tmp_path: Path, suffix: str) -> None:
    model = compiled_model()
    model.save(tmp_path / f"m{suffix}")
    loaded = load_model(tmp_path / f"m{suffix}")
    head, original = loaded.require_compiled("test").heads[0], model.require_compiled("test").heads[0]
    assert type(head.loss) is losses.BinaryFocalCrossentropy and head.loss.get_config() == original.loss.get_config()
    assert [(name, type(metric).__name__, without_name(metric.get_config())) for name, metric in head.metrics] == \
        [(name, type(metric).__name__, without_name(metric.get_config())) for name, metric in original.metrics]


KERAS_READS = textwrap.dedent("""
    import os, sys, json
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras, numpy as np
    model = keras.saving.load_model(sys.argv[1])
    model.evaluate(np.zeros((4, 4)), np.ones((4, 2)), verbose=0)  # Keras builds compiled metrics on first use
    print(json.dumps({"loss": type(model.loss).__name__, "loss_config": model.loss.get_config(),
                      "metrics": sorted(type(m).__name__ for m in model.metrics[1].metrics)}))
""")


@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
def test_real_keras_reads_the_compile_settings(tmp_path: Path) -> None:
    compiled_model().save(tmp_path / "m.keras")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_READS, str(tmp_path / "m.keras")], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["loss"] == "BinaryFocalCrossentropy" and found["loss_config"]["gamma"] == 3.0
    assert found["metrics"] == ["BinaryIoU", "F1Score", "MeanAbsolutePercentageError", "TruePositives"]


# -- correlation and at-a-fixed-rate metrics ------------------------------------------------------
@pytest.mark.parametrize(("name", "cls"), [
    ("pearson_correlation", "PearsonCorrelation"), ("PearsonCorrelation", "PearsonCorrelation"),
    ("concordance_correlation", "ConcordanceCorrelation"), ("ConcordanceCorrelation", "ConcordanceCorrelation"),
])
def test_correlation_names_compile_takes(name: str, cls: str) -> None:
    logged, metric = metrics.get(name)
    assert type(metric).__name__ == cls and logged == (name if name[0].islower() else metric.name)
    assert type(metrics.get(getattr(keras.metrics, metric.name))[1]).__name__ == cls  # the function too


@pytest.mark.parametrize(("name", "argument"), [
    ("precision_at_recall", "recall"), ("RecallAtPrecision", "precision"),
    ("sensitivity_at_specificity", "specificity"), ("SpecificityAtSensitivity", "sensitivity"),
])
def test_rate_metrics_by_name_ask_for_their_level(name: str, argument: str) -> None:
    with pytest.raises(ValueError, match=f"{name!r} needs arguments.*{argument}"):
        metrics.get(name)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: keras.metrics.PrecisionAtRecall(1.5), "PrecisionAtRecall: recall must be a number in"),
    (lambda: keras.metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), "num_thresholds must be an integer > 0"),
    (lambda: keras.metrics.RecallAtPrecision(0.5, class_id=-1), "class_id must be an integer >= 0"),
    (lambda: keras.metrics.PearsonCorrelation(axis="last"), "PearsonCorrelation: axis must be an integer"),
])
def test_correlation_and_rate_metrics_refuse_bad_arguments(build: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def small_model(metric_list: list[Any], kind: str) -> tuple[keras.Sequential, np.ndarray, np.ndarray]:
    """A Dense model on 60 samples: 2 sigmoid outputs for binary targets, 3 linear ones for
    regression targets (several values per sample, so each has its own correlation)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 4)).astype("float32")
    if kind == "binary":
        y = (x[:, :2] + 0.7 * rng.normal(size=(60, 2)) > 0).astype("float32")
        layer, loss = keras.layers.Dense(2, activation="sigmoid"), "binary_crossentropy"
    else:
        y = (x[:, :3] * [1.0, -2.0, 0.5] + 0.3 * rng.normal(size=(60, 3))).astype("float32")
        layer, loss = keras.layers.Dense(3), "mse"
    model = keras.Sequential([keras.layers.Input((4,)), layer])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss, metrics=metric_list)
    return model, x, y


RATE_METRICS = [
    keras.metrics.PrecisionAtRecall(0.6), keras.metrics.RecallAtPrecision(0.7),
    keras.metrics.SensitivityAtSpecificity(0.5, num_thresholds=20),
    keras.metrics.SpecificityAtSensitivity(0.5, num_thresholds=50, class_id=1, name="specificity_1")]
CORRELATION_METRICS = ["pearson_correlation", keras.metrics.ConcordanceCorrelation()]


@pytest.mark.parametrize(("kind", "names"), [
    ("binary", ["precision_at_recall", "recall_at_precision", "sensitivity_at_specificity", "specificity_1"]),
    ("regression", ["pearson_correlation", "concordance_correlation"]),
])
def test_fit_and_evaluate_accumulate_correlation_and_rate_metrics(kind: str, names: list[str]) -> None:
    model, x, y = small_model(RATE_METRICS if kind == "binary" else CORRELATION_METRICS, kind)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert set(history.history) == {"loss", *names}
    assert all(len(history.history[name]) == 3 for name in names)
    evaluated = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    predictions = model.predict(x, verbose=0)
    for name, (_, metric) in zip(names, model.require_compiled("test").heads[0].metrics, strict=True):
        fresh = type(metric)(**metric.get_config())
        fresh.update_state(y, predictions)  # one update over every sample: what 4 batches accumulate to
        assert 0 < abs(float(fresh.result())) <= 1, name  # a correlation may come out negative after 3 epochs
        assert evaluated[name] == pytest.approx(float(fresh.result()), rel=1e-5, abs=1e-6), name


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_correlation_and_rate_metrics_survive_a_keras_file(tmp_path: Path, suffix: str) -> None:
    model, _, _ = small_model([*CORRELATION_METRICS, *RATE_METRICS], "binary")
    model.save(tmp_path / f"m{suffix}")
    head = load_model(tmp_path / f"m{suffix}").require_compiled("test").heads[0]
    assert [(name, type(metric).__name__, without_name(metric.get_config())) for name, metric in head.metrics] == \
        [(name, type(metric).__name__, without_name(metric.get_config()))
         for name, metric in model.require_compiled("test").heads[0].metrics]


@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
def test_real_keras_reads_correlation_and_rate_metrics(tmp_path: Path) -> None:
    small_model([*CORRELATION_METRICS, *RATE_METRICS], "binary")[0].save(tmp_path / "m.keras")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    reads = KERAS_READS.replace('"loss_config": model.loss.get_config(),', "")
    done = subprocess.run([str(KERAS_PYTHON), "-c", reads, str(tmp_path / "m.keras")], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["metrics"] == [
        "ConcordanceCorrelation", "PearsonCorrelation", "PrecisionAtRecall", "RecallAtPrecision",
        "SensitivityAtSpecificity", "SpecificityAtSensitivity"]
