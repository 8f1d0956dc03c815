"""fit(validation_freq=...): validation runs only on the epochs Keras 3 picks (every N-th, or
those listed, counted from 1), so only those epochs' logs carry val_* values; CSVLogger writes
NA in the others, as Keras 3 does."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import convscope.keras as keras


def small_model() -> keras.Sequential:
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64")


@pytest.mark.parametrize(("validation_freq", "validated"), [
    (1, [True, True, True, True]), (2, [False, True, False, True]), (3, [False, False, True, False]),
    ([1, 3], [True, False, True, False])])
def test_validation_runs_on_the_epochs_keras_picks(validation_freq: int | list[int], validated: list[bool]) -> None:
    x, y = data()
    seen: list[bool] = []
    record = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append("val_loss" in logs))
    history = small_model().fit(x, y, epochs=4, batch_size=8, validation_data=(x[:10], y[:10]),
                                validation_freq=validation_freq, callbacks=[record], verbose=0)
    assert seen == validated
    assert len(history.history["val_loss"]) == len(history.history["val_accuracy"]) == sum(validated)
    assert len(history.history["loss"]) == 4


def test_validation_split_follows_validation_freq_too() -> None:
    x, y = data()
    history = small_model().fit(x, y, epochs=4, batch_size=8, validation_split=0.25, validation_freq=2, verbose=0)
    assert len(history.history["val_loss"]) == 2


@pytest.mark.parametrize("validation_freq", [0, -1, 1.5, "2", (1, 2)])
def test_a_bad_validation_freq_is_named(validation_freq: object) -> None:
    x, y = data()
    with pytest.raises(ValueError, match="validation_freq"):
        small_model().fit(x, y, epochs=2, validation_data=(x, y), validation_freq=validation_freq, verbose=0)


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_csv_logger_writes_na_on_the_epochs_without_validation(tmp_path: Path) -> None:
    # Keras 3 wrote: epoch,accuracy,loss,val_accuracy,val_loss with NA in rows 0 and 2
    x, y = data()
    small_model().fit(x, y, epochs=4, batch_size=8, validation_data=(x[:10], y[:10]), validation_freq=2, verbose=0,
                      callbacks=[keras.callbacks.CSVLogger(tmp_path / "log.csv")])
    rows = csv_rows(tmp_path / "log.csv")
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [row["val_loss"] == "NA" for row in rows] == [True, False, True, False]
    assert all(row["val_accuracy"] == "NA" for row in rows[::2])


def test_csv_logger_without_validation_has_na_val_columns_as_in_keras(tmp_path: Path) -> None:
    x, y = data()
    small_model().fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.CSVLogger(tmp_path / "log.csv")])
    rows = csv_rows(tmp_path / "log.csv")
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(row["val_loss"] == row["val_accuracy"] == "NA" for row in rows)
