"""Batches that come from Python: a `PyDataset`/`Sequence` (or any object with `__len__` and
`__getitem__`), or a generator/iterator, as Keras 3 accepts them.

Arrays keep their fast path (`engine/arrays.py`, one tensor on the device); a data source is
read one batch at a time, and each batch gets the same checks as arrays (input shapes,
finiteness, labels through the loss's `prepare_targets`, sample weights), named by its batch
index. A batch is (x, y) or (x, y, sample_weight), x and y lists or dicts for a model with
several inputs or outputs.
"""

from __future__ import annotations

import collections.abc
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from convscope.engine import arrays

if TYPE_CHECKING:
    from convscope.engine.compiled import Compiled
    from convscope.engine.protocol import TrainableModel


def is_indexed(value: Any) -> bool:
    """A Sequence/PyDataset, or any object with `__len__` and `__getitem__` that is not array-like."""
    if isinstance(value, (np.ndarray, torch.Tensor, list, tuple, str, bytes, dict)) or hasattr(value, "__array__"):
        return False
    return hasattr(value, "__len__") and hasattr(value, "__getitem__")


def is_source(value: Any) -> bool:
    return is_indexed(value) or isinstance(value, collections.abc.Iterator)


def kind(value: Any) -> str:
    return "PyDataset" if is_indexed(value) else "generator"


def refuse_y(value: Any, y: Any, argument: str = "y") -> None:
    if y is not None:
        source = kind(value)
        what = "sample weights" if argument == "sample_weight" else "targets"
        raise ValueError(f"When providing `x` as a {source}, `{argument}` should not be passed. Instead, the "
                         f"{what} should be included as part of the {source}: each batch is (x_batch, y_batch"
                         f"{', sample_weight_batch' if argument == 'sample_weight' else ''}).")


class DataSource:
    """One pass over a data source per epoch, yielding `(batch_index, raw_batch)`.

    `steps` is the number of batches per epoch: `len(source)` (or fewer, when `steps` is
    given) for a Sequence; `steps` for an iterator, or None (run until exhausted).
    """

    def __init__(self, value: Any, steps: int | None, argument: str = "x") -> None:
        if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps <= 0):
            raise ValueError(f"steps for {argument} must be a positive integer or None; got {steps!r}.")
        self.value, self.argument = value, argument
        self.indexed = is_indexed(value)
        self.steps = min(steps, len(value)) if self.indexed and steps is not None else \
            len(value) if self.indexed else steps
        self.short = False

    def batches(self, shuffle: bool = False) -> Iterator[tuple[int, Any]]:
        """This epoch's batches; a Sequence's order is shuffled when `shuffle` (as Keras does)."""
        self.short = False
        if not self.indexed:
            taken = self.value if self.steps is None else itertools.islice(self.value, self.steps)
            count = 0
            for count, batch in enumerate(taken, start=1):
                yield count - 1, batch
            self.short = count == 0 if self.steps is None else count < self.steps
            return
        begin = getattr(self.value, "on_epoch_begin", None)
        if callable(begin):
            begin()
        steps = self.steps or 0
        order = torch.randperm(len(self.value)).tolist()[:steps] if shuffle else range(steps)
        for index in order:
            yield index, self.value[index]

    def ran_out(self) -> bool:
        """Whether the last pass ended because a generator had no batch left."""
        return self.short

    def epoch_end(self) -> None:
        """A Sequence's `on_epoch_end()`, called after every pass (training, validation,
        evaluate and predict), as Keras does."""
        callback = getattr(self.value, "on_epoch_end", None)
        if self.indexed and callable(callback):
            callback()


def unpack(batch: Any, index: int, argument: str, need_y: bool) -> tuple[Any, Any, Any]:
    """(x_batch, y_batch or None, sample weights or None) from one batch: a tuple (x, y) or
    (x, y, sample_weight) as Keras takes them, or x alone where no targets are needed."""
    if not isinstance(batch, tuple):
        if need_y:
            raise ValueError(f"batch {index} of {argument} must be a tuple (x_batch, y_batch); got "
                             f"{type(batch).__name__}.")
        return batch, None, None
    if len(batch) not in (1, 2, 3) or (need_y and (len(batch) < 2 or batch[1] is None)):
        raise ValueError(f"batch {index} of {argument} must be (x_batch, y_batch) or (x_batch, y_batch, "
                         f"sample_weight); got a tuple of {len(batch)} items.")
    return batch[0], batch[1] if len(batch) > 1 else None, batch[2] if len(batch) > 2 else None


def prepare_batch(model: TrainableModel, compiled: Compiled, batch: Any, index: int,
                  argument: str = "x", class_weight: Any = None) -> arrays.Prepared:
    """One (x, y[, sample_weight]) batch as device tensors, checked as arrays are."""
    x, y, sample_weight = unpack(batch, index, argument, need_y=True)
    where = f"batch {index} of {argument}"
    try:
        return arrays.prepare_xy(model, compiled, x, y, names=(f"x of {where}", f"y of {where}",
                                                               f"sample_weight of {where}"),
                                 sample_weight=sample_weight, class_weight=class_weight)
    except ValueError as error:
        raise named(error, index, argument) from error


def prepare_batch_x(model: TrainableModel, batch: Any, index: int, argument: str = "x") -> arrays.Data:
    x, _, _ = unpack(batch, index, argument, need_y=False)
    try:
        return arrays.prepare_x(model, x, f"x of batch {index} of {argument}")
    except ValueError as error:
        raise named(error, index, argument) from error


def named(error: ValueError, index: int, argument: str) -> ValueError:
    """The error with the batch it came from, where the message does not already say."""
    message = str(error)
    return error if f"batch {index} of" in message else ValueError(f"batch {index} of {argument}: {message}")


def source_for_fit(x: Any, y: Any, steps_per_epoch: int | None, validation_split: float,
                   sample_weight: Any = None) -> DataSource:
    refuse_y(x, y)
    refuse_y(x, sample_weight, "sample_weight")
    if validation_split:
        raise ValueError(f"validation_split is only supported for arrays; got x as a {kind(x)}. Pass "
                         "validation_data= (arrays, a PyDataset or a generator) instead.")
    return DataSource(x, steps_per_epoch)


def refuse_for_source(resume_step: int, distributed: bool) -> None:
    """What array input alone supports: resuming mid-epoch, and splitting batches across ranks."""
    if distributed:
        raise ValueError("distributed training needs array input (x, y), which convscope splits across the "
                         "ranks; a PyDataset or generator cannot be split. Pass arrays.")
    if resume_step:
        raise ValueError(f"the restored checkpoint stopped mid-epoch (step {resume_step}); resuming mid-epoch "
                         "needs array input (x, y). With a PyDataset or generator, checkpoint at epoch ends "
                         "(Checkpointer without every_steps) or resume from an epoch-end checkpoint.")
