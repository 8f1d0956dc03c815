"""Pearson and concordance correlation coefficients, as Keras 3 computes them: one coefficient
per sample along `axis` (the last by default), averaged over every sample seen.

    >>> m = PearsonCorrelation()
    >>> m.update_state([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    >>> round(float(m.result()), 4)
    0.9967
"""

from __future__ import annotations

from typing import Any

import torch

from convscope.losses.core import EPSILON, as_float_tensor, same_rank
from convscope.metrics.core import MeanMetricWrapper

Axis = int | tuple[int, ...] | list[int]


def _dims(axis: Axis) -> int | tuple[int, ...]:
    return tuple(axis) if isinstance(axis, (list, tuple)) else axis


def _lined_up(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = as_float_tensor(y_pred)
    return same_rank(as_float_tensor(y_true).to(y_pred.device), y_pred)


def pearson_correlation(y_true: Any, y_pred: Any, axis: Axis = -1) -> torch.Tensor:
    """mean(z(y_true) * z(y_pred)) along `axis`, z the values less their mean over their
    (population) standard deviation: (N, D) -> (N,) for axis -1. NaN where either is constant,
    as in Keras.

    >>> pearson_correlation([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    tensor([1.0000, 0.9934])
    """
    y_true, y_pred = _lined_up(y_true, y_pred)
    dims = _dims(axis)
    true_centred = y_true - y_true.mean(dims, keepdim=True)
    pred_centred = y_pred - y_pred.mean(dims, keepdim=True)
    true_centred = true_centred / true_centred.std(dims, correction=0, keepdim=True)
    pred_centred = pred_centred / pred_centred.std(dims, correction=0, keepdim=True)
    return (true_centred * pred_centred).mean(dims)


def concordance_correlation(y_true: Any, y_pred: Any, axis: Axis = -1) -> torch.Tensor:
    """Lin's concordance coefficient along `axis` as Keras 3.15 writes it: mean(2 (y_true -
    mean(y_pred)) (y_pred - mean(y_pred)) / (var(y_true) + var(y_pred) + (mean(y_true) -
    mean(y_pred))^2 + epsilon)). Keras centres y_true on y_pred's mean in the covariance; kept,
    so values match Keras's.

    >>> concordance_correlation([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    tensor([0.9756, 0.9877])
    """
    y_true, y_pred = _lined_up(y_true, y_pred)
    dims = _dims(axis)
    true_mean, pred_mean = y_true.mean(dims, keepdim=True), y_pred.mean(dims, keepdim=True)
    true_var = (y_true - true_mean).var(dims, correction=0, keepdim=True)
    pred_var = (y_pred - pred_mean).var(dims, correction=0, keepdim=True)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + (true_mean - pred_mean).square()
    return (2 * covariance / (norm + EPSILON)).mean(dims)


class CorrelationMetric(MeanMetricWrapper):
    """A correlation along `axis`, averaged over every sample seen. The engine updates it batch
    by batch (`update_state`) rather than averaging per-sample scores itself, so an `axis` that
    spans the batch is counted as Keras counts it."""

    batch = None  # type: ignore[assignment]  # not averaged by the engine: see the class docstring

    def __init__(self, fn: Any, name: str, dtype: Any = None, axis: Axis = -1) -> None:
        kind = type(self).__name__
        dims = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not dims or not all(isinstance(dim, int) and not isinstance(dim, bool) for dim in dims):
            raise ValueError(f"{kind}: axis must be an integer or a tuple of integers; got {axis!r}.")
        super().__init__(fn, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class PearsonCorrelation(CorrelationMetric):
    """Pearson's correlation of y_true and y_pred along `axis` (-1: each sample's values),
    averaged over every sample seen; 1 is a perfect positive linear relation."""

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: Axis = -1) -> None:
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)


class ConcordanceCorrelation(CorrelationMetric):
    """Lin's concordance correlation of y_true and y_pred along `axis` (-1: each sample's
    values), averaged over every sample seen; 1 is perfect agreement."""

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: Axis = -1) -> None:
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
