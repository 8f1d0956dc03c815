"""One rate at the best threshold that holds another at a fixed level: precision at a recall,
recall at a precision, sensitivity at a specificity, specificity at a sensitivity, from
confusion counts at `num_thresholds` thresholds evenly spaced in [0, 1] (200 by default),
accumulated over every batch as Keras 3 computes them.

A prediction counts as positive above a threshold; y_true is positive where it is non-zero;
`class_id` keeps one column of (N, classes) data. The result is the largest value of the
rate among the thresholds where the constrained rate is at least the level asked for, 0 where
none is.

    >>> m = PrecisionAtRecall(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> float(m.result())
    0.5
"""

from __future__ import annotations

from typing import Any

import torch

from convscope.metrics.confusion import ConfusionCounts


def _rate(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator, 0 where the denominator is 0 (Keras's divide_no_nan)."""
    safe = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return torch.where(denominator == 0, torch.zeros_like(numerator), numerator / safe)


class RateAtRate(ConfusionCounts):
    """Keras's SensitivitySpecificityBase: counts at `num_thresholds` thresholds (0.0, 1/(n-1),
    ..., 1.0; the single threshold 0.5 when n is 1) and the best `rate` where `constraint` >=
    `level`. Counts are float32, as Keras keeps them, so a level met exactly is met here too.

    Raises:
        ValueError: for a level outside [0, 1], num_thresholds < 1, or a bad class_id.
    """

    level_name = ""

    def __init__(self, level: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        kind = type(self).__name__
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 <= level <= 1:
            raise ValueError(f"{kind}: {self.level_name} must be a number in [0, 1]; got {level!r}.")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise ValueError(f"{kind}: num_thresholds must be an integer > 0; got {num_thresholds!r}.")
        self.evenly = num_thresholds > 1
        thresholds = [0.5] if not self.evenly else \
            [0.0, *((i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)), 1.0]
        super().__init__(thresholds, class_id=class_id, name=name, dtype=dtype)
        self.level, self.num_thresholds, self.thresholds = level, num_thresholds, thresholds

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        positive, scores, weight = self.prepared(y_true, y_pred, sample_weight)
        positive_weight = (weight * positive).float()
        negative_weight = (weight * ~positive).float()
        if not self.evenly:
            above = scores.float() > 0.5
            true_positives, false_positives = (above * positive_weight).sum(0, keepdim=True), \
                (above * negative_weight).sum(0, keepdim=True)
        else:
            # Keras's bucket form: a score p lies above thresholds 0 .. ceil(p (n - 1)) - 1, so
            # each threshold's count is a reversed cumulative sum of per-bucket sums; p <= 0 is
            # above none (bucket -1, dropped). float32 arithmetic, as in Keras.
            count = self.num_thresholds
            buckets = (torch.ceil(scores.float().clamp(0.0, 1.0) * float(count - 1)) - 1).long()
            kept = buckets >= 0
            buckets, positives, negatives = buckets[kept], positive_weight[kept], negative_weight[kept]
            per_bucket = torch.zeros((2, count), dtype=torch.float32, device=scores.device)
            per_bucket[0].index_add_(0, buckets, positives)
            per_bucket[1].index_add_(0, buckets, negatives)
            true_positives, false_positives = per_bucket.flip(-1).cumsum(-1).flip(-1)
        self.true_positives.assign_add(true_positives)
        self.false_positives.assign_add(false_positives)
        self.false_negatives.assign_add(positive_weight.sum() - true_positives)
        self.true_negatives.assign_add(negative_weight.sum() - false_positives)

    def rates(self) -> dict[str, torch.Tensor]:
        """Each threshold's recall (= sensitivity), precision and specificity, float32."""
        tp, fp, tn, fn = (variable.value.float() for variable in
                          (self.true_positives, self.false_positives, self.true_negatives, self.false_negatives))
        return {"recall": _rate(tp, tp + fn), "precision": _rate(tp, tp + fp), "specificity": _rate(tn, tn + fp)}

    def best(self, rate: str, constraint: str) -> torch.Tensor:
        """The largest `rate` where `constraint` >= the level, 0 where none is (Keras's
        _find_max_under_constraint)."""
        rates = self.rates()
        feasible = rates[constraint] >= torch.tensor(self.level, dtype=torch.float32)
        return torch.where(feasible, rates[rate], torch.zeros_like(rates[rate])).max().clamp_min(0.0)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self.level_name: self.level}


class PrecisionAtRecall(RateAtRate):
    """The best precision among the thresholds whose recall is at least `recall`. Logged as
    "precision_at_recall"; e.g. `compile(metrics=[PrecisionAtRecall(recall=0.8)])`."""

    level_name = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall

    def result(self) -> torch.Tensor:
        return self.best("precision", "recall")


class RecallAtPrecision(RateAtRate):
    """The best recall among the thresholds whose precision is at least `precision` (0 where
    no threshold reaches it). Logged as "recall_at_precision"."""

    level_name = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision

    def result(self) -> torch.Tensor:
        return self.best("recall", "precision")


class SensitivityAtSpecificity(RateAtRate):
    """The best sensitivity (recall, TP / (TP + FN)) among the thresholds whose specificity
    (TN / (TN + FP)) is at least `specificity`. Logged as "sensitivity_at_specificity"."""

    level_name = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity

    def result(self) -> torch.Tensor:
        return self.best("recall", "specificity")


class SpecificityAtSensitivity(RateAtRate):
    """The best specificity (TN / (TN + FP)) among the thresholds whose sensitivity (recall) is
    at least `sensitivity`. Logged as "specificity_at_sensitivity"."""

    level_name = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity

    def result(self) -> torch.Tensor:
        return self.best("specificity", "recall")
