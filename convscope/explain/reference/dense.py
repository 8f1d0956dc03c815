"""Reference Dense layer and ReLU; pure NumPy, Keras's kernel layout."""

from __future__ import annotations

import numpy as np


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
