"""Keras's callbacks: hooks the training loop calls around epochs and batches.

Batch logs are lazy: reading a value synchronises with the device, so callbacks that never
look at per-batch numbers cost nothing. Under torch.distributed every rank runs the callbacks,
except those whose `main_process_only` is True (they write files): rank 0 alone runs those.
"""

from __future__ import annotations

import csv
import html
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

    from convscope.engine.protocol import TrainableModel


@dataclass
class FitState:
    """What `fit` tells the engine's own callbacks beyond Keras's `params` ({"verbose",
    "epochs", "steps"}, kept exactly as Keras has them): where training stands (`position`,
    which `Checkpointer` and `BackupAndRestore` save), the training samples per epoch (None for
    a PyDataset or generator) and the batch size (a source's: its first batch's size)."""

    position: Any = None  # a checkpoint.TrainingPosition (checkpoint imports this module)
    samples: int | None = None
    batch_size: int | None = None


class LazyLogs(Mapping[str, float]):
    """A read-only mapping whose values are computed (and cached) on first access."""

    def __init__(self, compute: Callable[[], dict[str, float]]) -> None:
        self._compute = compute
        self._values: dict[str, float] | None = None

    def _data(self) -> dict[str, float]:
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key: str) -> float:
        return self._data()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data())

    def __len__(self) -> int:
        return len(self._data())


