"""Probabilistic losses beyond the cross-entropies, as Keras 3 defines them: Kullback-Leibler
divergence, Poisson, and the focal cross-entropies that weigh hard examples up.

    >>> kl_divergence([[0, 1]], [[0.6, 0.4]])  # log(1 / 0.4)
    tensor([0.9163])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from convscope.losses.core import EPSILON, RegressionLoss, as_float_tensor, matching_targets


def kl_divergence(y_true: Any, y_pred: Any) -> torch.Tensor:
    """sum(y_true * log(y_true / y_pred)) over the last axis, both clipped to [eps, 1]."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true).to(y_pred.device).clamp(EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred.clamp(EPSILON, 1.0))).sum(-1)


def poisson(y_true: Any, y_pred: Any) -> torch.Tensor:
    """mean(y_pred - y_true * log(y_pred + eps)) over the last axis."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true).to(y_pred.device)
    return (y_pred - y_true * torch.log(y_pred + EPSILON)).mean(-1)


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> torch.Tensor:
    """(1 - p_t)^gamma x binary cross-entropy, p_t the probability given to the true label,
    times alpha (positives) or 1 - alpha (negatives) with `apply_class_balancing`; averaged
    over `axis`: (N, D) -> (N,)."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true).to(y_pred.device)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    clipped = y_pred.clamp(EPSILON, 1 - EPSILON)
    cross_entropy = -(y_true * clipped.log() + (1 - y_true) * (1 - clipped).log())
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal = (1.0 - p_t).pow(gamma) * cross_entropy
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return focal.mean(axis)


def categorical_focal_crossentropy(y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1) -> torch.Tensor:
    """sum(alpha (1 - p)^gamma x -y_true log p) over `axis` of one-hot `y_true` (N, C) and
    probabilities p = y_pred normalized and clipped to [eps, 1 - eps]: (N, C) -> (N,)."""
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true).to(y_pred.device)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    output = (y_pred / y_pred.sum(axis, keepdim=True)).clamp(EPSILON, 1 - EPSILON)
    return (alpha * (1.0 - output).pow(gamma) * -y_true * output.log()).sum(axis)


class KLDivergence(RegressionLoss):
    """Kullback-Leibler divergence of y_pred from the distribution y_true; "kld" in compile."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "kl_divergence",
                 dtype: Any = None) -> None:
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(RegressionLoss):
    """Poisson negative log-likelihood (up to a constant) of counts y_true at rates y_pred."""

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "poisson",
                 dtype: Any = None) -> None:
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)


class BinaryFocalCrossentropy(RegressionLoss):
    """Binary cross-entropy scaled by (1 - p_t)^gamma (Lin et al., 2017): confident right
    answers count little. Targets in [0, 1] of the output's shape."""

    pairs_with = "sigmoid"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_focal_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing), axis=axis,
                         apply_class_balancing=bool(apply_class_balancing), alpha=float(alpha), gamma=float(gamma))
        self.from_logits, self.label_smoothing, self.axis = bool(from_logits), float(label_smoothing), axis
        self.apply_class_balancing, self.alpha, self.gamma = bool(apply_class_balancing), float(alpha), float(gamma)

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        y = np.asarray(y, dtype=np.float32)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"loss '{self.name}': targets must be in [0, 1]; got values from {y.min()} to {y.max()}.")
        return matching_targets(self, y, output_shape)


class CategoricalFocalCrossentropy(RegressionLoss):
    """Categorical cross-entropy scaled by alpha (1 - p)^gamma, for one-hot targets (N, C)
    and imbalanced classes."""

    pairs_with = "softmax"

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str = "categorical_focal_crossentropy", dtype: Any = None) -> None:
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         alpha=float(alpha), gamma=float(gamma), from_logits=bool(from_logits),
                         label_smoothing=float(label_smoothing), axis=axis)
        self.alpha, self.gamma, self.from_logits = float(alpha), float(gamma), bool(from_logits)
        self.label_smoothing, self.axis = float(label_smoothing), axis
