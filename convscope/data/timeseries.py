"""Keras's `keras.utils.timeseries_dataset_from_array`: sliding windows over a series as a
dataset of batches that `fit`, `evaluate` and `predict` read.

>>> series = np.sin(np.arange(1000) / 20).astype("float32")[:, None]       # (steps, channels)
>>> train = timeseries_dataset_from_array(series[:-10], series[10:], sequence_length=10, batch_size=32)
>>> model.fit(train, epochs=2)            # x batches (32, 10, 1), y batches (32, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convscope.data.pipeline import Dataset, as_tensors


def _positive_integer(name: str, value: Any) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"timeseries_dataset_from_array: `{name}` must be a positive integer; got {value!r}.")
    return int(value)


def _check_bounds(length: int, start_index: int | None, end_index: int | None, sampling_rate: int,
                  sequence_stride: int) -> None:
    """Keras's checks of the index arguments, each error naming its argument."""
    where = "timeseries_dataset_from_array"
    if start_index and start_index < 0:
        raise ValueError(f"{where}: `start_index` must be 0 or greater; got start_index={start_index}.")
    if start_index and start_index >= length:
        raise ValueError(f"{where}: `start_index` must be lower than the length of the data; got "
                         f"start_index={start_index} for data of length {length}.")
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(f"{where}: `end_index` must be higher than `start_index`; got start_index="
                             f"{start_index} and end_index={end_index}.")
        if end_index >= length:
            raise ValueError(f"{where}: `end_index` must be lower than the length of the data; got "
                             f"end_index={end_index} for data of length {length}.")
        if end_index <= 0:
            raise ValueError(f"{where}: `end_index` must be higher than 0; got end_index={end_index}.")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if value >= length:
            raise ValueError(f"{where}: `{name}` must be lower than the length of the data; got {name}="
                             f"{value} for data of length {length}.")


class Windows(Dataset):
    """Window `index` of the current pass: `data[start + step * sampling_rate]` for each step,
    with `targets[start]` when there are targets."""

    def __init__(self, data: np.ndarray, targets: np.ndarray | None, starts: np.ndarray, sequence_length: int,
                 sampling_rate: int, random: np.random.RandomState | None) -> None:
        super().__init__()
        self.data, self.targets, self.starts, self.random = data, targets, starts, random
        self.steps = np.arange(sequence_length) * sampling_rate

    def __len__(self) -> int:
        return len(self.starts)

    def element(self, index: int) -> Any:
        start = int(self.starts[index])
        window = self.data[start + self.steps]
        return as_tensors(window if self.targets is None else (window, self.targets[start]))

    def on_epoch_end(self) -> None:
        if self.random is not None:  # tf.data reshuffles every pass
            self.random.shuffle(self.starts)


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int | None = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> Dataset:
    """A dataset of windows of `sequence_length` steps over `data`, as Keras 3 makes it.

    Window k starts at `start_index + k * sequence_stride` and takes every `sampling_rate`-th
    step; its target is `targets[start_index + k * sequence_stride]` (the target of the window
    that *starts* there). Steps at or after `end_index` are not used.

    Args:
        data: an array whose axis 0 is time, e.g. (steps,) or (steps, channels).
        targets: an array with one target per step of `data`, or None (the dataset then yields
            only windows).
        sequence_length: steps per window.
        sequence_stride: steps between the starts of two windows.
        sampling_rate: steps between two samples within a window.
        batch_size: windows per batch (the last may be smaller); None yields single windows.
        shuffle: draw the windows in a random order (a new one each pass).
        seed: the shuffle's seed; with it the first pass's window order is Keras's
            (NumPy's `RandomState(seed).shuffle` of the start positions). Keras also shuffles
            within a buffer of 8 batches; convscope does not.
        start_index, end_index: the part of `data` to use (end exclusive).

    Returns:
        A `Dataset` of `(windows, targets)` batches, windows (batch, sequence_length, ...) in
        `data`'s dtype; of windows alone when `targets` is None.

    Raises:
        ValueError: naming the argument: a non-positive `sequence_length`, `sequence_stride`,
            `sampling_rate` or `batch_size`, or an index outside the data.
    """
    data = np.asarray(data)
    sequence_length = _positive_integer("sequence_length", sequence_length)
    sequence_stride = _positive_integer("sequence_stride", sequence_stride)
    sampling_rate = _positive_integer("sampling_rate", sampling_rate)
    if batch_size is not None:
        batch_size = _positive_integer("batch_size", batch_size)
    _check_bounds(len(data), start_index, end_index, sampling_rate, sequence_stride)
    start = start_index or 0
    stop = len(data) if end_index is None else end_index
    count = stop - start - (sequence_length - 1) * sampling_rate
    target_array = None if targets is None else np.asarray(targets)[start:stop]
    if target_array is not None:
        count = min(count, len(target_array))
    index_dtype = "int32" if count < 2**31 - 1 else "int64"  # as Keras: the shuffle then draws the same order
    starts = np.arange(0, max(count, 0), sequence_stride, dtype=index_dtype)
    random = None
    if shuffle:
        random = np.random.RandomState(int(np.random.randint(1_000_000)) if seed is None else seed)
        random.shuffle(starts)
    dataset: Dataset = Windows(data[start:stop], target_array, starts, sequence_length, sampling_rate, random)
    return dataset if batch_size is None else dataset.batch(batch_size)
