"""Keras's `keras.utils.pad_sequences`: lists of sequences of different lengths as one array.

>>> pad_sequences([[1], [2, 3], [4, 5, 6]])
array([[0, 0, 1],
       [0, 2, 3],
       [4, 5, 6]], dtype=int32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

SIDES = ("pre", "post")


def _lengths_and_sample_shape(sequences: Sequence[Any]) -> tuple[list[int], tuple[int, ...]]:
    """Each sequence's length, and the shape of one step, taken from the first non-empty sequence."""
    lengths: list[int] = []
    sample_shape: tuple[int, ...] | None = None
    for index, sequence in enumerate(sequences):
        try:
            lengths.append(len(sequence))
        except TypeError as error:
            raise ValueError(f"pad_sequences: `sequences` must be a list of iterables (lists or arrays); "
                             f"element {index} is {sequence!r}.") from error
        if sample_shape is None and len(sequence):
            sample_shape = np.asarray(sequence).shape[1:]
    return lengths, sample_shape or ()


def pad_sequences(sequences: Sequence[Any], maxlen: int | None = None, dtype: DTypeLike = "int32",
                  padding: str = "pre", truncating: str = "pre", value: Any = 0.0) -> np.ndarray:
    """Pad (or truncate) every sequence to `maxlen` steps, as Keras 3 does.

    Args:
        sequences: a list of sequences (lists or arrays of numbers, or of equally shaped steps).
        maxlen: the output length; the longest sequence's length when None.
        dtype: the output's dtype ("int32", as Keras; `object` for strings).
        padding: "pre" or "post": where `value` is added to short sequences.
        truncating: "pre" or "post": where steps are removed from long sequences.
        value: the padding value.

    Returns:
        An array of shape (len(sequences), maxlen, *step_shape).

    Raises:
        ValueError: `sequences` not a list of sequences, `padding` or `truncating` not "pre" or
            "post", a string `value` for a numeric dtype, or steps of different shapes.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError(f"pad_sequences: `sequences` must be a list of sequences; got {type(sequences).__name__}.")
    for argument, side in (("padding", padding), ("truncating", truncating)):
        if side not in SIDES:
            raise ValueError(f"pad_sequences: `{argument}` must be 'pre' or 'post'; got {side!r}.")
    lengths, sample_shape = _lengths_and_sample_shape(sequences)
    if maxlen is None:
        maxlen = int(np.max(lengths)) if lengths else 0
    elif not isinstance(maxlen, (int, np.integer)) or isinstance(maxlen, bool) or maxlen < 0:
        raise ValueError(f"pad_sequences: `maxlen` must be a non-negative integer or None; got {maxlen!r}.")
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_text:
        raise ValueError(f"pad_sequences: `dtype` {dtype} cannot hold the string `value` {value!r}. "
                         "Pass dtype=object for variable length strings.")
    padded = np.full((len(sequences), int(maxlen), *sample_shape), value, dtype=dtype)
    for index, sequence in enumerate(sequences):
        if not len(sequence) or not maxlen:
            continue
        kept = np.asarray(sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"pad_sequences: the steps of sequence {index} have shape {kept.shape[1:]}; "
                             f"the first non-empty sequence's steps have shape {sample_shape}.")
        if padding == "post":
            padded[index, :len(kept)] = kept
        else:
            padded[index, -len(kept):] = kept
    return padded
