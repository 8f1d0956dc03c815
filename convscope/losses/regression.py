"""Regression losses beyond MSE and MAE, as Keras 3 defines them: percentage and logarithmic
errors, cosine similarity, Huber and log-cosh. Each function maps (N, ..., D) to (N, ...).

    >>> float(Huber()([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]))  # doctest: +ELLIPSIS
    0.155...
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from convscope.losses.core import EPSILON, RegressionLoss, as_float_tensor, same_rank


def paired(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(y_true, y_pred) as float tensors of one rank on y_pred's device."""
    y_pred = as_float_tensor(y_pred)
    y_true, y_pred = same_rank(as_float_tensor(y_true).to(y_pred.device), y_pred)
    return y_true, y_pred


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """100 * mean(|y_true - y_pred| / max(|y_true|, eps)) over the last axis.

    >>> mean_absolute_percentage_error([[1.0, 2.0]], [[1.5, 1.0]])
    tensor([50.])
    """
    y_true, y_pred = paired(y_true, y_pred)
    return 100.0 * ((y_true - y_pred) / y_true.abs().clamp_min(EPSILON)).abs().mean(-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))^2) over the last axis."""
    y_true, y_pred = paired(y_true, y_pred)
    return (torch.log(y_pred.clamp_min(EPSILON) + 1.0) - torch.log(y_true.clamp_min(EPSILON) + 1.0)).square().mean(-1)


def l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    """x / max(||x||, eps) along `axis`, as Keras's normalize (a zero vector stays zero)."""
    return x * torch.rsqrt(x.square().sum(axis, keepdim=True)).clamp_max(1.0 / EPSILON)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """The loss: -sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis`, in [-1, 1]
    (-1 for the same direction; 0 where either vector is zero)."""
    y_true, y_pred = paired(y_true, y_pred)
    return -(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis)).sum(axis)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> torch.Tensor:
    """mean(0.5 x^2 where |x| <= delta, else delta |x| - 0.5 delta^2) of x = y_pred - y_true."""
    y_true, y_pred = paired(y_true, y_pred)
    error = y_pred - y_true
    absolute = error.abs()
    return torch.where(absolute <= delta, 0.5 * error.square(), delta * absolute - 0.5 * delta ** 2).mean(-1)


def log_cosh(y_true: Any, y_pred: Any) -> torch.Tensor:
    """mean(log(cosh(y_pred - y_true))) over the last axis, computed as x + softplus(-2x) - log 2
    so that large errors do not overflow."""
    y_true, y_pred = paired(y_true, y_pred)
    error = y_pred - y_true
    return (error + F.softplus(-2.0 * error) - math.log(2.0)).mean(-1)


class MeanAbsolutePercentageError(RegressionLoss):
    """100 * mean(|(y_true - y_pred) / y_true|); "mape" in compile."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_percentage_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(RegressionLoss):
    """mean((log(y_true + 1) - log(y_pred + 1))^2); "msle" in compile."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_logarithmic_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(RegressionLoss):
    """-cosine similarity of y_true and y_pred along `axis` (minimizing it aligns them)."""

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size", name: str = "cosine_similarity",
                 dtype: Any = None) -> None:
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Huber(RegressionLoss):
    """Squared error for errors up to `delta`, absolute error beyond: robust to outliers."""

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size", name: str = "huber_loss",
                 dtype: Any = None) -> None:
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=float(delta))
        self.delta = float(delta)


class LogCosh(RegressionLoss):
    """log(cosh(error)): about x^2 / 2 for small errors, |x| - log 2 for large ones."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "log_cosh",
                 dtype: Any = None) -> None:
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)
