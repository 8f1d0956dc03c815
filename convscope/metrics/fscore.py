"""F-beta and F1 scores from true/false positive and false negative counts accumulated over
every batch, as Keras 3 computes them, for (samples, classes) data.

    >>> m = F1Score(average="micro", threshold=0.5)
    >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.2], [0.6, 0.7]])
    >>> round(float(m.result()), 4)
    0.8
"""

from __future__ import annotations

from typing import Any

import torch

from convscope.losses.core import EPSILON, as_float_tensor
from convscope.metrics.core import Metric

AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """(1 + beta^2) precision recall / (beta^2 precision + recall), per class (`average` None),
    over all classes pooled ("micro"), averaged over classes ("macro") or weighted by each
    class's true count ("weighted"). A prediction is positive above `threshold`, or, with
    threshold None, where it is its row's largest.

    Raises:
        ValueError: for an unknown average, a beta <= 0, a threshold outside (0, 1], or data
            that is not 2-D.
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: Any = None) -> None:
        super().__init__(dtype=dtype, name=name)
        kind = type(self).__name__
        if average not in AVERAGES:
            raise ValueError(f"{kind}: average must be one of None, 'micro', 'macro', 'weighted'; got {average!r}.")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ValueError(f"{kind}: beta must be a float > 0; got {beta!r}.")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ValueError(f"{kind}: threshold must be a float in (0, 1] or None; got {threshold!r}.")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.counts: torch.Tensor | None = None  # rows: true positives, false positives, false negatives, true count

    def reset_state(self) -> None:
        self.counts = None if self.counts is None else torch.zeros_like(self.counts)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = as_float_tensor(y_pred).detach()
        y_true = as_float_tensor(y_true).detach().to(y_pred.device)
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise ValueError(f"{type(self).__name__} expects 2-D data (samples, classes); got y_true "
                             f"{tuple(y_true.shape)} and y_pred {tuple(y_pred.shape)}. One-hot encode the labels, "
                             "e.g. keras.utils.to_categorical(y, classes).")
        if self.threshold is None:
            predicted = (y_pred >= y_pred.amax(-1, keepdim=True)) & (y_pred.abs() > 1e-9)
        else:
            predicted = y_pred > self.threshold
        positive = predicted.double()
        truth = y_true.double()
        weight = None if sample_weight is None else as_float_tensor(sample_weight).detach().double().to(y_pred.device)
        values = torch.stack([positive * truth, positive * (1 - truth), (1 - positive) * truth, truth])
        if weight is not None:
            values = values * weight.reshape(-1, 1)
        batch = values.sum(1) if self.average != "micro" else values.sum((1, 2))
        self.counts = batch if self.counts is None else self.counts.to(batch.device) + batch

    def result(self) -> torch.Tensor:
        if self.counts is None:
            return torch.zeros(())
        true_positives, false_positives, false_negatives, true_count = self.counts.float()
        precision = true_positives / (true_positives + false_positives + EPSILON)
        recall = true_positives / (true_positives + false_negatives + EPSILON)
        beta_squared = self.beta ** 2
        score = precision * recall / (beta_squared * precision + recall + EPSILON) * (1 + beta_squared)
        if self.average == "weighted":
            return (score * true_count / (true_count.sum() + EPSILON)).sum()
        return score.mean() if self.average is not None else score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F-beta score with beta = 1: the harmonic mean of precision and recall."""

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
