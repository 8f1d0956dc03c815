"""Reference NumPy operations of a CNN, written to read like the maths.

Pure NumPy (no torch): these functions explain what the layers compute and check the engine in
tests. Arrays are channels-last, as in Keras: a 2-D input is (H, W) or (H, W, C), a 1-D input is
(L,) or (L, C); kernels use the Keras layout (kh, kw, C_in, C_out) and (k, C_in, C_out).

A grouped convolution (`groups=g`, Keras's Conv2D(groups=g)) splits the input channels and the
filters into g groups: filter o reads only the C_in/g input channels of its group,
o // (C_out/g), so its kernel is (kh, kw, C_in/g, C_out). groups = C_in is a depthwise
convolution (each filter reads one channel).

Output size along one axis, for input length n, kernel k, stride s, dilation d and padding p
on each side::

    out = floor((n + 2p - d*(k - 1) - 1) / s) + 1

"same" padding (TensorFlow/Keras) gives out = ceil(n / s) and pads
max((out - 1)*s + d*(k - 1) + 1 - n, 0) cells in total, the odd cell at the end (bottom/right).

Layers compute cross-correlation (mode "correlation"): the kernel slides over the input as is.
Mathematical convolution (mode "convolution") flips the kernel along every spatial axis first;
the two agree only for kernels symmetric under a 180-degree rotation.

Example:
    >>> conv2d(np.array([[1, 0, 2], [3, 1, 0], [0, 0, 4]]), np.eye(2))
    array([[2., 0.],
           [3., 5.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from types import EllipsisType
from typing import Literal

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from convscope.explain.numbers import count_text

IntOrPair = int | Sequence[int]
Padding = str | int | Sequence[int | Sequence[int]]
Mode = Literal["correlation", "convolution"]

__all__ = [
    "output_size", "same_padding", "resolve_padding", "check_groups",
    "conv1d", "conv2d", "dense", "relu",
    "max_pool", "avg_pool", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
]


# --------------------------------------------------------------------------- arithmetic


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
    before, after = _axis_padding(padding, n, kernel, stride, dilation, "output_size")
    return (n + before + after - dilation * (kernel - 1) - 1) // stride + 1


# --------------------------------------------------------------------------- argument handling


def _as_tuple(value: IntOrPair, rank: int, name: str, op: str) -> tuple[int, ...]:
    """An int or a sequence of `rank` positive ints, as a tuple."""
    values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != rank or any(int(v) != v or v < 1 for v in values):
        raise ValueError(
            f"{op}: {name} must be a positive int or {rank} positive ints; got {value!r}. "
            f"Fix: pass e.g. {name}=1 or {name}={(1,) * rank}."
        )
    return tuple(int(v) for v in values)


def _axis_padding(
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
        _axis_padding(p, n, k, s, d, op)
        for p, n, k, s, d in zip(per_axis, spatial_shape, kernel, stride, dilation, strict=True)
    )


def _with_channels(x: np.ndarray, rank: int, op: str, layout: str) -> tuple[np.ndarray, bool]:
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


def _windows(
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


# --------------------------------------------------------------------------- convolution


def check_groups(groups: int, x_shape: tuple[int, ...], kernel_channels: int, filters: int, op: str) -> int:
    """`groups` when it splits the input channels (the last axis of `x_shape`) and `filters`
    filters evenly and the kernel holds `kernel_channels` = channels / groups per filter.

    Raises:
        ValueError: naming what does not fit and the likely `groups`.
    """
    channels = x_shape[-1]
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int; got {groups!r}.")
    groups = int(groups)
    if channels % groups or filters % groups:
        raise ValueError(f"{op}: groups={groups} must divide the {channels} input channels and the "
                         f"{filters} filters. Fix: pass the layer's own groups (Conv2D(groups=...)).")
    if kernel_channels * groups != channels:
        if groups == 1:
            hint = (f" Fix: pass groups={channels // kernel_channels} for a grouped kernel." if
                    kernel_channels and channels % kernel_channels == 0 and channels > kernel_channels
                    else " Fix: match C_in of x and kernel.")
            raise ValueError(f"{op}: x and kernel do not fit: kernel expects "
                             f"{count_text(kernel_channels, 'input channel')}; x has {channels} (shape {x_shape}).{hint}")
        raise ValueError(f"{op}: with groups={groups} the kernel needs {channels // groups} input channels "
                         f"per filter (x has {channels}); it has {kernel_channels}. Fix: pass the kernel in "
                         f"Keras's layout (*kernel, C_in / groups, C_out).")
    return groups


def _conv(
    x: np.ndarray, w: np.ndarray, bias: np.ndarray | float | None, rank: int,
    stride: IntOrPair, padding: Padding, dilation: IntOrPair, mode: str, op: str, layout: str,
    groups: int = 1,
) -> np.ndarray:
    """Shared body of conv1d and conv2d."""
    if mode not in ("correlation", "convolution"):
        raise ValueError(f"{op}: mode must be 'correlation' or 'convolution'; got {mode!r}.")
    x, _ = _with_channels(x, rank, op, layout)
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == rank:  # one filter, one input channel
        if x.shape[-1] != 1:
            raise ValueError(f"{op}: a {rank}-D kernel needs a single-channel x; got shape {x.shape}. "
                             f"Fix: pass a kernel of shape (*kernel, {x.shape[-1]}, C_out).")
        kernel, squeeze_out = w[..., np.newaxis, np.newaxis], True
    elif w.ndim == rank + 2:
        kernel, squeeze_out = w, False
    else:
        raise ValueError(f"{op}: kernel must have shape {'(k,)' if rank == 1 else '(kh, kw)'} or "
                         f"the Keras layout (*kernel, C_in, C_out); got shape {w.shape}.")
    groups = check_groups(groups, x.shape, kernel.shape[rank], kernel.shape[-1], op)
    if mode == "convolution":  # convolution = correlation with the kernel rotated 180 degrees
        kernel = np.flip(kernel, axis=tuple(range(rank)))
    size = kernel.shape[:rank]
    strides = _as_tuple(stride, rank, "stride", op)
    dilations = _as_tuple(dilation, rank, "dilation", op)
    pads = resolve_padding(padding, x.shape[:rank], size, strides, dilations, op)
    padded = np.pad(x, [*pads, (0, 0)])
    extent = [(k - 1) * d + 1 for k, d in zip(size, dilations, strict=True)]
    taps: tuple[slice | EllipsisType, ...] = (..., *(slice(None, None, d) for d in dilations))
    windows = _windows(padded, extent, strides, op)[taps]  # (*out, C_in, *kernel)
    spatial = "ab"[:rank]
    per_group, filters = kernel.shape[rank], kernel.shape[-1] // groups
    # out[..., o] = sum over kernel taps and the input channels of o's group of window * weight
    by_channel = np.moveaxis(windows, -rank - 1, 0)  # (C_in, *out, *kernel), a view
    out = np.concatenate([
        np.einsum(f"c...{spatial},{spatial}co->...o", by_channel[g * per_group:(g + 1) * per_group],
                  kernel[..., g * filters:(g + 1) * filters])
        for g in range(groups)], axis=-1)
    if bias is not None:
        out = out + np.asarray(bias, dtype=np.float64)
    return out[..., 0] if squeeze_out else out


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | float | None = None,
    *,
    stride: IntOrPair = 1,
    padding: Padding = "valid",
    dilation: IntOrPair = 1,
    mode: Mode = "correlation",
    groups: int = 1,
) -> np.ndarray:
    """2-D convolution of one image, as a Conv2D layer computes it (before its activation).

    out[i, j, o] = bias[o] + sum_{a, b, c} x_pad[i*sh + a*dh, j*sw + b*dw, g*n + c] * w[a, b, c, o]

    where n = C_in / groups is the channels per group and g = o // (C_out / groups) is o's group
    (g = 0 and n = C_in for an ordinary convolution).

    Args:
        x: (H, W) or (H, W, C_in).
        w: (kh, kw) for one filter on a one-channel x, or (kh, kw, C_in / groups, C_out) (Keras layout).
        bias: scalar or (C_out,); None adds nothing.
        stride, dilation: int or (vertical, horizontal).
        padding: "valid", "same" (Keras), an int, or ((top, bottom), (left, right)).
        mode: "correlation" (what layers compute) or "convolution" (kernel flipped).
        groups: filter o reads only the input channels of its group (see the module text);
            C_in and C_out must both divide by it.

    Returns:
        (H', W') for a 2-D kernel, else (H', W', C_out); float64.

    Raises:
        ValueError: for mismatched shapes or bad arguments, with the fix.

    >>> f = np.array([[1, 2, 1], [2, 1, 1], [1, 1, 1]])
    >>> conv2d(f, [[1, 0.5], [0.5, 1]])
    array([[4., 4.],
           [4., 3.]])
    >>> two = np.stack([np.ones((3, 3)), 10 * np.ones((3, 3))], axis=-1)   # (3, 3, 2)
    >>> conv2d(two, np.ones((2, 2, 1, 2)), groups=2)[0, 0]   # filter 0 reads channel 0, filter 1 channel 1
    array([ 4., 40.])
    """
    return _conv(x, w, bias, 2, stride, padding, dilation, mode, "conv2d", "(H, W) or (H, W, C_in)", groups)


def conv1d(
    x: np.ndarray,
    w: np.ndarray,
    bias: np.ndarray | float | None = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: Padding = "valid",
    dilation: int | Sequence[int] = 1,
    mode: Mode = "correlation",
    groups: int = 1,
) -> np.ndarray:
    """1-D convolution of one signal, as a Conv1D layer computes it (before its activation).

    out[i, o] = bias[o] + sum_{a, c} x_pad[i*s + a*d, g*n + c] * w[a, c, o]   (n, g as in conv2d)

    Args:
        x: (L,) or (L, C_in).
        w: (k,) for one filter on a one-channel x, or (k, C_in / groups, C_out) (Keras layout).
        bias: scalar or (C_out,).
        groups: as in `conv2d`.
        padding: "valid", "same", "causal" ((k - 1)*d zeros on the left only), an int, or
            (before, after).
        mode: "correlation" or "convolution" (kernel reversed).

    Returns:
        (L',) for a 1-D kernel, else (L', C_out).

    >>> conv1d([1, 2, 3, 4], [1, 0, -1])
    array([-2., -2.])
    """
    return _conv(x, w, bias, 1, stride, padding, dilation, mode, "conv1d", "(L,) or (L, C_in)", groups)


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """A Dense layer before its activation: x @ kernel + bias.

    Shapes: x (..., units_in), kernel (units_in, units) (Keras layout), bias (units,).

    >>> dense([1.0, 2.0], [[1.0], [1.0]], [0.5])
    array([3.5])
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or x.shape[-1] != kernel.shape[0]:
        raise ValueError(f"dense: x (..., {kernel.shape[0] if kernel.ndim == 2 else 'n'}) and kernel "
                         f"(units_in, units) do not fit; got x {x.shape}, kernel {kernel.shape}.")
    out = x @ kernel
    return out if bias is None else out + np.asarray(bias, dtype=np.float64)


