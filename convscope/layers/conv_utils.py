"""Argument normalisation and output-size arithmetic shared by convolution and pooling."""

from __future__ import annotations

import math
from typing import Any

PADDINGS = ("valid", "same")
DATA_FORMATS = ("channels_last", "channels_first")


def normalize_tuple(value: Any, rank: int, argument: str, owner: str, *, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a `rank`-tuple of positive ints, as Keras accepts both."""
    values = (value,) * rank if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
    except TypeError:
        values = None
    lowest = 0 if allow_zero else 1
    if (values is None or len(values) != rank
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= lowest for v in values)):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"{owner}: {argument} must be a {kind} int or a tuple of {rank} {kind} ints; got {value!r}."
        )
    return values


def normalize_padding(value: Any, owner: str, allowed: tuple[str, ...] = PADDINGS) -> str:
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    raise ValueError(f"{owner}: unknown padding {value!r}. Expected one of: {', '.join(allowed)}.")


def normalize_data_format(value: Any, owner: str) -> str:
    if value is None:
        return "channels_last"
    if isinstance(value, str) and value.lower() in DATA_FORMATS:
        return value.lower()
    raise ValueError(f"{owner}: data_format must be 'channels_last' or 'channels_first'; got {value!r}.")


def check_filters(filters: Any, owner: str) -> int:
    """`filters` as Keras accepts it: a positive int; a ValueError naming `owner` otherwise."""
    if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
        raise ValueError(f"{owner}: filters must be a positive integer; got {filters!r}. "
                         "It is the number of feature maps the layer outputs, e.g. 32 or 64.")
    return filters


def conv_window(owner: str, rank: int, kernel_size: Any, strides: Any, padding: Any, data_format: Any,
                dilation_rate: Any, paddings: tuple[str, ...] = PADDINGS,
                ) -> tuple[tuple[int, ...], tuple[int, ...], str, str, tuple[int, ...]]:
    """A convolution's window arguments checked as Keras checks them, in that order: (kernel_size,
    strides, padding, data_format, dilation_rate), the sizes as `rank`-tuples. Strides > 1 with
    dilation_rate > 1 is refused, as in Keras. Raises ValueError naming `owner`."""
    kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", owner)
    strides = normalize_tuple(strides, rank, "strides", owner)
    padding = normalize_padding(padding, owner, paddings)
    data_format = normalize_data_format(data_format, owner)
    dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", owner)
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ValueError(f"{owner}: strides > 1 cannot be combined with dilation_rate > 1 "
                         f"(got strides={strides}, dilation_rate={dilation_rate}), as in Keras.")
    return kernel_size, strides, padding, data_format, dilation_rate


def conv_output_length(length: int | None, kernel: int, padding: str, stride: int, dilation: int = 1) -> int | None:
    """Output length of a convolution or pooling window along one axis (Keras's rule).

    valid: floor((n - d*(k-1) - 1) / s) + 1;  same and causal: ceil(n / s).
    """
    if length is None:
        return None
    if padding in ("same", "causal"):
        return math.ceil(length / stride)
    return (length - dilation * (kernel - 1) - 1) // stride + 1


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """(before, after) zero padding for 'same': the odd pixel goes after, as in TensorFlow."""
    out = math.ceil(length / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2
