"""The lesson the web page works through: a small matrix and kernel, convolved, activated and
pooled cell by cell with `convscope.explain`'s NumPy reference operations. No model is involved.

    >>> answer = lesson({"matrix": [[1, 2, 0], [0, 1, 3], [2, 0, 1]], "kernel": [[1, 0], [0, -1]]})
    >>> answer["conv"]["output"]
    [[0.0, -1.0], [0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

LESSON_MAX_SIDE = {2: 16, 1: 64}   # matrix cells per axis, by rank
LESSON_MAX_KERNEL = 7
LESSON_MAX_STRIDE = 4
LESSON_MAX_PADDING = 3
LESSON_MAX_VALUE = 1e6


class LessonError(ValueError):
    """A lesson request that cannot be worked (answered 422)."""


def lesson(request: dict[str, Any]) -> dict[str, Any]:
    """Convolution, activation and pooling of a small matrix (or 1D row) by a kernel, cell by
    cell, from `convscope.explain`'s NumPy reference operations.

    `request`: {"matrix": [[...]] or [...], "kernel": [[...]] or [...], "bias": 0, "stride": 1,
    "padding": "valid" | "same" | 0..3, "activation": "relu" | "linear",
    "pool": null | {"size": 2, "stride": 2, "kind": "max" | "average"}}.

    Raises:
        LessonError: a missing, ragged, non-numeric or oversized matrix or kernel, or options
            out of range.
    """
    from convscope import explain
    from convscope.explain import reference

    matrix = _lesson_array(request.get("matrix"), "matrix")
    rank = matrix.ndim
    kernel = _lesson_array(request.get("kernel"), "kernel", rank)
    bias = _lesson_number(request.get("bias", 0), "bias")
    stride = _lesson_int(request.get("stride", 1), "stride", 1, LESSON_MAX_STRIDE)
    padding = _lesson_padding(request.get("padding", "valid"))
    activation = request.get("activation", "relu")
    if activation not in ("relu", "linear"):
        raise LessonError(f"'activation' must be 'relu' or 'linear'; got {activation!r}.")
    pads = reference.resolve_padding(padding, matrix.shape, kernel.shape, (stride,) * rank, (1,) * rank, "lesson")
    padded = np.pad(matrix, pads)
    if any(n < k for n, k in zip(padded.shape, kernel.shape)):
        raise LessonError(f"the kernel {_size(kernel.shape)} is larger than the padded matrix {_size(padded.shape)}; "
                          "use a smaller kernel or more padding.")
    conv = reference.conv2d if rank == 2 else reference.conv1d
    output = conv(matrix, kernel, bias, stride=stride, padding=pads)
    cells = []
    for position in np.ndindex(*output.shape):
        steps = explain.conv_steps_from_arrays(matrix, kernel, bias, position=position, stride=stride,
                                               padding=pads, activation=activation)
        expected = float(output[position])
        assert abs(steps.pre_activation - expected) <= 1e-9 * max(1.0, abs(expected))
        cells.append({"position": list(position),
                      "window": [[p * stride, p * stride + k - 1] for p, k in zip(position, kernel.shape)],
                      "inputs": np.reshape([t.input_value for t in steps.terms], kernel.shape).tolist(),
                      "products": np.reshape([t.product for t in steps.terms], kernel.shape).tolist(),
                      "sum": steps.weighted_sum, "bias": steps.bias, "pre_activation": steps.pre_activation,
                      "output": steps.output})
    activated = reference.relu(output) if activation == "relu" else output
    answer = {"matrix": matrix.tolist(), "kernel": kernel.tolist(), "bias": bias, "stride": stride,
              "padding": [list(pair) for pair in pads], "padded": padded.tolist(), "activation": activation,
              "conv": {"output": output.tolist(), "cells": cells}, "activated": activated.tolist(),
              "pool": None, "notes": []}
    answer["pool"] = _lesson_pool(request.get("pool", {"size": 2}), activated, answer["notes"])
    return answer


def _lesson_pool(options: Any, activated: np.ndarray, notes: list[str]) -> dict[str, Any] | None:
    from convscope import explain
    from convscope.explain import reference

    if options is None or options is False:
        return None
    if not isinstance(options, dict):
        raise LessonError("'pool' must be null or an object such as {\"size\": 2, \"kind\": \"max\"}.")
    size = _lesson_int(options.get("size", 2), "pool size", 1, LESSON_MAX_STRIDE)
    stride = _lesson_int(options.get("stride", size), "pool stride", 1, LESSON_MAX_STRIDE)
    kind = options.get("kind", "max")
    if kind not in ("max", "average"):
        raise LessonError(f"pool 'kind' must be 'max' or 'average'; got {kind!r}.")
    rank = activated.ndim
    if any(n < size for n in activated.shape):
        notes.append(f"no pooling: the {size}x{size} window is larger than the {_size(activated.shape)} map."
                     if rank == 2 else f"no pooling: the window of {size} is longer than the map ({activated.shape[0]}).")
        return None
    pool = {(2, "max"): reference.max_pool2d, (2, "average"): reference.avg_pool2d,
            (1, "max"): reference.max_pool1d, (1, "average"): reference.avg_pool1d}[(rank, kind)]
    pooled = pool(activated, size, stride)
    windows = []
    for position in np.ndindex(*pooled.shape):
        steps = explain.pool_steps_from_arrays(activated, (size,) * rank, (stride,) * rank, "valid",
                                               position=position, reduction=kind)
        windows.append({"position": list(position), "cells": [list(p) for p in steps.window_positions],
                        "values": steps.values, "winner": None if steps.winner is None else list(steps.winner),
                        "output": steps.output})
    return {"size": size, "stride": stride, "kind": kind, "output": pooled.tolist(), "windows": windows}


def _size(shape: Sequence[int]) -> str:
    return "x".join(str(n) for n in shape)


def _lesson_array(value: Any, name: str, rank: int | None = None) -> np.ndarray:
    """A 2D (or 1D) list of finite numbers, within the lesson's size limits."""
    if not isinstance(value, list) or not value:
        raise LessonError(f"'{name}' must be a non-empty list of rows of numbers, e.g. [[1, 0], [0, 1]].")
    if isinstance(value[0], list) and len(value) > LESSON_MAX_SIDE[2]:
        raise LessonError(f"'{name}' has {len(value)} rows; the lesson takes at most {LESSON_MAX_SIDE[2]}.")
    if len(value) > LESSON_MAX_SIDE[1] or any(isinstance(row, list) and len(row) > LESSON_MAX_SIDE[2]
                                               for row in value):
        raise LessonError(f"'{name}' is too large; the lesson takes at most {LESSON_MAX_SIDE[2]}x"
                          f"{LESSON_MAX_SIDE[2]} (or {LESSON_MAX_SIDE[1]} values in one row).")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as error:
        raise LessonError(f"'{name}' must be rows of equal length holding numbers only.") from error
    if array.ndim not in (1, 2) or (rank is not None and array.ndim != rank):
        want = "a list of rows" if (rank or 2) == 2 else "one row of numbers"
        raise LessonError(f"'{name}' must be {want}" + (" like the matrix." if rank else "."))
    if not np.isfinite(array).all() or np.abs(array).max() > LESSON_MAX_VALUE:
        raise LessonError(f"'{name}' values must be finite numbers within +-{LESSON_MAX_VALUE:g}.")
    if rank is not None and max(array.shape) > LESSON_MAX_KERNEL:
        raise LessonError(f"the kernel is {_size(array.shape)}; the lesson takes kernels up to "
                          f"{LESSON_MAX_KERNEL} per side.")
    return array


def _lesson_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= LESSON_MAX_VALUE:
        raise LessonError(f"'{name}' must be a number within +-{LESSON_MAX_VALUE:g}; got {value!r}.")
    return float(value)


def _lesson_int(value: Any, name: str, least: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise LessonError(f"'{name}' must be a whole number from {least} to {most}; got {value!r}.")
    return value


def _lesson_padding(value: Any) -> str | int:
    if value in ("valid", "same"):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LESSON_MAX_PADDING:
        raise LessonError(f"'padding' must be 'valid', 'same' or 0..{LESSON_MAX_PADDING} zeros on each side; "
                          f"got {value!r}.")
    return value
