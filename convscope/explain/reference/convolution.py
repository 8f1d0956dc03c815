"""Reference 1-D and 2-D convolution (cross-correlation, or true convolution with the kernel
flipped), grouped convolution included; pure NumPy, Keras's layouts."""

from __future__ import annotations

from collections.abc import Sequence
from types import EllipsisType

import numpy as np

from convscope.explain.numbers import count_text
from convscope.explain.reference.arithmetic import (
    IntOrPair,
    Mode,
    Padding,
    as_tuple,
    resolve_padding,
    sliding_windows,
    with_channels,
)


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
    x, _ = with_channels(x, rank, op, layout)
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
    strides = as_tuple(stride, rank, "stride", op)
    dilations = as_tuple(dilation, rank, "dilation", op)
    pads = resolve_padding(padding, x.shape[:rank], size, strides, dilations, op)
    padded = np.pad(x, [*pads, (0, 0)])
    extent = [(k - 1) * d + 1 for k, d in zip(size, dilations, strict=True)]
    taps: tuple[slice | EllipsisType, ...] = (..., *(slice(None, None, d) for d in dilations))
    windows = sliding_windows(padded, extent, strides, op)[taps]  # (*out, C_in, *kernel)
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
