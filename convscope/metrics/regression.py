"""Regression metrics as Keras 3 computes them: the errors averaged over every sample seen
(MeanMetricWrapper), the root of the mean squared error, and R^2 from accumulated sums.

    >>> m = RootMeanSquaredError()
    >>> m.update_state([[0, 1], [0, 0]], [[1, 1], [0, 0]])
    >>> float(m.result())
    0.5
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from convscope.losses.core import as_float_tensor, same_rank
from convscope.losses.regression import (
    l2_normalize,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
)
from convscope.metrics.core import Mean, MeanMetricWrapper, Metric


def cosine_proximity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """sum(l2_normalize(y_true) * l2_normalize(y_pred)) along `axis` (the loss's negative)."""
    y_pred = as_float_tensor(y_pred)
    y_true, y_pred = same_rank(as_float_tensor(y_true).to(y_pred.device), y_pred)
    return (l2_normalize(y_true, axis) * l2_normalize(y_pred, axis)).sum(axis)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """100 * mean(|(y_true - y_pred) / y_true|) over every sample seen."""

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """mean((log(y_true + 1) - log(y_pred + 1))^2) over every sample seen."""

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity of y_true and y_pred along `axis` (1: same direction)."""

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1) -> None:
        super().__init__(cosine_proximity, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class LogCoshError(MeanMetricWrapper):
    """mean(log(cosh(y_pred - y_true))) over every sample seen; named "logcosh" as in Keras."""

    def __init__(self, name: str = "logcosh", dtype: Any = None) -> None:
        super().__init__(log_cosh, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """sqrt of the (weighted) mean of (y_pred - y_true)^2 over every value seen."""

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        y_pred = as_float_tensor(y_pred).detach()
        y_true, y_pred = same_rank(as_float_tensor(y_true).detach().to(y_pred.device), y_pred)
        super().update_state((y_pred - y_true).square(), sample_weight)

    def result(self) -> torch.Tensor:
        return super().result().sqrt()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class R2Score(Metric):
    """Coefficient of determination 1 - SS_res / SS_tot per output column, from sums kept over
    every batch, for (samples, outputs) data; `class_aggregation` "uniform_average" (mean over
    columns), "variance_weighted_average" or None (one per column); `num_regressors` > 0 gives
    the adjusted R^2.

    Raises:
        ValueError: for another class_aggregation, a negative num_regressors, or data not 2-D.
    """

    AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: Any = None) -> None:
        super().__init__(dtype=dtype, name=name)
        if class_aggregation not in self.AGGREGATIONS:
            raise ValueError(f"R2Score: class_aggregation must be one of {self.AGGREGATIONS}; got {class_aggregation!r}.")
        if num_regressors < 0:
            raise ValueError(f"R2Score: num_regressors must be >= 0; got {num_regressors}.")
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.sums: dict[str, torch.Tensor] = {}
        self.num_samples = 0

    def reset_state(self) -> None:
        self.sums = {name: torch.zeros_like(value) for name, value in self.sums.items()}
        self.num_samples = 0

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = as_float_tensor(y_pred).detach().double()
        y_true, y_pred = same_rank(as_float_tensor(y_true).detach().double().to(y_pred.device), y_pred)
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise ValueError(f"R2Score expects 2-D data (samples, outputs); got y_true {tuple(y_true.shape)} and "
                             f"y_pred {tuple(y_pred.shape)}. Reshape them, e.g. y.reshape(-1, 1).")
        weight = torch.ones((), dtype=torch.float64, device=y_pred.device) if sample_weight is None \
            else as_float_tensor(sample_weight).detach().double().to(y_pred.device)
        if weight.dim() == 1:
            weight = weight.unsqueeze(1)
        weight = torch.broadcast_to(weight, y_true.shape)
        batch = {"sum": (y_true * weight).sum(0), "squared_sum": (y_true * y_true * weight).sum(0),
                 "residual": ((y_true - y_pred).square() * weight).sum(0), "count": weight.sum(0)}
        self.sums = {name: self.sums[name].to(value.device) + value if name in self.sums else value
                     for name, value in batch.items()}
        self.num_samples += y_true.numel()

    def result(self) -> torch.Tensor:
        if not self.sums:
            return torch.zeros(())
        mean = self.sums["sum"] / self.sums["count"]
        total = self.sums["squared_sum"] - self.sums["sum"] * mean
        raw = 1 - self.sums["residual"] / total
        raw = torch.where(raw.isinf(), torch.zeros_like(raw), raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            if self.num_regressors >= self.num_samples - 1:
                warnings.warn("R2Score: as many independent predictors as data points or more: the adjusted R^2 "
                              "is undefined, so this is the plain R^2.", stacklevel=2)
            else:
                n, p = float(self.num_samples), float(self.num_regressors)
                score = 1 - (1 - score) * (n - 1) / (n - p - 1)
        return score.float()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