class Callback:
    """Base class; override the hooks you need. `self.model` and `self.params` ({"verbose",
    "epochs", "steps"}, as Keras gives them) are set before training; `self.fit_state` holds
    what the engine's own callbacks need besides (`FitState`).

    `main_process_only = True` marks a callback that only rank 0 runs under torch.distributed
    (one that writes files); the others run on every rank, so they take the same decisions.
    """

    model: TrainableModel
    params: dict[str, Any]
    fit_state: FitState
    main_process_only: bool = False

    def set_model(self, model: TrainableModel) -> None:
        self.model = model

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_fit_state(self, fit_state: FitState) -> None:
        self.fit_state = fit_state

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None: ...
    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self.on_batch_begin(batch, logs=logs)  # as Keras: a callback written for Keras 2's name still runs

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self.on_batch_end(batch, logs=logs)

    def on_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None: ...
    def on_test_begin(self, logs: Mapping[str, float] | None = None) -> None: ...
    def on_test_end(self, logs: Mapping[str, float] | None = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None: ...
    def on_predict_begin(self, logs: Mapping[str, float] | None = None) -> None: ...
    def on_predict_end(self, logs: Mapping[str, float] | None = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None: ...


class CallbackList:
    """Dispatches every event to each callback in order; an event called without logs passes
    `{}`, as Keras's does."""

    def __init__(self, callbacks: Iterable[Callback], model: TrainableModel, params: dict[str, Any],
                 fit_state: FitState | None = None) -> None:
        self.callbacks = list(callbacks)
        fit_state = fit_state or FitState()
        for callback in self.callbacks:
            callback.set_model(model)
            callback.set_params(params)
            setter = getattr(callback, "set_fit_state", None)  # a callback not built on Callback has none
            if callable(setter):
                setter(fit_state)

    def __getattr__(self, event: str) -> Callable[..., None]:
        if not event.startswith("on_"):
            raise AttributeError(event)
        indexed = "epoch" in event or "batch" in event  # (epoch or batch, logs); else (logs)

        def dispatch(*args: Any) -> None:
            if len(args) == int(indexed):
                args = (*args, {})
            for callback in self.callbacks:
                getattr(callback, event)(*args)

        return dispatch


def is_vector(value: Any) -> bool:
    """Whether a log value holds several numbers: a metric whose result is a vector, e.g.
    F1Score(average=None) or TruePositives(thresholds=[0.3, 0.5]), logged as a NumPy array as
    Keras 3 logs it."""
    return isinstance(value, np.ndarray) and value.size != 1


def shown_value(value: Any) -> float:
    """The number a progress line shows for a log value: a vector's mean, as Keras's bar does."""
    return float(np.mean(value)) if is_vector(value) else float(value)


def vector_text(value: Any, digits: int = 4) -> str:
    """A vector log value as text, '[0.4348, 0.3529]'."""
    return "[" + ", ".join(f"{number:.{digits}f}" for number in np.ravel(value)) + "]"


class History(Callback):
    """Records epoch logs: `history.history["val_accuracy"]` is a list, one value per epoch (a
    float, or a NumPy array for a metric whose result is a vector, as in Keras 3)."""

    def __init__(self) -> None:
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(np.array(value) if is_vector(value) else float(value))

    def _repr_html_(self) -> str:
        return history_html(self)


def history_html(history: History) -> str:
    """A small HTML table of a History, one row per epoch (for notebooks)."""
    keys = list(history.history)
    head = "".join(f"<th>{html.escape(key)}</th>" for key in ["epoch", *keys])
    rows = "".join(
        "<tr><td>{}</td>{}</tr>".format(
            epoch + 1, "".join(f"<td>{html_value(history.history[key][i])}</td>" for key in keys))
        for i, epoch in enumerate(history.epoch))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def html_value(value: Any) -> str:
    return vector_text(value) if is_vector(value) else f"{value:.4f}"


class BestValue:
    """The best value a monitored log has taken, as EarlyStopping, ReduceLROnPlateau and
    ModelCheckpoint track it.

    `mode` is "min", "max" or "auto" (max for names with "acc" or ending "auc", else min). A
    value improves on the best when it is better by more than `min_delta`; before any value,
    the best is `baseline` (when given) or the worst possible value.

    >>> best = BestValue("val_accuracy", min_delta=0.01)
    >>> best.update(0.90), best.update(0.905), best.update(0.92)
    (True, False, True)

    Raises:
        ValueError: for a mode other than "auto", "min" or "max".
    """

    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0,
                 baseline: float | None = None) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}.")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or monitor.endswith("auc")) else "min"
        self.monitor, self.mode, self.min_delta, self.baseline = monitor, mode, min_delta, baseline
        self.sign = 1.0 if mode == "max" else -1.0
        self.reset()

    def reset(self) -> None:
        """Forget every value seen: the best is the baseline, or the worst possible value."""
        self.best = self.baseline if self.baseline is not None else -self.sign * math.inf

    def improves(self, current: float) -> bool:
        """Whether `current` beats the best by more than `min_delta`."""
        if self.mode == "max":
            return current - self.min_delta > self.best
        return current + self.min_delta < self.best

    def update(self, current: float) -> bool:
        """Take `current` as the best when it improves on it; whether it did."""
        if not self.improves(current):
            return False
        self.best = current
        return True

    def read(self, logs: Mapping[str, float] | None, owner: str) -> float | None:
        """The monitored value in `logs`; None, with a warning naming `owner`, when it is absent.

        Raises:
            ValueError: naming `owner` and the metric, when its value is a vector (Keras fails
                there comparing arrays).
        """
        if logs is None or self.monitor not in logs:
            warnings.warn(f"{owner}: metric '{self.monitor}' is not in the logs (available: "
                          f"{', '.join(logs or {}) or 'none'}); skipping.", stacklevel=3)
            return None
        value = logs[self.monitor]
        if is_vector(value):
            raise ValueError(f"{owner}: monitor '{self.monitor}' is a vector of {np.size(value)} values "
                             f"({vector_text(value)}), not one number to compare. Monitor a metric with a single "
                             "value, e.g. F1Score(average='macro') or a metric with one threshold.")
        return float(value)


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.tracker = BestValue(monitor, mode, abs(min_delta), baseline)
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.stopped_epoch = 0

    @property
    def best(self) -> float:
        return self.tracker.best

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.wait, self.stopped_epoch = 0, 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.tracker.reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        current = self.tracker.read(logs, "EarlyStopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.tracker.update(current):
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping ({self.monitor} best {self.best:.4f})")


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by `factor` after `patience` epochs without improvement."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0) -> None:
        if not 0 < factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in (0, 1); got {factor}.")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr
        self.tracker = BestValue(monitor, mode, min_delta)

    @property
    def best(self) -> float:
        return self.tracker.best

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.wait, self.cooldown_left = 0, 0
        self.tracker.reset()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = self.model.learning_rate
        current = self.tracker.read(logs, "ReduceLROnPlateau")
        if current is None:
            return
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.wait = 0
        if self.tracker.update(current):
            self.wait = 0
            return
        if self.cooldown_left > 0:
            return
        self.wait += 1
        if self.wait >= self.patience:
            old = self.model.learning_rate
            new = max(old * self.factor, self.min_lr)
            if old - new > 1e-12:
                self.model.learning_rate = new
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new:.4g}.")
            self.cooldown_left, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start from `schedule(epoch, lr)`."""

    def __init__(self, schedule: Callable[[int, float], float], verbose: int = 0) -> None:
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        rate = float(self.schedule(epoch, self.model.learning_rate))
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned {rate!r} for epoch {epoch}; "
                             "it must return a non-negative finite number.")
        self.model.learning_rate = rate
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate:.4g}.")

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = self.model.learning_rate


class OneCycleLR(Callback):
    """One-cycle learning rate, set before every batch: a cosine warm-up from
    `max_learning_rate / div_factor` to `max_learning_rate` over the first `warmup` fraction of
    all steps, then a cosine decay to `max_learning_rate / final_div_factor`.

    With Adam on the seed CNN this trains to a given accuracy in fewer epochs than a constant
    rate (benchmarks/LEVERS.md); the schedule spans the `epochs` passed to `fit`.
    """

    def __init__(self, max_learning_rate: float, warmup: float = 0.3, div_factor: float = 25.0,
                 final_div_factor: float = 1e4) -> None:
        if max_learning_rate <= 0 or not 0 <= warmup < 1:
            raise ValueError(f"OneCycleLR: max_learning_rate must be > 0 and warmup in [0, 1); got "
                             f"{max_learning_rate} and {warmup}.")
        self.peak, self.warmup = float(max_learning_rate), float(warmup)
        self.start, self.end = self.peak / div_factor, self.peak / final_div_factor
        self.epoch = 0

    def rate_at(self, step: int, total: int) -> float:
        """The learning rate for global step `step` of `total`."""
        progress = min(step / max(total - 1, 1), 1.0)
        if progress < self.warmup:
            low, high, fraction = self.start, self.peak, progress / self.warmup
        else:
            low, high = self.end, self.peak
            fraction = 1.0 - (progress - self.warmup) / (1.0 - self.warmup)
        return low + (high - low) * (1 - math.cos(math.pi * fraction)) / 2

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.epoch = epoch

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        steps = self.params["steps"]
        self.model.learning_rate = self.rate_at(self.epoch * steps + batch, self.params["epochs"] * steps)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = self.model.learning_rate


class TerminateOnNaN(Callback):
    """Stop as soon as a batch loss is NaN or infinite (reads the loss every batch)."""

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss {loss}, terminating training")
            self.model.stop_training = True


class CSVLogger(Callback):
    """Append one row per epoch to a CSV file (epoch, then the first epoch's log keys sorted; as in
    Keras 3, when those have no val_ key, a val_ column for each, written NA until validation runs)."""

    main_process_only = True

    def __init__(self, filename: str | os.PathLike[str], separator: str = ",", append: bool = False) -> None:
        self.filename, self.separator, self.append = os.fspath(filename), separator, append
        self.keys: list[str] | None = None

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.keys = None
        if not self.append and os.path.exists(self.filename):
            os.remove(self.filename)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = logs or {}
        new_file = not os.path.exists(self.filename)
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(key.startswith("val_") for key in self.keys):
                # Keras 3 adds val_ columns (NA until a validation runs: none, or validation_freq > 1)
                self.keys += [f"val_{key}" for key in self.keys]
        with open(self.filename, "a", newline="") as handle:
            writer = csv.writer(handle, delimiter=self.separator)
            if new_file:
                writer.writerow(["epoch", *self.keys])
            writer.writerow([epoch, *(csv_value(logs.get(key, "NA")) for key in self.keys)])
            handle.flush()
            os.fsync(handle.fileno())


def csv_value(value: Any) -> Any:
    """A log value as Keras's CSVLogger writes it; a vector as '"[0.43478253, 0.3529411]"'
    (quotes included, so the cell reads back as that text with its quotes, as Keras's does)."""
    return f'"[{", ".join(map(str, np.ravel(value)))}]"' if is_vector(value) else value


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after each epoch, or only when `monitor` improves.

    `filepath` may hold format fields: "ckpt-{epoch:02d}-{val_loss:.3f}".
    """

    main_process_only = True

    def __init__(self, filepath: str | os.PathLike[str], monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str = "epoch", initial_value_threshold: float | None = None) -> None:
        if save_freq != "epoch":
            raise ValueError(f"ModelCheckpoint: only save_freq='epoch' is supported; got {save_freq!r}.")
        self.filepath, self.monitor, self.verbose = os.fspath(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        self.tracker = BestValue(monitor, mode, baseline=initial_value_threshold)  # kept across fits, as Keras does

    @property
    def best(self) -> float:
        return self.tracker.best

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = dict(logs or {})
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only and is_vector(logs.get(self.monitor)):
            warnings.warn(f"ModelCheckpoint: can save the best model only when monitor '{self.monitor}' is one "
                          f"number; it is {vector_text(logs[self.monitor])}. Saving every epoch "
                          "(save_best_only=False), as Keras does.", stacklevel=2)
        elif self.save_best_only:
            current = self.tracker.read(logs, "ModelCheckpoint")
            if current is None:
                return
            previous = self.tracker.best
            if not self.tracker.update(current):
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {previous:.5f} to {current:.5f}, "
                      f"saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
