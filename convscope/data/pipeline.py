"""A finite dataset with the `tf.data.Dataset` methods tutorials chain: `map`, `cache`,
`shuffle`, `batch`, `unbatch`, `take`, `skip`, `prefetch`.

Every dataset has a length and answers `dataset[index]`, so `fit`, `evaluate` and `predict`
read it as they read a `keras.utils.PyDataset`; `for element in dataset` reads it in order.
Elements are NumPy arrays (or tuples and dicts of them) that also answer tf.Tensor's
`.numpy()`, so `images[0].numpy().astype("uint8")` runs. Work is lazy: `map` runs when an
element is read, `cache` keeps each element the first time it is read.

Differences from tf.data, on purpose: `shuffle` draws a full permutation of the elements
(any `buffer_size`), `prefetch` reads nothing ahead (batches are read in the training thread),
`cache(filename)` keeps elements in memory only.

>>> dataset = Dataset.from_tensor_slices((x_train, y_train)).shuffle(1000, seed=0).batch(32)
>>> model.fit(dataset.prefetch(AUTOTUNE), epochs=2)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

AUTOTUNE = -1  # tf.data.AUTOTUNE: "let the runtime choose"; convscope reads one batch at a time


class NumpyTensor(np.ndarray):
    """A NumPy array that also answers `tf.Tensor.numpy()` (a plain copy-free ndarray)."""

    def numpy(self) -> np.ndarray:
        return np.asarray(self)


def map_leaves(function: Callable[[Any], Any], value: Any) -> Any:
    """`function` applied to each leaf of `value`: an element or batch, or a tuple or dict of
    them (nested), with its structure kept."""
    if isinstance(value, tuple):
        return tuple(map_leaves(function, item) for item in value)
    if isinstance(value, dict):
        return {key: map_leaves(function, item) for key, item in value.items()}
    return function(value)


def as_tensors(value: Any) -> Any:
    """Arrays and NumPy scalars in `value` (a tuple or dict of them) as `NumpyTensor`s."""
    return map_leaves(lambda leaf: np.asarray(leaf).view(NumpyTensor) if isinstance(leaf, (np.ndarray, np.generic))
                      else leaf, value)


def stack(elements: list[Any]) -> Any:
    """Elements of the same structure stacked along a new first axis, structure kept."""
    first = elements[0]
    if isinstance(first, tuple):
        return tuple(stack([element[k] for element in elements]) for k in range(len(first)))
    if isinstance(first, dict):
        return {key: stack([element[key] for element in elements]) for key in first}
    return np.stack([np.asarray(element) for element in elements])


def count_of(value: Any) -> int:
    """The number of rows of a batch (of its first array)."""
    while isinstance(value, (tuple, dict)):
        value = value[0] if isinstance(value, tuple) else next(iter(value.values()))
    return len(value)


def row(value: Any, index: int) -> Any:
    """Row `index` of every array in a batch, structure kept."""
    return map_leaves(lambda array: array[index], value)


class Dataset:
    """A finite sequence of elements; build one with `from_tensor_slices` or
    `convscope.keras.utils.image_dataset_from_directory`, then chain methods."""

    class_names: list[str] | None  # set by image_dataset_from_directory
    file_paths: list[str]

    def __init__(self, parent: Dataset | None = None) -> None:
        self.parent = parent
        if parent is not None and hasattr(parent, "class_names"):
            self.class_names = parent.class_names  # tf.data drops it; keeping it costs nothing

    # -- what a subclass defines
    def __len__(self) -> int:
        raise NotImplementedError

    def element(self, index: int) -> Any:
        """Element `index` (0 <= index < len(self)) of the current pass."""
        raise NotImplementedError

    # -- reading
    def __getitem__(self, index: int) -> Any:
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__}: element {index!r} asked for; the dataset has {len(self)}.")
        return self.element(int(index))

    def __iter__(self) -> Iterator[Any]:
        """One pass in order; the next pass reshuffles what `shuffle` shuffles."""
        try:
            for index in range(len(self)):
                yield self.element(index)
        finally:
            self.on_epoch_end()

    def on_epoch_end(self) -> None:
        """Start a new pass: `shuffle` draws its next order (called by `fit` after each epoch)."""
        if self.parent is not None:
            self.parent.on_epoch_end()

    def as_numpy_iterator(self) -> Iterator[Any]:
        """The elements as plain NumPy arrays."""
        for element in self:
            yield map_leaves(lambda leaf: np.asarray(leaf) if isinstance(leaf, np.ndarray) else leaf,
                             element)  # a NumpyTensor as an ndarray

    def cardinality(self) -> int:
        """The number of elements (tf.data's `cardinality()`)."""
        return len(self)

    # -- chaining
    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """One element per row of `tensors` (an array, or a tuple or dict of equally long arrays)."""
        return TensorSlices(tensors)

    def map(self, map_func: Callable[..., Any], num_parallel_calls: int | None = None,
            deterministic: bool | None = None) -> Dataset:
        """`map_func(*element)` for tuple elements, `map_func(element)` otherwise, run on reading."""
        return Mapped(self, map_func)

    def cache(self, filename: str = "") -> Dataset:
        """Keep each element the first time it is read (in memory; `filename` is not used)."""
        return Cached(self)

    def shuffle(self, buffer_size: int, seed: int | None = None, reshuffle_each_iteration: bool = True) -> Dataset:
        """The elements in a random order, redrawn each pass unless `reshuffle_each_iteration=False`."""
        return Shuffled(self, seed, reshuffle_each_iteration)

    def batch(self, batch_size: int, drop_remainder: bool = False, num_parallel_calls: int | None = None,
              deterministic: bool | None = None) -> Dataset:
        """Consecutive elements stacked `batch_size` at a time (the last batch may be smaller)."""
        return Batched(self, batch_size, drop_remainder)

    def unbatch(self) -> Dataset:
        """Each row of each batch as an element (reads every batch once to count rows)."""
        return Unbatched(self)

    def take(self, count: int) -> Dataset:
        """The first `count` elements (all of them when `count` is -1)."""
        return Window(self, 0, len(self) if count == -1 else min(int(count), len(self)))

    def skip(self, count: int) -> Dataset:
        """All but the first `count` elements."""
        return Window(self, min(int(count), len(self)), len(self))

    def prefetch(self, buffer_size: int | None = None) -> Dataset:
        """The same dataset: convscope reads batches as they are needed."""
        return self


class TensorSlices(Dataset):
    def __init__(self, tensors: Any) -> None:
        super().__init__()
        self.tensors = map_leaves(np.asarray, tensors)
        lengths = {len(array) for array in _leaves(self.tensors)}
        if len(lengths) != 1:
            raise ValueError(f"from_tensor_slices: all arrays must have the same length; got lengths {sorted(lengths)}.")
        self.length = lengths.pop()

    def __len__(self) -> int:
        return self.length

    def element(self, index: int) -> Any:
        return as_tensors(row(self.tensors, index))


class Mapped(Dataset):
    def __init__(self, parent: Dataset, map_func: Callable[..., Any]) -> None:
        super().__init__(parent)
        self.source, self.map_func = parent, map_func

    def __len__(self) -> int:
        return len(self.source)

    def element(self, index: int) -> Any:
        value = self.source.element(index)
        return self.map_func(*value) if isinstance(value, tuple) else self.map_func(value)


class Cached(Dataset):
    def __init__(self, parent: Dataset) -> None:
        super().__init__(parent)
        self.source = parent
        self.kept: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.source)

    def element(self, index: int) -> Any:
        if index not in self.kept:
            self.kept[index] = self.source.element(index)
        return self.kept[index]


