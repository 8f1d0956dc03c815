"""Keras's `keras.utils.split_dataset`: one dataset (arrays, a tuple of arrays or a convscope
`Dataset`) as two, e.g. training and validation.

>>> train, validation = split_dataset((x, y), left_size=0.8, shuffle=True, seed=0)
>>> model.fit(train.batch(32), validation_data=validation.batch(32), epochs=2)
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from convscope.data.pipeline import Batched, Dataset, TensorSlices, map_leaves, stack


def _samples(dataset: Any) -> tuple[list[Any], int | None]:
    """Every sample of `dataset`, read once, and the batch size to give the splits (a batched
    `Dataset` is split by samples and each split batched the same way)."""
    if isinstance(dataset, (list, tuple)):
        if not dataset:
            raise ValueError(f"split_dataset: `dataset` is an empty {type(dataset).__name__}; give arrays of "
                             "equal length.")
        for index, array in enumerate(dataset):
            if not isinstance(array, np.ndarray):
                raise ValueError(f"split_dataset: `dataset` must hold NumPy arrays; element {index} is a "
                                 f"{type(array).__name__}.")
            if len(array) != len(dataset[0]):
                raise ValueError(f"split_dataset: the arrays of `dataset` must have the same length; array "
                                 f"{index} has {len(array)} rows, array 0 has {len(dataset[0])}.")
        return list(zip(*dataset)), None
    if isinstance(dataset, np.ndarray):
        return list(dataset), None
    if isinstance(dataset, Dataset):
        batch_size = dataset.batch_size if isinstance(dataset, Batched) else None
        source = dataset.unbatch() if batch_size is not None else dataset
        return list(source.as_numpy_iterator()), batch_size
    raise TypeError(f"split_dataset: `dataset` must be a NumPy array, a list or tuple of arrays, or a convscope "
                    f"Dataset; got {type(dataset).__name__}.")


def _check_size(name: str, size: Any, total: int) -> None:
    if size is not None and type(size) not in (int, float):
        raise TypeError(f"split_dataset: `{name}` must be an int, a float or None; got {type(size).__name__}.")
    if (type(size) is int and not 0 < size < total) or (type(size) is float and not 0 < size < 1):
        raise ValueError(f"split_dataset: `{name}` must be a positive integer smaller than {total} (the dataset's "
                         f"length) or a float in (0, 1); got {name}={size}.")


def split_sizes(left_size: int | float | None, right_size: int | float | None, total: int) -> tuple[int, int]:
    """The number of samples on each side, computed as Keras computes it (fractions rounded)."""
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: give `left_size` or `right_size` (or both); both are None.")
    _check_size("left_size", left_size, total)
    _check_size("right_size", right_size, total)
    if type(left_size) is float and type(right_size) is float and left_size + right_size > 1:
        raise ValueError(f"split_dataset: `left_size` + `right_size` is {left_size + right_size}; it must be at "
                         "most 1.")
    left = round(left_size * total) if type(left_size) is float else left_size
    right = round(right_size * total) if type(right_size) is float else right_size
    left = total - right if left is None else left  # type: ignore[operator]
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"split_dataset: `left_size` + `right_size` is {left + right} samples; the dataset has "
                         f"{total}.")
    for side, size in (("left", left), ("right", right)):
        if size == 0:
            raise ValueError(f"split_dataset: with a dataset of {total} samples, left_size={left_size} and "
                             f"right_size={right_size} leave the {side} split empty. Change one of them.")
    return int(left), int(right)


def _as_dataset(samples: list[Any], batch_size: int | None) -> Dataset:
    arrays = map_leaves(np.asarray, stack(samples))
    dataset = TensorSlices(arrays)
    return dataset if batch_size is None else dataset.batch(batch_size)


def split_dataset(dataset: Any, left_size: int | float | None = None, right_size: int | float | None = None,
                  shuffle: bool = False, seed: int | None = None) -> tuple[Dataset, Dataset]:
    """The first `left_size` and the last `right_size` samples of `dataset`, as two datasets.

    Args:
        dataset: a NumPy array, a list or tuple of equally long arrays (e.g. `(x, y)`), or a
            convscope `Dataset`; a batched one is split by samples and both splits are batched
            with the same batch size.
        left_size, right_size: a number of samples (int) or a fraction in (0, 1) (float); a
            missing one is the rest of the dataset.
        shuffle: shuffle the samples before splitting (Python's `random.Random(seed).shuffle`,
            as Keras does, so a seed gives Keras's split).
        seed: the shuffle's seed.

    Returns:
        `(left, right)`: two `Dataset`s of the samples (tuples of arrays for a tuple `dataset`).

    Raises:
        ValueError: both sizes None, a size out of range, sizes adding up to more than the
            dataset, an empty split, or arrays of different lengths.
        TypeError: `dataset` or a size of an unsupported type.
    """
    samples, batch_size = _samples(dataset)
    if left_size is None and right_size is None:
        raise ValueError("split_dataset: give `left_size` or `right_size` (or both); both are None.")
    if not samples:
        raise ValueError("split_dataset: `dataset` is empty.")
    if shuffle:
        order = random.Random(random.randint(0, int(1e6)) if seed is None else seed)
        order.shuffle(samples)
    left, right = split_sizes(left_size, right_size, len(samples))
    return _as_dataset(samples[:left], batch_size), _as_dataset(samples[-right:], batch_size)
