"""Callbacks that track a monitored value (EarlyStopping, ReduceLROnPlateau, ModelCheckpoint)
share one helper, BestValue: its rules first, then each callback driven by epoch logs alone."""

from __future__ import annotations

import math
from typing import Any

import pytest

from convscope.engine.callbacks import (
    BestValue,
    Callback,
    CSVLogger,
    EarlyStopping,
    History,
    ModelCheckpoint,
    ReduceLROnPlateau,
    TerminateOnNaN,
)


def test_best_value_minimises_losses_and_maximises_accuracies_by_name() -> None:
    assert (BestValue("val_loss").mode, BestValue("val_accuracy").mode, BestValue("auc").mode) == ("min", "max", "max")
    loss = BestValue("val_loss")
    assert loss.best == math.inf
    assert [loss.update(value) for value in (0.5, 0.6, 0.4, 0.4)] == [True, False, True, False]
    assert loss.best == 0.4


def test_best_value_needs_more_than_min_delta() -> None:
    accuracy = BestValue("val_accuracy", min_delta=0.01)
    assert [accuracy.update(value) for value in (0.90, 0.905, 0.92)] == [True, False, True]
    assert accuracy.best == 0.92
    loss = BestValue("loss", mode="min", min_delta=0.1)
    assert [loss.update(value) for value in (1.0, 0.95, 0.85)] == [True, False, True]


def test_best_value_starts_from_the_baseline_and_resets_to_it() -> None:
    loss = BestValue("val_loss", baseline=0.3)
    assert not loss.update(0.35)
    assert loss.update(0.25) and loss.best == 0.25
    loss.reset()
    assert loss.best == 0.3
    accuracy = BestValue("accuracy")
    accuracy.update(0.9)
    accuracy.reset()
    assert accuracy.best == -math.inf


def test_best_value_explicit_mode_overrides_the_name() -> None:
    assert BestValue("val_loss", mode="max").update(1.0)
    growing = BestValue("val_loss", mode="max")
    growing.update(1.0)
    assert not growing.update(0.5)
    with pytest.raises(ValueError, match="mode must be 'auto', 'min' or 'max'; got 'up'"):
        BestValue("loss", mode="up")


def test_best_value_warns_when_the_monitored_log_is_missing() -> None:
    tracker = BestValue("val_loss")
    assert tracker.read({"val_loss": 0.5, "loss": 0.7}, "EarlyStopping") == 0.5
    with pytest.warns(UserWarning, match=r"EarlyStopping: metric 'val_loss' is not in the logs \(available: loss\)"):
        assert tracker.read({"loss": 0.7}, "EarlyStopping") is None


class StubModel:
    """What these callbacks touch on a model: stop_training, the learning rate, saving."""

    def __init__(self) -> None:
        self.stop_training = False
        self.learning_rate = 0.1
        self.saved: list[str] = []

    def save(self, path: str) -> None:
        self.saved.append(path)

    def save_weights(self, path: str) -> None:
        self.saved.append(f"weights:{path}")


def drive(callback: Callback, values: list[float], monitor: str = "val_loss") -> StubModel:
    model = StubModel()
    callback.set_model(model)  # type: ignore[arg-type]
    callback.set_params({})
    callback.on_train_begin()
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            break
    return model


def test_early_stopping_waits_patience_epochs_past_the_best() -> None:
    stopper = EarlyStopping(monitor="val_loss", patience=2, min_delta=0.01)
    model = drive(stopper, [1.0, 0.8, 0.795, 0.795, 0.5])
    assert model.stop_training and stopper.stopped_epoch == 3 and stopper.best == 0.8


def test_early_stopping_baseline_must_be_beaten() -> None:
    stopper = EarlyStopping(monitor="val_accuracy", patience=1, baseline=0.9)
    model = drive(stopper, [0.5, 0.6], monitor="val_accuracy")
    assert model.stop_training and stopper.best == 0.9


def test_reduce_lr_on_plateau_multiplies_the_rate_after_patience() -> None:
    reducer = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.0)
    model = drive(reducer, [1.0, 1.0, 0.5, 0.6])
    assert model.learning_rate == pytest.approx(0.025)
    assert reducer.best == 0.5


def test_model_checkpoint_saves_only_improvements_from_the_threshold(capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = ModelCheckpoint("best-{epoch}", monitor="val_accuracy", save_best_only=True,
                                 initial_value_threshold=0.5, verbose=1)
    model = drive(checkpoint, [0.4, 0.6, 0.55, 0.7], monitor="val_accuracy")
    assert model.saved == ["best-2", "best-4"]
    assert "val_accuracy improved from 0.60000 to 0.70000, saving model to best-4" in capsys.readouterr().out
    assert checkpoint.best == 0.7


def test_callbacks_that_write_files_run_on_rank_zero_only() -> None:
    written = [CSVLogger("log.csv"), ModelCheckpoint("model")]
    everywhere = [History(), EarlyStopping(), ReduceLROnPlateau(), TerminateOnNaN(), Callback()]
    assert all(callback.main_process_only for callback in written)
    assert not any(callback.main_process_only for callback in everywhere)


def test_history_renders_as_an_html_table() -> None:
    history = History()
    history.on_train_begin()
    for epoch, loss in enumerate((0.5, 0.25)):
        history.on_epoch_end(epoch, {"loss": loss})
    html: Any = history._repr_html_()
    assert "<th>epoch</th><th>loss</th>" in html and "<td>2</td><td>0.2500</td>" in html