class Shuffled(Dataset):
    def __init__(self, parent: Dataset, seed: int | None, reshuffle: bool) -> None:
        super().__init__(parent)
        self.source, self.reshuffle = parent, reshuffle
        # unseeded: drawn from NumPy's global state, so keras.utils.set_random_seed fixes it
        self.random = np.random.default_rng(seed if seed is not None else int(np.random.randint(2**31)))
        self.order = self.random.permutation(len(parent))

    def __len__(self) -> int:
        return len(self.source)

    def element(self, index: int) -> Any:
        return self.source.element(int(self.order[index]))

    def on_epoch_end(self) -> None:
        if self.reshuffle:
            self.order = self.random.permutation(len(self.source))
        super().on_epoch_end()


class Batched(Dataset):
    def __init__(self, parent: Dataset, batch_size: int, drop_remainder: bool) -> None:
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch: batch_size must be a positive integer; got {batch_size!r}.")
        super().__init__(parent)
        self.source, self.batch_size, self.drop_remainder = parent, int(batch_size), drop_remainder

    def __len__(self) -> int:
        whole, rest = divmod(len(self.source), self.batch_size)
        return whole + int(bool(rest) and not self.drop_remainder)

    def element(self, index: int) -> Any:
        stop = min((index + 1) * self.batch_size, len(self.source))
        return as_tensors(stack([self.source.element(i) for i in range(index * self.batch_size, stop)]))


class Unbatched(Dataset):
    def __init__(self, parent: Dataset) -> None:
        super().__init__(parent)
        self.source = parent
        self.known_offsets: np.ndarray | None = None

    @property
    def offsets(self) -> np.ndarray:
        """Where each batch starts, then the total (every batch is read once, on first use)."""
        if self.known_offsets is None:
            sizes = [count_of(self.source.element(i)) for i in range(len(self.source))]
            self.known_offsets = np.cumsum([0, *sizes])
        return self.known_offsets

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def element(self, index: int) -> Any:
        batch = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return row(self.source.element(batch), index - int(self.offsets[batch]))


class Window(Dataset):
    def __init__(self, parent: Dataset, start: int, stop: int) -> None:
        super().__init__(parent)
        self.source, self.start, self.stop = parent, start, max(start, stop)

    def __len__(self) -> int:
        return self.stop - self.start

    def element(self, index: int) -> Any:
        return self.source.element(self.start + index)


class Elements(Dataset):
    """Elements made by `read(index)` for index in range(length) (e.g. images read from files)."""

    def __init__(self, length: int, read: Callable[[int], Any]) -> None:
        super().__init__()
        self.length, self.read = length, read

    def __len__(self) -> int:
        return self.length

    def element(self, index: int) -> Any:
        return self.read(index)


def _leaves(value: Any) -> list[np.ndarray]:
    if isinstance(value, tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    return [value]