def relu(x: np.ndarray) -> np.ndarray:
    """ReLU(x) = max(0, x), element-wise; any shape.

    >>> relu(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 2.])
    """
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


# --------------------------------------------------------------------------- pooling


def _pool(
    x: np.ndarray, pool_size: IntOrPair, strides: IntOrPair | None, padding: Padding,
    rank: int, reduce: str, op: str, layout: str,
) -> np.ndarray:
    """Shared body of the pooling functions; padded cells never count."""
    x, has_channels = _with_channels(x, rank, op, layout)
    size = _as_tuple(pool_size, rank, "pool_size", op)
    steps = size if strides is None else _as_tuple(strides, rank, "strides", op)
    pads = resolve_padding(padding, x.shape[:rank], size, steps, (1,) * rank, op)
    if any(p >= k for pair, k in zip(pads, size, strict=True) for p in pair):
        raise ValueError(f"{op}: padding {pads} would make windows of padding only "
                         f"(pool_size {size}). Fix: use padding below the pool size or 'same'.")
    kernel_axes = tuple(range(-rank, 0))
    if reduce == "max":  # -inf padding never wins a max
        padded = np.pad(x, [*pads, (0, 0)], constant_values=-np.inf)
        out = _windows(padded, size, steps, op).max(axis=kernel_axes)
    else:  # average over the real cells only: sum of values / count of real cells
        total = _windows(np.pad(x, [*pads, (0, 0)]), size, steps, op).sum(axis=kernel_axes)
        real = np.pad(np.ones_like(x), [*pads, (0, 0)])
        out = total / _windows(real, size, steps, op).sum(axis=kernel_axes)
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
