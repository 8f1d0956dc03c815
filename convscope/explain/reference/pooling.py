"""Reference max and average pooling over 1 or 2 spatial axes; pure NumPy, channels-last."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convscope.explain.reference.arithmetic import (
    IntOrPair,
    Padding,
    as_tuple,
    resolve_padding,
    sliding_windows,
    with_channels,
)


def _pool(
    x: np.ndarray, pool_size: IntOrPair, strides: IntOrPair | None, padding: Padding,
    rank: int, reduce: str, op: str, layout: str,
) -> np.ndarray:
    """Shared body of the pooling functions; padded cells never count."""
    x, has_channels = with_channels(x, rank, op, layout)
    size = as_tuple(pool_size, rank, "pool_size", op)
    steps = size if strides is None else as_tuple(strides, rank, "strides", op)
    pads = resolve_padding(padding, x.shape[:rank], size, steps, (1,) * rank, op)
    if any(p >= k for pair, k in zip(pads, size, strict=True) for p in pair):
        raise ValueError(f"{op}: padding {pads} would make windows of padding only "
                         f"(pool_size {size}). Fix: use padding below the pool size or 'same'.")
    kernel_axes = tuple(range(-rank, 0))
    if reduce == "max":  # -inf padding never wins a max
        padded = np.pad(x, [*pads, (0, 0)], constant_values=-np.inf)
        out = sliding_windows(padded, size, steps, op).max(axis=kernel_axes)
    else:  # average over the real cells only: sum of values / count of real cells
        total = sliding_windows(np.pad(x, [*pads, (0, 0)]), size, steps, op).sum(axis=kernel_axes)
        real = np.pad(np.ones_like(x), [*pads, (0, 0)])
        out = total / sliding_windows(real, size, steps, op).sum(axis=kernel_axes)
    return out if has_channels else out[..., 0]


def max_pool2d(x: np.ndarray, pool_size: IntOrPair = 2, strides: IntOrPair | None = None,
               padding: Padding = "valid") -> np.ndarray:
    """2-D max pooling: the largest value in each window.

    Args:
        x: (H, W) or (H, W, C). pool_size, strides: int or pair (strides default to pool_size).
        padding: "valid" or "same" (Keras; padded cells never win).

    Returns:
        (H', W') or (H', W', C).

    >>> max_pool2d(np.array([[2, 0], [3, 5]]))
    array([[5.]])
    """
    return _pool(x, pool_size, strides, padding, 2, "max", "max_pool2d", "(H, W) or (H, W, C)")


def avg_pool2d(x: np.ndarray, pool_size: IntOrPair = 2, strides: IntOrPair | None = None,
               padding: Padding = "valid") -> np.ndarray:
    """2-D average pooling: the mean of each window's real (non-padded) cells.

    Shapes as `max_pool2d`.

    >>> avg_pool2d(np.array([[2, 0], [3, 5]]))
    array([[2.5]])
    """
    return _pool(x, pool_size, strides, padding, 2, "avg", "avg_pool2d", "(H, W) or (H, W, C)")


def max_pool1d(x: np.ndarray, pool_size: int | Sequence[int] = 2,
               strides: int | Sequence[int] | None = None, padding: Padding = "valid") -> np.ndarray:
    """1-D max pooling of x (L,) or (L, C); returns (L',) or (L', C).

    >>> max_pool1d(np.array([1, 3, 2, 0, 5]))
    array([3., 2.])
    """
    return _pool(x, pool_size, strides, padding, 1, "max", "max_pool1d", "(L,) or (L, C)")


def avg_pool1d(x: np.ndarray, pool_size: int | Sequence[int] = 2,
               strides: int | Sequence[int] | None = None, padding: Padding = "valid") -> np.ndarray:
    """1-D average pooling of x (L,) or (L, C); returns (L',) or (L', C).

    >>> avg_pool1d(np.array([1, 3, 2, 0, 5]), padding="same")
    array([2., 1., 5.])
    """
    return _pool(x, pool_size, strides, padding, 1, "avg", "avg_pool1d", "(L,) or (L, C)")


def _pool_rank(x: np.ndarray, pool_size: IntOrPair, op: str) -> int:
    """Spatial rank of a generic pooling call: len(pool_size), or 2 (1 for a 1-D x) for an int."""
    if not isinstance(pool_size, (int, np.integer)):
        rank = len(tuple(pool_size))
    else:
        rank = 1 if np.ndim(x) == 1 else 2
    if rank not in (1, 2):
        raise ValueError(f"{op}: pool_size must have 1 or 2 entries; got {pool_size!r}.")
    return rank


def max_pool(x: np.ndarray, pool_size: IntOrPair = 2, strides: IntOrPair | None = None,
             padding: Padding = "valid") -> np.ndarray:
    """Max pooling over 1 or 2 spatial axes.

    The number of spatial axes is len(pool_size) for a tuple; an int pool_size means 2-D
    (x is (H, W) or (H, W, C)) unless x is 1-D (L,). For a (L, C) signal pass pool_size=(2,)
    or call `max_pool1d`.

    >>> max_pool(np.arange(16.0).reshape(4, 4))
    array([[ 5.,  7.],
           [13., 15.]])
    """
    if _pool_rank(x, pool_size, "max_pool") == 1:
        return max_pool1d(x, pool_size, strides, padding)
    return max_pool2d(x, pool_size, strides, padding)


def avg_pool(x: np.ndarray, pool_size: IntOrPair = 2, strides: IntOrPair | None = None,
             padding: Padding = "valid") -> np.ndarray:
    """Average pooling over 1 or 2 spatial axes; the rank rule is that of `max_pool`.

    >>> avg_pool(np.arange(16.0).reshape(4, 4))
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    if _pool_rank(x, pool_size, "avg_pool") == 1:
        return avg_pool1d(x, pool_size, strides, padding)
    return avg_pool2d(x, pool_size, strides, padding)
