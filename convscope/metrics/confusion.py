"""Precision, Recall, AUC and the true/false positive/negative counts: metrics read from counts
of true/false positives/negatives at thresholds, accumulated over every batch, as Keras computes them.

Every value of y_pred is compared with each threshold (predicted positive when above it); y_true
is positive where it is non-zero. `class_id` keeps one column of (N, classes) data; `top_k`
keeps each row's k largest predictions (the others count as negative).

    >>> m = Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> float(m.result())
    0.6666666865348816
"""

from __future__ import annotations

from typing import Any

import torch

from convscope.losses.core import as_float_tensor
from convscope.metrics.core import Metric

NEG_INF = -1e10  # Keras's score for the predictions top_k leaves out
EPSILON = 1e-7  # AUC's outer thresholds sit just outside [0, 1]


def _thresholds(value: Any, default: float, owner: str) -> tuple[list[float], bool]:
    """(thresholds, whether one was given as a single number)."""
    if value is None:
        return [default], True
    single = isinstance(value, (int, float)) and not isinstance(value, bool)
    values = [value] if single else list(value)
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in values):
        raise ValueError(f"{owner}: thresholds must be a number in [0, 1] or a list of them; got {value!r}.")
    return [float(v) for v in values], single


def _divide(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator, 0 where the denominator is 0 (Keras's divide_no_nan)."""
    safe = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return torch.where(denominator == 0, torch.zeros_like(numerator), numerator / safe)


class ConfusionCounts(Metric):
    """Weighted counts of true/false positives/negatives at each threshold."""

    def __init__(self, thresholds: list[float], top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(dtype=dtype, name=name)
        kind = type(self).__name__
        for argument, value, lowest in (("top_k", top_k, 1), ("class_id", class_id, 0)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < lowest):
                raise ValueError(f"{kind}: {argument} must be an integer >= {lowest} or None; got {value!r}.")
        self.top_k, self.class_id = top_k, class_id
        self.threshold_values = torch.tensor(thresholds, dtype=torch.float64)
        count = len(thresholds)
        self.true_positives = self.add_variable((count,), name="true_positives")
        self.false_positives = self.add_variable((count,), name="false_positives")
        self.true_negatives = self.add_variable((count,), name="true_negatives")
        self.false_negatives = self.add_variable((count,), name="false_negatives")

    def prepared(self, y_true: Any, y_pred: Any, sample_weight: Any) -> tuple[torch.Tensor, ...]:
        """(positive labels, scores, weights), flat and the same length."""
        y_pred = as_float_tensor(y_pred).detach().double()
        y_true = as_float_tensor(y_true).detach().to(y_pred.device)
        if y_true.dim() == y_pred.dim() - 1:
            y_true = y_true.unsqueeze(-1)
        elif y_pred.dim() == y_true.dim() - 1:
            y_pred = y_pred.unsqueeze(-1)
        weight = torch.ones((), dtype=torch.float64, device=y_pred.device) if sample_weight is None else \
            as_float_tensor(sample_weight).detach().double().to(y_pred.device)
        while 0 < weight.dim() < y_pred.dim():
            weight = weight.unsqueeze(-1)
        if self.top_k is not None:
            kept = torch.zeros_like(y_pred).scatter_(-1, y_pred.topk(min(self.top_k, y_pred.shape[-1]), -1).indices, 1.0)
            y_pred = y_pred * kept + NEG_INF * (1 - kept)
        if self.class_id is not None:
            if y_pred.dim() < 2 or self.class_id >= y_pred.shape[-1]:
                raise ValueError(f"{type(self).__name__}: class_id {self.class_id} needs predictions shaped "
                                 f"(samples, classes) with more than {self.class_id} classes; got {tuple(y_pred.shape)}.")
            y_true, y_pred = y_true[..., self.class_id:self.class_id + 1], y_pred[..., self.class_id:self.class_id + 1]
            if weight.dim() and weight.shape[-1] > 1:  # one weight per class
                weight = weight[..., self.class_id:self.class_id + 1]
        weight = torch.broadcast_to(weight, y_pred.shape)
        return (y_true != 0).reshape(-1), self.scores(y_pred).reshape(-1), weight.reshape(-1)

    def scores(self, y_pred: torch.Tensor) -> torch.Tensor:
        return y_pred

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        positive, scores, weight = self.prepared(y_true, y_pred, sample_weight)
        above = scores.unsqueeze(0) > self.threshold_values.to(scores.device).unsqueeze(1)  # (thresholds, values)
        positive_weight, negative_weight = weight * positive, weight * ~positive
        self.true_positives.assign_add((above * positive_weight).sum(1))
        self.false_positives.assign_add((above * negative_weight).sum(1))
        self.false_negatives.assign_add((~above * positive_weight).sum(1))
        self.true_negatives.assign_add((~above * negative_weight).sum(1))

    def counts(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(true positives, false positives, true negatives, false negatives), float64."""
        return tuple(variable.value.double() for variable in  # type: ignore[return-value]
                     (self.true_positives, self.false_positives, self.true_negatives, self.false_negatives))


class ThresholdMetric(ConfusionCounts):
    """Precision and Recall: one value per threshold (a scalar for a single threshold)."""

    def __init__(self, thresholds: float | list[float] | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None, dtype: Any = None) -> None:
        # With top_k and no thresholds, every prediction among the top k counts as positive.
        values, self.single = _thresholds(thresholds, 0.5 if top_k is None else NEG_INF, type(self).__name__)
        super().__init__(values, top_k, class_id, name, dtype)
        self.thresholds = thresholds

    def result(self) -> torch.Tensor:
        value = self.ratio(*self.counts()).float()
        return value[0] if self.single else value

    def ratio(self, tp: torch.Tensor, fp: torch.Tensor, tn: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.thresholds, "top_k": self.top_k, "class_id": self.class_id}


class Precision(ThresholdMetric):
    """Of the samples predicted positive (score > threshold, 0.5 by default), the fraction
    that are positive: TP / (TP + FP). Logged as "precision"."""

    def ratio(self, tp: torch.Tensor, fp: torch.Tensor, tn: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
        return _divide(tp, tp + fp)


class Recall(ThresholdMetric):
    """Of the positive samples, the fraction predicted positive: TP / (TP + FN). Logged as
    "recall"."""

    def ratio(self, tp: torch.Tensor, fp: torch.Tensor, tn: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
        return _divide(tp, tp + fn)


class AUC(ConfusionCounts):
    """Area under the ROC curve (true vs false positive rate) or the PR curve (precision vs
    recall), approximated over `num_thresholds` thresholds evenly spaced in [0, 1] with the
    Riemann sum `summation_method`: "interpolation" (trapezoids; for PR, Davis & Goadrich's
    interpolation), "minoring" or "majoring". Logged as "auc". Scores must be probabilities, or
    logits with `from_logits=True`; multi-class data is pooled (micro-averaged).

    >>> AUC(curve="PR", name="prc")
    """

    CURVES, SUMMATIONS = ("ROC", "PR"), ("interpolation", "minoring", "majoring")

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: list[float] | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        if curve not in self.CURVES or summation_method not in self.SUMMATIONS:
            raise ValueError(f"AUC: curve must be one of {', '.join(self.CURVES)} and summation_method one of "
                             f"{', '.join(self.SUMMATIONS)}; got {curve!r}, {summation_method!r}.")
        if multi_label or label_weights is not None:
            raise ValueError("AUC: multi_label=True (one curve per label) is not supported; leave multi_label=False "
                             "to pool every label into one curve.")
        if thresholds is not None:
            inner, _ = _thresholds(thresholds, 0.5, "AUC")
            num_thresholds = len(inner) + 2
        elif not isinstance(num_thresholds, int) or isinstance(num_thresholds, bool) or num_thresholds < 2:
            raise ValueError(f"AUC: num_thresholds must be an integer > 1; got {num_thresholds!r}.")
        else:
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        super().__init__([0.0 - EPSILON, *inner, 1.0 + EPSILON], name=name, dtype=dtype)
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, curve, summation_method
        self.thresholds, self.num_labels, self.from_logits = thresholds, num_labels, bool(from_logits)

    def scores(self, y_pred: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(y_pred) if self.from_logits else y_pred

    def result(self) -> torch.Tensor:
        tp, fp, tn, fn = self.counts()
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolated_pr_auc(tp, fp, fn).float()
        recall = _divide(tp, tp + fn)
        x, y = (_divide(fp, fp + tn), recall) if self.curve == "ROC" else (recall, _divide(tp, tp + fp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        else:
            heights = torch.minimum(y[:-1], y[1:]) if self.summation_method == "minoring" else torch.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum().float()

    @staticmethod
    def interpolated_pr_auc(tp: torch.Tensor, fp: torch.Tensor, fn: torch.Tensor) -> torch.Tensor:
        """Precision integrated over recall with precision interpolated between thresholds as
        TP / (TP + FP) with both varying linearly (Davis & Goadrich 2006, Keras's closed form)."""
        dtp = tp[:-1] - tp[1:]
        predicted = tp + fp
        slope = _divide(dtp, torch.clamp(predicted[:-1] - predicted[1:], min=0))
        intercept = tp[1:] - slope * predicted[1:]
        both = (predicted[:-1] > 0) & (predicted[1:] > 0)
        ratio = torch.where(both, _divide(predicted[:-1], torch.clamp(predicted[1:], min=0)), torch.ones_like(dtp))
        return _divide(slope * (dtp + intercept * torch.log(ratio)), torch.clamp(tp[1:] + fn[1:], min=0)).sum()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "multi_label": False, "num_labels": self.num_labels,
                "label_weights": None, "from_logits": self.from_logits,
                **({"thresholds": self.thresholds} if self.thresholds is not None else {})}


class ConditionCount(ConfusionCounts):
    """The weighted count of one condition (`counted`: "true_positives", ...) at each threshold
    (a scalar for a single threshold, 0.5 by default)."""

    counted = ""

    def __init__(self, thresholds: float | list[float] | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        values, self.single = _thresholds(thresholds, 0.5, type(self).__name__)
        super().__init__(values, name=name, dtype=dtype)
        self.thresholds = thresholds

    def result(self) -> torch.Tensor:
        value = getattr(self, self.counted).value.float()
        return value[0] if self.single else value

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.thresholds}


class TruePositives(ConditionCount):
    """Weighted count of positives predicted positive (score > threshold)."""

    counted = "true_positives"


class TrueNegatives(ConditionCount):
    """Weighted count of negatives predicted negative (score <= threshold)."""

    counted = "true_negatives"


class FalsePositives(ConditionCount):
    """Weighted count of negatives predicted positive (score > threshold)."""

    counted = "false_positives"


class FalseNegatives(ConditionCount):
    """Weighted count of positives predicted negative (score <= threshold)."""

    counted = "false_negatives"
