"""Keras's `keras.utils.normalize`: rows scaled to unit norm, as the classic MNIST tutorials
call it (`x_train = keras.utils.normalize(x_train, axis=1)`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def normalize(x: Any, axis: int = -1, order: int | float = 2) -> Any:
    """`x` divided by its `order`-norm along `axis` (a zero norm counts as 1), as Keras does.

    Args:
        x: an array of any shape (integer arrays give float64, as NumPy divides them), a list,
            or a torch tensor (which gives a torch tensor).
        axis: the axis the norm runs along.
        order: the norm's order (2: Euclidean, 1: sum of absolute values, np.inf: largest).

    Returns:
        An array of `x`'s shape.

    Raises:
        ValueError: `axis` outside `x`'s dimensions.

    Example:
        >>> normalize(np.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    if isinstance(x, torch.Tensor):
        norm = torch.linalg.vector_norm(x.float() if not x.is_floating_point() else x, ord=order, dim=axis,
                                        keepdim=True)
        return x / torch.where(norm == 0, torch.ones_like(norm), norm)
    array = np.asarray(x)
    if not -array.ndim <= axis < max(array.ndim, 1):
        raise ValueError(f"normalize: axis={axis} is outside an array of shape {array.shape}; "
                         f"pass an axis from {-array.ndim} to {array.ndim - 1}.")
    norm = np.linalg.norm(array, order, axis, keepdims=True)
    norm[norm == 0] = 1
    return array / norm
