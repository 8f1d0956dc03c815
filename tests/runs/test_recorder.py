"""RunRecorder: history.csv after each epoch, and the engine checkpointer's newest checkpoint
published as checkpoints/last (and best), with no second serialisation of the model."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from convscope import Sequential, layers, set_seed
from convscope.engine.checkpoint import MANIFEST, RESUME_FILE, Checkpointer, candidates
from convscope.models.saving import load_model
from convscope.runs import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    STEP_CHECKPOINTS,
    RunRecorder,
    write_history,
)


def small_model() -> Sequential:
    set_seed(0, deterministic=False)
    model = Sequential([layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)), layers.Flatten(),
                        layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  device="cpu", precision="float32")
    return model


def arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 48)
    x = rng.normal(size=(48, 8, 8, 1)).astype(np.float32) + y[:, None, None, None]
    return x, y


def train(folder: Path, epochs: int = 3) -> tuple[Sequential, RunRecorder]:
    model = small_model()
    checkpointer = Checkpointer(folder / STEP_CHECKPOINTS)
    recorder = RunRecorder(folder, checkpointer, monitor="val_loss")
    x, y = arrays()
    model.fit(x, y, batch_size=16, epochs=epochs, validation_split=0.25, verbose=0,
              callbacks=[checkpointer, recorder])
    return model, recorder


def test_history_csv_holds_every_epoch_as_fit_logged_it(tmp_path: Path) -> None:
    model, recorder = train(tmp_path)
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert [row["epoch"] for row in rows] == ["1", "2", "3"]
    assert recorder.history == model.history.history  # the same logs as fit's own History
    assert [float(row["val_loss"]) for row in rows] == pytest.approx(recorder.history["val_loss"], rel=1e-5)
    losses = recorder.history["val_loss"]
    assert recorder.best_epoch == int(np.argmin(losses)) + 1


def test_last_and_best_are_the_checkpointers_files_as_a_saved_model(tmp_path: Path) -> None:
    model, recorder = train(tmp_path)
    last, best = tmp_path / LAST_CHECKPOINT, tmp_path / BEST_CHECKPOINT
    written = candidates(tmp_path / STEP_CHECKPOINTS)  # newest first: epochs 3, 2, 1
    assert len(written) == 3
    for published, checkpoint in ((last, written[0]), (best, written[3 - recorder.best_epoch])):
        names = {file.name for file in published.iterdir()}
        assert names == {"config.json", "model.safetensors", "optimizer.safetensors"}
        assert MANIFEST not in names and RESUME_FILE not in names
        for name in names:  # hard links to the checkpoint's files: written once
            assert os.path.samefile(published / name, checkpoint / name)
    x, _ = arrays()
    np.testing.assert_array_equal(load_model(last).predict(x, verbose=0), model.predict(x, verbose=0))


def test_restore_takes_over_the_first_rows_and_their_best(tmp_path: Path) -> None:
    write_history(tmp_path, {"loss": [0.9, 0.7, 0.6], "val_loss": [0.5, 0.4, 0.45]})
    recorder = RunRecorder(tmp_path, Checkpointer(tmp_path / STEP_CHECKPOINTS))
    recorder.restore(2)
    recorder.on_train_begin()  # fit starting again must not forget the restored rows
    assert recorder.history == {"loss": [0.9, 0.7], "val_loss": [0.5, 0.4]}
    assert recorder.epoch == [0, 1] and recorder.best_epoch == 2
    recorder.restore(1)
    assert recorder.history == {"loss": [0.9], "val_loss": [0.5]} and recorder.best_epoch == 1
