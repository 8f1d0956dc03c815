"""Hinge losses (labels -1/1, or 0/1 converted) and the overlap losses of segmentation (Dice,
Tversky), as Keras 3 defines them.

    >>> hinge([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    tensor([1.1000, 1.5000])
"""

from __future__ import annotations

from typing import Any

import torch

from convscope.losses.core import EPSILON, RegressionLoss, as_float_tensor


def hinge_labels(y_true: torch.Tensor) -> torch.Tensor:
    """Labels as -1/1: when every label is 0 or 1 they become 2 y - 1, else they stay."""
    binary = bool(((y_true == 0) | (y_true == 1)).all())
    return 2.0 * y_true - 1.0 if binary else y_true


def hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """mean(max(1 - y_true * y_pred, 0)) over the last axis."""
    y_pred = as_float_tensor(y_pred)
    y_true = hinge_labels(as_float_tensor(y_true).to(y_pred.device))
    return (1.0 - y_true * y_pred).clamp_min(0.0).mean(-1)


def squared_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """mean(max(1 - y_true * y_pred, 0)^2) over the last axis."""
    y_pred = as_float_tensor(y_pred)
    y_true = hinge_labels(as_float_tensor(y_true).to(y_pred.device))
    return (1.0 - y_true * y_pred).clamp_min(0.0).square().mean(-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """max(neg - pos + 1, 0), pos = sum(y_true * y_pred), neg = max((1 - y_true) * y_pred)."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true).to(y_pred.device)
    positive = (y_true * y_pred).sum(-1)
    negative = ((1.0 - y_true) * y_pred).amax(-1)
    return (negative - positive + 1.0).clamp_min(0.0)


def summed(x: torch.Tensor, axis: int | tuple[int, ...] | list[int] | None) -> torch.Tensor:
    return x.sum() if axis is None else x.sum(dim=axis if isinstance(axis, int) else tuple(axis))


def dice(y_true: Any, y_pred: Any, axis: int | tuple[int, ...] | list[int] | None = None) -> torch.Tensor:
    """1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + eps), summed over `axis`
    (None: everything, one value for the batch; e.g. (1, 2, 3): one per image)."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true).to(y_pred.device)
    intersection = summed(y_true * y_pred, axis)
    return 1 - 2.0 * intersection / (summed(y_true, axis) + summed(y_pred, axis) + EPSILON)


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5,
            axis: int | tuple[int, ...] | list[int] | None = None) -> torch.Tensor:
    """1 - TP / (TP + alpha * sum(y_true * (1 - y_pred)) + beta * sum((1 - y_true) * y_pred) + eps),
    TP = sum(y_true * y_pred), as Keras weighs them; alpha = beta = 0.5 is Dice."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true).to(y_pred.device)
    intersection = summed(y_true * y_pred, axis)
    missed = summed((1 - y_pred) * y_true, axis)
    extra = summed(y_pred * (1 - y_true), axis)
    return 1 - intersection / (intersection + missed * alpha + extra * beta + EPSILON)


class Hinge(RegressionLoss):
    """mean(max(1 - y_true * y_pred, 0)) for labels -1/1 (0/1 are converted)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "hinge", dtype: Any = None) -> None:
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(RegressionLoss):
    """mean(max(1 - y_true * y_pred, 0)^2) for labels -1/1 (0/1 are converted)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "squared_hinge",
                 dtype: Any = None) -> None:
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(RegressionLoss):
    """max(neg - pos + 1, 0) for one-hot targets: the best wrong score against the right one."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "categorical_hinge",
                 dtype: Any = None) -> None:
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class Dice(RegressionLoss):
    """1 - Dice coefficient of y_true and y_pred, summed over `axis` (None: the whole batch)."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "dice",
                 axis: int | tuple[int, ...] | list[int] | None = None, dtype: Any = None) -> None:
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(RegressionLoss):
    """1 - Tversky index: Dice with missed and extra pixels weighed by `alpha` and `beta`."""

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str = "tversky", axis: int | tuple[int, ...] | list[int] | None = None,
                 dtype: Any = None) -> None:
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=float(alpha), beta=float(beta),
                         axis=axis)
        self.alpha, self.beta, self.axis = float(alpha), float(beta), axis
