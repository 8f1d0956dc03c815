"""Output sizes, padding and the windows a convolution or pooling slides over (pure NumPy).

The output-size formula and "same" padding's rule are in the package text
(`convscope.explain.reference`). Arrays are channels-last: (*spatial, C).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

IntOrPair = int | Sequence[int]
Padding = str | int | Sequence[int | Sequence[int]]
Mode = Literal["correlation", "convolution"]


def same_padding(n: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Cells added (before, after) along one axis by "same" padding, as TensorFlow/Keras do.

    >>> same_padding(28, 3)
    (1, 1)
    >>> same_padding(5, 2, stride=2)   # out = ceil(5 / 2) = 3; one extra cell at the end
    (0, 1)
    """
    out = -(-n // stride)  # ceil(n / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - n, 0)
    return total // 2, total - total // 2


def output_size(
    n: int,
    kernel: int,
    stride: int = 1,
    padding: str | int | Sequence[int] = 0,
    dilation: int = 1,
) -> int:
    """Length of a conv or pooling output along one axis.

    Args:
        n: input length along the axis.
        kernel: kernel (or pool window) length.
        stride: step between windows.
        padding: cells added on *each* side (int), a (before, after) pair, or "valid" (0),
            "same" (out = ceil(n / stride)), "causal" ((kernel - 1) * dilation before).
        dilation: spacing between kernel taps.

    Returns:
        floor((n + before + after - dilation*(kernel - 1) - 1) / stride) + 1.

    Raises:
        ValueError: for non-positive sizes or an unknown padding.

    >>> output_size(28, 3), output_size(26, 2, stride=2), output_size(32, 5)
    (26, 13, 28)
    """
    for label, value, least in (("n", n, 0), ("kernel", kernel, 1), ("stride", stride, 1),
                                ("dilation", dilation, 1)):
        if int(value) != value or value < least:
            raise ValueError(f"output_size: {label} must be an integer >= {least}; got {value!r}.")
    before, after = axis_padding(padding, n, kernel, stride, dilation, "output_size")
    return (n + before + after - dilation * (kernel - 1) - 1) // stride + 1


def as_tuple(value: IntOrPair, rank: int, name: str, op: str) -> tuple[int, ...]:
    """An int or a sequence of `rank` positive ints, as a tuple."""
    values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != rank or any(int(v) != v or v < 1 for v in values):
        raise ValueError(
            f"{op}: {name} must be a positive int or {rank} positive ints; got {value!r}. "
            f"Fix: pass e.g. {name}=1 or {name}={(1,) * rank}."
        )
    return tuple(int(v) for v in values)


def axis_padding(
    padding: str | int | Sequence[int], n: int, kernel: int, stride: int, dilation: int, op: str
) -> tuple[int, int]:
    """(before, after) padding of one axis."""
    if isinstance(padding, str):
        name = padding.lower()
        if name == "valid":
            return 0, 0
        if name == "same":
            return same_padding(n, kernel, stride, dilation)
        if name == "causal":
            return (kernel - 1) * dilation, 0
        raise ValueError(
            f"{op}: padding must be 'valid', 'same', 'causal', an int or (before, after); "
            f"got {padding!r}."
        )
    pair = (padding, padding) if isinstance(padding, (int, np.integer)) else tuple(padding)
    if len(pair) != 2 or any(int(p) != p or p < 0 for p in pair):
        raise ValueError(f"{op}: padding must be non-negative ints; got {padding!r}.")
    return int(pair[0]), int(pair[1])


def resolve_padding(
    padding: Padding,
    spatial_shape: Sequence[int],
    kernel: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    op: str = "padding",
) -> tuple[tuple[int, int], ...]:
    """Explicit ((before, after), ...) padding, one pair per spatial axis.

    `padding` is "valid", "same", "causal" (1-D only), an int (every side), or one entry per
    spatial axis, each an int (both sides) or a (before, after) pair. For one spatial axis a
    bare (before, after) pair is also accepted.

    >>> resolve_padding("same", (28, 28), (3, 3), (1, 1), (1, 1))
    ((1, 1), (1, 1))
    """
    rank = len(spatial_shape)
    if isinstance(padding, str) and padding.lower() == "causal" and rank != 1:
        raise ValueError(f"{op}: padding='causal' exists for 1-D inputs only. Fix: use 'same'.")
    if isinstance(padding, (str, int, np.integer)):
        per_axis: list = [padding] * rank
    else:
        per_axis = list(padding)
        if rank == 1 and len(per_axis) == 2 and all(isinstance(p, (int, np.integer)) for p in per_axis):
            per_axis = [tuple(per_axis)]
        if len(per_axis) != rank:
            raise ValueError(
                f"{op}: padding needs one entry per spatial axis ({rank}); got {padding!r}. "
                f"Fix: e.g. padding={tuple([(1, 1)] * rank)}."
            )
    return tuple(
        axis_padding(p, n, k, s, d, op)
        for p, n, k, s, d in zip(per_axis, spatial_shape, kernel, stride, dilation, strict=True)
    )


def with_channels(x: np.ndarray, rank: int, op: str, layout: str) -> tuple[np.ndarray, bool]:
    """x as float64 with a channel axis; also whether the caller gave one."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == rank:
        return x[..., np.newaxis], False
    if x.ndim == rank + 1:
        return x, True
    raise ValueError(
        f"{op} expects x of shape {layout}; got shape {x.shape}. "
        f"Fix: drop the batch axis and pass one example, e.g. x[0]."
    )


def sliding_windows(
    padded: np.ndarray, extent: Sequence[int], stride: Sequence[int], op: str
) -> np.ndarray:
    """All windows of `padded` (*spatial, C): shape (*out_spatial, C, *extent)."""
    rank = len(extent)
    if any(n < e for n, e in zip(padded.shape[:rank], extent, strict=True)):
        raise ValueError(
            f"{op}: the window {tuple(extent)} is larger than the padded input "
            f"{padded.shape[:rank]}, so the output would be empty. "
            f"Fix: use a larger input, a smaller kernel, or padding='same'."
        )
    windows = sliding_window_view(padded, tuple(extent), axis=tuple(range(rank)))
    steps = tuple(slice(None, None, s) for s in stride)
    return windows[steps]
