"""Preparing arrays for a network: one-hot labels, scaling, channel axis, validation split."""

from __future__ import annotations

from typing import Literal

import numpy as np


def to_categorical(y: np.ndarray | list[int], num_classes: int | None = None,
                   dtype: str | np.dtype = "float32") -> np.ndarray:
    """One-hot encode integer labels, as Keras does.

    Args:
        y: integer labels of any shape; a trailing axis of size 1 is dropped, so (N, 1) -> (N, C).
        num_classes: number of classes; default ``max(y) + 1``.
        dtype: dtype of the result.

    Returns:
        ``y.shape + (num_classes,)`` array with a 1 at each label.

    Raises:
        ValueError: non-integer or negative labels, or a label >= `num_classes`.

    Example:
        >>> to_categorical([0, 2], 3)
        array([[1., 0., 0.],
               [0., 0., 1.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.mod(labels, 1) == 0):
            raise ValueError(f"to_categorical: labels must be integers; got dtype {labels.dtype} "
                             f"with values such as {labels.ravel()[:3].tolist()}.")
        labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"to_categorical: labels must be >= 0; got {labels.min()}.")
    largest = int(labels.max()) if labels.size else -1
    if num_classes is None:
        num_classes = largest + 1
    elif largest >= num_classes:
        raise ValueError(f"to_categorical: label {largest} does not fit num_classes={num_classes}; "
                         f"pass num_classes={largest + 1} or more.")
    one_hot = np.zeros((labels.size, num_classes), dtype=dtype)
    one_hot[np.arange(labels.size), labels.ravel()] = 1
    return one_hot.reshape(*labels.shape, num_classes)


def normalize(x: np.ndarray, method: Literal["unit", "standardize"] = "unit", *,
              mean: float | np.ndarray | None = None, std: float | np.ndarray | None = None,
              dtype: str | np.dtype = "float32") -> np.ndarray:
    """Scale an array to [0, 1] or to zero mean and unit variance.

    Args:
        x: any shape. ``"unit"`` divides integer images by their dtype's maximum (uint8 -> /255)
            and min-max scales float arrays.
        method: ``"unit"`` or ``"standardize"``.
        mean, std: for ``"standardize"``, statistics to use (pass the training set's for the
            test set); computed from `x` when omitted.

    Returns:
        A new float array of `x`'s shape.

    Example:
        >>> normalize(np.array([0, 255], dtype=np.uint8))
        array([0., 1.], dtype=float32)
    """
    values = np.asarray(x)
    if method == "unit":
        if np.issubdtype(values.dtype, np.integer):
            return values.astype(dtype) / np.asarray(np.iinfo(values.dtype).max, dtype=dtype)
        low, high = float(values.min()), float(values.max())
        return ((values - low) / (high - low if high > low else 1.0)).astype(dtype)
    if method == "standardize":
        values = values.astype(dtype)
        mean = values.mean() if mean is None else mean
        std = values.std() if std is None else std
        return ((values - mean) / np.where(np.asarray(std) > 0, std, 1.0)).astype(dtype)
    raise ValueError(f"normalize: method must be 'unit' or 'standardize'; got {method!r}.")


def add_channel_axis(x: np.ndarray, sample_ndim: int | None = None) -> np.ndarray:
    """Append a channel axis of size 1: (N, H, W) -> (N, H, W, 1), (N, L) -> (N, L, 1).

    Args:
        x: a batch of grayscale images or 1D signals.
        sample_ndim: the number of axes of one sample *without* channels (2 for images, 1 for
            signals). When given and `x` already has ``sample_ndim + 2`` axes, `x` is returned.
    """
    values = np.asarray(x)
    if sample_ndim is not None and values.ndim == sample_ndim + 2:
        return values
    if values.ndim < 2:
        raise ValueError(f"add_channel_axis: expected a batch (N, H, W) or (N, L); got shape "
                         f"{values.shape}. Add a batch axis first: x[np.newaxis].")
    return values[..., np.newaxis]


def remove_channel_axis(x: np.ndarray) -> np.ndarray:
    """Drop a trailing channel axis of size 1: (N, H, W, 1) -> (N, H, W)."""
    values = np.asarray(x)
    if values.ndim < 3 or values.shape[-1] != 1:
        raise ValueError(f"remove_channel_axis: expected a trailing axis of size 1; got shape {values.shape}.")
    return values[..., 0]


def train_validation_split(
    x: np.ndarray, y: np.ndarray, validation_fraction: float = 0.1, *,
    stratify: bool = False, seed: int | None = 0, shuffle: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split arrays into ``(x_train, y_train), (x_val, y_val)``.

    Args:
        x: (N, ...) samples; y: (N,) integer labels (or (N, C) one-hot when not stratified).
        validation_fraction: share of samples held out, in (0, 1).
        stratify: keep each class's share equal in both parts (rounded per class).
        seed: seed of the shuffle; the split is reproducible for a given seed.
        shuffle: when False and not stratified, the last samples are held out (as Keras'
            ``validation_split`` does).

    Raises:
        ValueError: different lengths, or a fraction outside (0, 1).
    """
    if len(x) != len(y):
        raise ValueError(f"train_validation_split: x has {len(x)} samples but y has {len(y)}; "
                         "they must match.")
    if not 0.0 < validation_fraction < 1.0:
        raise ValueError(f"train_validation_split: validation_fraction must be in (0, 1); got {validation_fraction}.")
    rng = np.random.default_rng(seed)
    if stratify:
        labels = np.asarray(y)
        held_out = []
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            held_out.append(members[: int(round(len(members) * validation_fraction))])
        validation = np.sort(np.concatenate(held_out))
        train = np.setdiff1d(np.arange(len(labels)), validation)
        validation, train = rng.permutation(validation), rng.permutation(train)
    else:
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        cut = len(x) - int(round(len(x) * validation_fraction))
        train, validation = order[:cut], order[cut:]
    return (x[train], y[train]), (x[validation], y[validation])
