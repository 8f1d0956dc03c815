"""LambdaCallback, ProgbarLogger and TensorBoard: the rest of Keras's callbacks, with Keras 3's
arguments and behaviour.

    >>> model.fit(x, y, epochs=5, callbacks=[TensorBoard(log_dir="logs/fit", histogram_freq=1)])
    $ tensorboard --logdir logs/fit
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from convscope.engine.callbacks import Callback, is_vector
from convscope.engine.event_files import EventFileWriter
from convscope.engine.progress import ProgressLogger, resolve_verbose

HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
         "on_train_batch_end", "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_batch_end")
ALIASES = {"on_batch_begin": "on_train_batch_begin", "on_batch_end": "on_train_batch_end"}  # Keras 2's names


class LambdaCallback(Callback):
    """A callback made of plain functions, called as Keras calls them:
    on_epoch_begin/on_epoch_end(epoch, logs), on_train_batch_begin/end(batch, logs) (also
    Keras 2's on_batch_begin/on_batch_end), on_train_begin/on_train_end(logs), and the other
    hooks by keyword (on_test_begin=..., ...).

    >>> LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))
    """

    def __init__(self, on_epoch_begin: Callable[..., Any] | None = None,
                 on_epoch_end: Callable[..., Any] | None = None, on_train_begin: Callable[..., Any] | None = None,
                 on_train_end: Callable[..., Any] | None = None,
                 on_train_batch_begin: Callable[..., Any] | None = None,
                 on_train_batch_end: Callable[..., Any] | None = None, **kwargs: Callable[..., Any]) -> None:
        given: dict[str, Callable[..., Any] | None] = {
            "on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
            "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end}
        for name, function in kwargs.items():
            hook = ALIASES.get(name, name)
            if hook not in HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}. Hooks: {', '.join(HOOKS)}, on_batch_begin, "
                                 "on_batch_end.")
            given[hook] = function
        for name, value in given.items():
            if value is not None and not callable(value):
                raise ValueError(f"LambdaCallback: {name} must be a function; got {value!r}.")
        self.functions = {name: value for name, value in given.items() if value is not None}

    def _call(self, hook: str, *args: Any) -> None:
        function = self.functions.get(hook)
        if function is not None:
            function(*args)

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_train_begin", logs)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self._call("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_train_batch_end", batch, logs)

    def on_test_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_test_begin", logs)

    def on_test_end(self, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_test_end", logs)

    def on_test_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_test_batch_end", batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self._call("on_predict_batch_end", batch, logs)


class ProgbarLogger(ProgressLogger):
    """Keras's progress bar callback: prints training progress at the `verbose` level given to
    `fit` (1: a live bar, 2: one line per epoch, 0: nothing).

    >>> ProgbarLogger()
    """

    def __init__(self) -> None:
        super().__init__(verbose=1)

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        self.verbose = resolve_verbose(params.get("verbose", 1), self.stream)


def scalars(logs: Mapping[str, Any]) -> list[tuple[str, float]]:
    """(tag, number) for each log value; a vector value (F1Score(average=None)) gives one scalar
    per entry, tagged "<name>/<index>"."""
    found: list[tuple[str, float]] = []
    for name, value in logs.items():
        if is_vector(value):
            found += [(f"{name}/{index}", float(number)) for index, number in enumerate(np.ravel(value))]
        else:
            found.append((name, float(value)))
    return found


class TensorBoard(Callback):
    """Writes TensorBoard event files: `log_dir/train` gets "epoch_<name>" scalars for the
    training logs and the learning rate each epoch, `log_dir/validation` the validation logs
    under the same names (without "val_") and "evaluation_<name>_vs_iterations" by training step.
    A metric whose result is a vector is written as one scalar per entry, "epoch_<name>/<index>"
    (Keras's TensorBoard cannot write it).

    Args:
        log_dir: where to write ("logs" by default).
        histogram_freq: every how many epochs to write a histogram of each weight (0: never).
        write_graph: accepted for Keras scripts; convscope writes no graph.
        write_steps_per_second: also log "steps_per_second".
        update_freq: "epoch" (default), "batch", or N to write "batch_<name>" scalars every N
            training batches, numbered from the start of `fit`.

    Raises:
        ValueError: for write_images, profile_batch or embeddings_freq (not supported), or an
            unknown update_freq.
    """

    main_process_only = True  # it writes files

    def __init__(self, log_dir: str | os.PathLike[str] = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: str | int = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None) -> None:
        for argument, value in (("write_images", write_images), ("profile_batch", profile_batch),
                                ("embeddings_freq", embeddings_freq), ("embeddings_metadata", embeddings_metadata)):
            if value:
                raise ValueError(f"TensorBoard: {argument}={value!r} is not supported; leave it at its default.")
        if not isinstance(histogram_freq, int) or isinstance(histogram_freq, bool) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an integer >= 0; got {histogram_freq!r}.")
        frequency = 1 if update_freq == "batch" else update_freq
        if frequency != "epoch" and (not isinstance(frequency, int) or isinstance(frequency, bool) or frequency < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer; "
                             f"got {update_freq!r}.")
        self.log_dir, self.histogram_freq, self.write_graph = str(log_dir), histogram_freq, write_graph
        self.write_steps_per_second, self.update_freq = write_steps_per_second, frequency
        self.writers: dict[str, EventFileWriter] = {}
        self.global_batch = 0  # training batches in this fit
        self.iterations = 0  # training batches since the callback was made (Keras's optimizer.iterations)
        self.batch_start = self.epoch_start = 0.0
        self.epoch_first_batch = 0

    def writer(self, kind: str) -> EventFileWriter:
        """The event file of `kind` ("train" or "validation"), made on first use."""
        if kind not in self.writers:
            self.writers[kind] = EventFileWriter(os.path.join(self.log_dir, kind))
        return self.writers[kind]

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.global_batch = 0

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.epoch_start, self.epoch_first_batch = time.perf_counter(), self.global_batch

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self.global_batch += 1
        self.iterations += 1
        self.batch_start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        if self.update_freq == "epoch" or self.global_batch % int(self.update_freq):
            return
        writer = self.writer("train")
        if self.write_steps_per_second:
            seconds = max(time.perf_counter() - self.batch_start, 1e-9)
            writer.add_scalar("batch_steps_per_second", 1.0 / seconds, self.global_batch)
        for name, value in scalars(logs or {}):
            writer.add_scalar(f"batch_{name}", value, self.global_batch)

    def on_test_end(self, logs: Mapping[str, float] | None = None) -> None:
        for name, value in scalars(logs or {}):
            name = name.removeprefix("val_")
            self.writer("validation").add_scalar(f"evaluation_{name}_vs_iterations", value, self.iterations)

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        logs = dict(logs or {})
        train = {name: value for name, value in logs.items() if not name.startswith("val_")}
        learning_rate = self.learning_rate()
        if learning_rate is not None:
            train["learning_rate"] = learning_rate
        if self.write_steps_per_second:
            seconds = max(time.perf_counter() - self.epoch_start, 1e-9)
            train["steps_per_second"] = (self.global_batch - self.epoch_first_batch) / seconds
        for name, value in scalars(train):
            self.writer("train").add_scalar(f"epoch_{name}", value, epoch)
        for name, value in scalars(logs):
            if name.startswith("val_"):
                self.writer("validation").add_scalar(f"epoch_{name[4:]}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self.write_histograms(epoch)

    def learning_rate(self) -> float | None:
        try:
            return float(self.model.learning_rate)
        except (AttributeError, TypeError, ValueError):  # no optimizer: nothing to log
            return None

    def write_histograms(self, epoch: int) -> None:
        """One histogram per weight, tagged "<layer>/<weight>/histogram" as Keras tags them."""
        for layer in getattr(self.model, "layers", []):
            for (name, _, _), values in zip(layer.keras_weights(), layer.get_weights()):
                self.writer("train").add_histogram(f"{layer.name}/{name}/histogram", np.asarray(values), epoch)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        for writer in self.writers.values():
            writer.close()
        self.writers = {}
