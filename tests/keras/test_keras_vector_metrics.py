"""Metrics whose result is a vector (F1Score(average=None), TruePositives(thresholds=[...])) in
fit and evaluate: logged as NumPy arrays as Keras 3 logs them (tests/keras/fixtures/vector_logs.*,
from make_keras_vector_log_fixtures.py), shown by their mean, written by CSVLogger as Keras
writes them, one scalar per entry in TensorBoard, refused by name where a callback must compare
one number."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_keras_callbacks import scalars

import convscope.keras as keras
from convscope import explain

FIXTURES = Path(__file__).parent / "fixtures"
KERAS_TYPES = json.loads((FIXTURES / "vector_logs.json").read_text())


def type_name(value: Any) -> str:
    return f"ndarray{list(np.shape(value))}" if isinstance(value, np.ndarray) else type(value).__name__


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    return x, np.eye(3, dtype="float32")[rng.integers(0, 3, 40)]


def vector_model() -> keras.Sequential:
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy",
                  metrics=[keras.metrics.F1Score(), keras.metrics.TruePositives(thresholds=[0.3, 0.5, 0.7]),
                           keras.metrics.FalsePositives(thresholds=[0.5], name="one_threshold")])
    return model


def test_fit_and_evaluate_log_vector_metrics_as_keras_does() -> None:
    x, y = data()
    model = vector_model()
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    assert {key: type_name(values[0]) for key, values in history.history.items()} == KERAS_TYPES["history"]
    assert all(len(values) == 2 for values in history.history.values())
    evaluated = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    assert {key: type_name(value) for key, value in evaluated.items()} == KERAS_TYPES["evaluate_dict"]
    assert [type_name(value) for value in model.evaluate(x, y, verbose=0)] == KERAS_TYPES["evaluate_list"]
    predictions = model.predict(x, verbose=0)
    f1, positives = keras.metrics.F1Score(), keras.metrics.TruePositives(thresholds=[0.3, 0.5, 0.7])
    f1.update_state(y, predictions)
    positives.update_state(y, predictions)
    np.testing.assert_allclose(evaluated["f1_score"], f1.result().numpy(), rtol=1e-6)
    np.testing.assert_array_equal(evaluated["true_positives"], positives.result().numpy())
    assert evaluated["f1_score"].dtype == np.float32


def test_progress_lines_show_a_vector_metric_by_its_mean(capsys: pytest.CaptureFixture[str]) -> None:
    x, y = data()
    model = vector_model()
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=2)
    lines = capsys.readouterr().out.splitlines()
    for line, epoch in zip(lines, range(2), strict=True):
        shown = float(re.search(r" - f1_score: ([0-9.]+)", line).group(1))  # type: ignore[union-attr]
        assert shown == pytest.approx(float(np.mean(history.history["f1_score"][epoch])), abs=5e-5)
    evaluated = model.evaluate(x, y, verbose=1, return_dict=True)
    line = capsys.readouterr().out
    assert f"true_positives: {np.mean(evaluated['true_positives']):.4f}" in line


def test_csv_logger_writes_vectors_as_keras_does(tmp_path: Path) -> None:
    logs = [{"loss": 0.5, "f1_score": np.array([0.25, 0.5, 1 / 3], dtype="float32"),
             "true_positives": np.array([6.0, 5.0, 0.0], dtype="float32"), "val_loss": 0.75,
             "val_f1_score": np.array([0.1, 0.2, 0.3], dtype="float32")},
            {"loss": 0.25, "f1_score": np.array([0.125, 0.75, 2 / 3], dtype="float32"),
             "true_positives": np.array([7.0, 4.0, 1.0], dtype="float32"), "val_loss": 0.625,
             "val_f1_score": np.array([0.4, 0.5, 0.6], dtype="float32")}]  # make_keras_vector_log_fixtures's
    logger = keras.callbacks.CSVLogger(tmp_path / "log.csv")
    logger.on_train_begin()
    for epoch, epoch_logs in enumerate(logs):
        logger.on_epoch_end(epoch, dict(epoch_logs))
    assert (tmp_path / "log.csv").read_bytes() == (FIXTURES / "vector_logs.csv").read_bytes()


def test_csv_logger_in_fit_writes_each_vector_metric(tmp_path: Path) -> None:
    x, y = data()
    history = vector_model().fit(x, y, epochs=2, batch_size=16, verbose=0,
                                 callbacks=[keras.callbacks.CSVLogger(tmp_path / "log.csv")])
    header, *rows = (tmp_path / "log.csv").read_text().splitlines()
    column = header.split(",").index("f1_score")
    for row, values in zip(rows, history.history["f1_score"], strict=True):
        cell = re.findall(r'"""\[([^\]]*)\]"""', row)[0]
        assert [float(v) for v in cell.split(", ")] == pytest.approx(values.tolist()), column


@pytest.mark.parametrize("callback", [keras.callbacks.EarlyStopping(monitor="f1_score"),
                                      keras.callbacks.ReduceLROnPlateau(monitor="val_true_positives", mode="max")])
def test_callbacks_comparing_one_number_refuse_a_vector_metric_by_name(callback: Any) -> None:
    x, y = data()
    name = type(callback).__name__
    with pytest.raises(ValueError, match=rf"{name}: monitor '{callback.monitor}' is a vector of 3 values"):
        vector_model().fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0, callbacks=[callback])


def test_model_checkpoint_on_a_vector_metric_saves_every_epoch_as_keras(tmp_path: Path) -> None:
    x, y = data()
    checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / "m-{epoch}.keras", monitor="f1_score",
                                                 save_best_only=True)
    with pytest.warns(UserWarning, match="monitor 'f1_score' is one number.*Saving every epoch"):
        vector_model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[checkpoint])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m-1.keras", "m-2.keras"]


def test_tensorboard_writes_one_scalar_per_entry(tmp_path: Path) -> None:
    x, y = data()
    history = vector_model().fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0,
                                 callbacks=[keras.callbacks.TensorBoard(log_dir=tmp_path)])
    train, validation = scalars(tmp_path / "train"), scalars(tmp_path / "validation")
    assert {"epoch_f1_score/0", "epoch_f1_score/2", "epoch_true_positives/1", "epoch_one_threshold"} <= set(train)
    assert "epoch_f1_score" not in train
    for index in range(3):
        assert [value for _, value in validation[f"epoch_f1_score/{index}"]] == \
            pytest.approx([float(values[index]) for values in history.history["val_f1_score"]], rel=1e-6)


def test_history_table_and_training_curves_take_vector_metrics() -> None:
    x, y = data()
    history = vector_model().fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    first = history.history["f1_score"][0]
    assert "[" + ", ".join(f"{value:.4f}" for value in first) + "]" in history._repr_html_()
    curves = explain.training_curves(history)
    assert {"f1_score[0]", "f1_score[1]", "f1_score[2]", "one_threshold"} <= set(curves.curves)
    assert curves.curves["true_positives[1]"]["validation"] == \
        [float(values[1]) for values in history.history["val_true_positives"]]
