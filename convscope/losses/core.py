"""The Loss base, its reductions and the cross-entropy and error losses, with Keras's names,
arguments and calling convention: `loss(y_true, y_pred)`.

    >>> cce = CategoricalCrossentropy()
    >>> float(cce([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))  # doctest: +ELLIPSIS
    1.176...
    >>> sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).shape
    torch.Size([2])

Classes reduce per-sample values to one scalar tensor ("sum_over_batch_size" by default);
the functions return the per-sample values. Both take NumPy arrays, lists or tensors.

Training calls `Loss._batch_mean(outputs, targets, logits=...)` instead: softmax + cross-entropy
(and sigmoid + binary cross-entropy) are computed from the logits there, which is exact where
log(softmax) would underflow. Each loss also checks the targets once, before training
(`prepare_targets`), so a wrong label array fails with a message, not deep inside a batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from convscope.layers.base import snake_case

EPSILON = 1e-7  # Keras clips probabilities to [eps, 1 - eps] before taking logs
REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)
LossFunction = Callable[..., Any]


# -- tensors in, tensors out -----------------------------------------------------------------
def as_float_tensor(value: Any) -> torch.Tensor:
    """A float32 tensor from a tensor, NumPy array, list or number (tensors keep their graph)."""
    if isinstance(value, torch.Tensor):
        return value if value.dtype == torch.float32 else value.float()
    return torch.as_tensor(np.asarray(value, dtype=np.float32))


def same_rank(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Keras's squeeze-or-expand: when ranks differ by one and the longer one ends in a size-1
    axis, (N,) and (N, 1) are lined up, so y (N,) meets a regression output (N, 1)."""
    if y_true.dim() == y_pred.dim() + 1 and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1) if y_pred.dim() != 1 else y_true
        y_pred = y_pred.unsqueeze(-1) if y_pred.dim() == 1 else y_pred
    elif y_pred.dim() == y_true.dim() + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred.squeeze(-1) if y_true.dim() != 1 else y_pred
        y_true = y_true.unsqueeze(-1) if y_true.dim() == 1 else y_true
    return y_true, y_pred


def reduce_weighted(values: torch.Tensor, sample_weight: Any = None, reduction: str | None = "sum_over_batch_size",
                    mask: torch.Tensor | None = None) -> torch.Tensor:
    """Keras's reduction of per-sample `values` (N, ...) weighted by `sample_weight`: (N,), one
    weight per sample (spread over its values), or (N, ...) one per value.

    "sum_over_batch_size"/"mean": sum / number of values; "sum": the sum; "mean_with_sample_weight":
    sum / sum of the weights; None/"none": the weighted values. A `mask` (True = counted) makes
    the mean run over the counted values only.
    """
    weight = None if sample_weight is None else as_float_tensor(sample_weight).to(values.device)
    if mask is not None:
        keep = mask.to(values.dtype)
        if reduction in ("sum_over_batch_size", "mean"):
            keep = keep * (keep.numel() / keep.sum().clamp_min(1.0))
        if weight is not None:
            keep, weight = same_rank(keep, weight)
            keep = keep * spread_weight(weight, keep)
        weight = keep
    if weight is not None and values.dim() == 0:  # one value for the batch (Dice over every axis): Keras
        values = values * weight                  # spreads it over the samples' weights
    elif weight is not None:
        values, weight = same_rank(values, weight)
        values = values * spread_weight(weight, values)
    if reduction in (None, "none") or values.dim() == 0:
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        return total / weight.sum()
    return total / max(values.numel(), 1)


def spread_weight(weight: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """`weight` (N,) or (N, ...) with trailing size-1 axes added up to the rank of `values`, so a
    per-sample weight covers every value of its sample (each timestep, each pixel).

    Raises:
        ValueError: for a weight with more axes than the values.
    """
    if weight.dim() > values.dim():
        raise ValueError(f"sample_weight has shape {tuple(weight.shape)} but the loss gives values of shape "
                         f"{tuple(values.shape)}: weights per element need a loss with one value per element; "
                         f"pass one weight per sample, shape ({values.shape[0] if values.dim() else 1},), instead.")
    return weight.reshape(weight.shape + (1,) * (values.dim() - weight.dim()))


def check_reduction(reduction: Any, owner: str) -> str | None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{owner}: reduction must be one of {', '.join(map(repr, REDUCTIONS))}; "
                         f"got {reduction!r}.")
    return reduction  # type: ignore[no-any-return]


# -- per-sample functions (Keras's keras.losses.<name>) ---------------------------------------
def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> torch.Tensor:
    """Cross-entropy of one-hot `y_true` (N, C) and `y_pred` (N, C) -> (N,).

    >>> categorical_crossentropy([[0, 1, 0]], [[0.05, 0.95, 0.0]])  # -log(0.95)
    tensor([0.0513])
    """
    y_pred = as_float_tensor(y_pred)
    y_true = as_float_tensor(y_true).to(y_pred.device)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    if from_logits:
        return -(y_true * F.log_softmax(y_pred, dim=axis)).sum(axis)
    probabilities = y_pred / y_pred.sum(axis, keepdim=True)
    return -(y_true * probabilities.clamp(EPSILON, 1 - EPSILON).log()).sum(axis)


def integer_labels(y_true: Any, y_pred: torch.Tensor) -> torch.Tensor:
    """Class labels as int64 of y_pred's rank minus one ((N, 1) -> (N,))."""
    labels = y_true if isinstance(y_true, torch.Tensor) else torch.as_tensor(np.asarray(y_true))
    if labels.dim() == y_pred.dim() and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    return labels.to(device=y_pred.device, dtype=torch.int64)


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> torch.Tensor:
    """Cross-entropy of integer labels `y_true` (N,) and `y_pred` (N, C) -> (N,); samples whose
    label is `ignore_class` get 0.

    >>> sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    tensor([0.0513, 2.3026])
    """
    y_pred = as_float_tensor(y_pred).movedim(axis, -1)
    labels = integer_labels(y_true, y_pred)
    valid = None if ignore_class is None else labels != ignore_class
    if valid is not None:
        labels = labels.where(valid, torch.zeros_like(labels))
    if from_logits:
        log_probabilities = F.log_softmax(y_pred, dim=-1)
    else:
        log_probabilities = (y_pred / y_pred.sum(-1, keepdim=True)).clamp(EPSILON, 1 - EPSILON).log()
    values = -log_probabilities.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return values if valid is None else values * valid


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> torch.Tensor:
    """Binary cross-entropy averaged over `axis`: (N, D) -> (N,).

    >>> binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
    tensor([0.9163, 0.7136])
    """
    y_true, y_pred = same_rank(as_float_tensor(y_true), as_float_tensor(y_pred))
    y_true = y_true.to(y_pred.device)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        values = F.binary_cross_entropy(y_pred.clamp(EPSILON, 1 - EPSILON), y_true, reduction="none")
    return values.mean(axis)


def mean_squared_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """mean((y_true - y_pred)^2) over the last axis: (N, D) -> (N,).

    >>> mean_squared_error([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
    tensor([0.5000, 0.5000])
    """
    y_true, y_pred = same_rank(as_float_tensor(y_true), as_float_tensor(y_pred))
    return (y_pred - y_true.to(y_pred.device)).square().mean(-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """mean(|y_true - y_pred|) over the last axis: (N, D) -> (N,)."""
    y_true, y_pred = same_rank(as_float_tensor(y_true), as_float_tensor(y_pred))
    return (y_pred - y_true.to(y_pred.device)).abs().mean(-1)


mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error


# -- classes --------------------------------------------------------------------------------
class Loss:
    """Keras's Loss base: subclass it and implement `call(y_true, y_pred)` -> per-sample values.

    `loss(y_true, y_pred, sample_weight=None)` reduces them by `reduction` to a scalar tensor.
    `pairs_with` names the final activation whose logits the loss can take directly.
    """

    pairs_with: str | None = None
    from_logits = False

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None) -> None:
        self.name = name or snake_case(type(self).__name__)
        self.reduction = check_reduction(reduction, type(self).__name__)
        self.dtype = dtype

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        y_pred = as_float_tensor(y_pred)
        y_true = as_float_tensor(y_true).to(y_pred.device)  # as Keras: both in the loss's float type
        values = self.call(y_true, y_pred)
        return reduce_weighted(as_float_tensor(values), sample_weight, self.reduction, self.mask(y_true, y_pred))

    def call(self, y_true: Any, y_pred: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__}: a Loss subclass implements call(y_true, y_pred).")

    def mask(self, y_true: Any, y_pred: torch.Tensor) -> torch.Tensor | None:
        """Which values count in the mean (None: all)."""
        return None

    def per_sample(self, y_true: Any, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
        """`call`, with `from_logits` chosen by the engine (it may hand over logits)."""
        return as_float_tensor(self.call(y_true, y_pred))

    def _batch_mean(self, outputs: torch.Tensor, targets: torch.Tensor, *, logits: bool,
                    sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        """The training loss of one batch: model `outputs` (logits when `logits`) first; with
        `sample_weight` (N,), sum(weight x loss) / N, as Keras reduces it."""
        values = self.per_sample(targets, outputs, logits or self.from_logits)
        reduction = "sum_over_batch_size" if self.reduction in (None, "none") else self.reduction
        return reduce_weighted(values, sample_weight, reduction, self.mask(targets, outputs))

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        """Convert `y` once for training (float32; a custom loss sees them as given)."""
        try:
            return torch.as_tensor(np.asarray(y, dtype=np.float32))
        except (TypeError, ValueError) as error:
            raise ValueError(f"loss '{self.name}': targets must be numbers; {error}") from error

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}


class LossFunctionWrapper(Loss):
    """A per-sample function `fn(y_true, y_pred, **kwargs)` as a Loss (what compile makes of a
    plain function)."""

    def __init__(self, fn: LossFunction, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true: Any, y_pred: torch.Tensor) -> torch.Tensor:
        y_true, y_pred = same_rank(as_float_tensor(y_true), y_pred)
        return self.fn(y_true, y_pred, **self.fn_kwargs)  # type: ignore[no-any-return]

    def per_sample(self, y_true: Any, y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
        if "from_logits" in self.fn_kwargs:
            return as_float_tensor(self.fn(y_true, y_pred, **{**self.fn_kwargs, "from_logits": from_logits}))
        return as_float_tensor(self.call(y_true, y_pred))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.fn_kwargs}


def matching_targets(loss: Loss, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
    """`y` as float32 when its shape matches the output's after the batch axis, where an axis
    of unknown size (None: sequences of any length) takes any ((N,) is taken for an (N, 1)
    output, as Keras lines them up)."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == len(output_shape) - 1 and output_shape[-1] == 1:
        y = y[..., None]
    if y.ndim != len(output_shape) or any(size is not None and size != given
                                          for size, given in zip(output_shape[1:], y.shape[1:])):
        raise ValueError(f"loss '{loss.name}': targets have shape {y.shape}, the model outputs "
                         f"{tuple(output_shape)}; they must match after the batch axis."
                         f"{positions_hint(y.ndim - 1, output_shape)}")
    return torch.as_tensor(y)


def positions_hint(target_axes: int, output_shape: tuple[int | None, ...]) -> str:
    """A sentence for one target per sample against an output that kept positions (a Dense
    layer after feature maps works on each position, as in Keras); empty otherwise."""
    kept = output_shape[1:-1]
    if target_axes > 1 or not kept:
        return ""
    where = " x ".join("?" if size is None else str(size) for size in kept)
    pooling = {1: "GlobalAveragePooling1D()", 2: "GlobalAveragePooling2D()", 3: "GlobalAveragePooling3D()"}
    return (f" The output keeps {where} positions: a Dense layer after feature maps works on each position. "
            f"Put Flatten() (or {pooling.get(len(kept), 'a global pooling layer')}) before the Dense layers "
            "for one prediction per sample.")


class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for one-hot targets (N, C).

    >>> float(CategoricalCrossentropy()([[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
    1.1769...
    """

    pairs_with = "softmax"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "categorical_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing), axis=axis)
        self.from_logits, self.label_smoothing, self.axis = bool(from_logits), float(label_smoothing), axis

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        y = np.asarray(y)
        units = output_shape[-1]
        if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1 and units != 1):
            raise ValueError(
                f"loss 'categorical_crossentropy' expects one-hot targets of shape (N, {units}); got integer-like "
                f"labels of shape {y.shape}. Use to_categorical(y, {units}) or "
                "loss='sparse_categorical_crossentropy'.")
        if y.shape[-1] != units:
            raise ValueError(
                f"loss 'categorical_crossentropy': one-hot targets have width {y.shape[-1]} but the model "
                f"outputs {units} classes. Make the last Dense layer Dense({y.shape[-1]}) or encode the "
                f"labels with to_categorical(y, {units}).")
        return matching_targets(self, y, output_shape)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy for integer labels (N,) against (N, C) outputs.

    >>> float(SparseCategoricalCrossentropy()([1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]))
    1.1769...
    """

    pairs_with = "softmax"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str = "sparse_categorical_crossentropy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=bool(from_logits), ignore_class=ignore_class, axis=axis)
        self.from_logits, self.ignore_class, self.axis = bool(from_logits), ignore_class, axis

    def mask(self, y_true: Any, y_pred: torch.Tensor) -> torch.Tensor | None:
        if self.ignore_class is None:
            return None
        return integer_labels(y_true, y_pred.movedim(self.axis, -1)) != self.ignore_class

    def _batch_mean(self, outputs: torch.Tensor, targets: torch.Tensor, *, logits: bool,
                    sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        if self.ignore_class is not None or self.axis != -1 or outputs.dim() != 2 or self.reduction == "sum" \
                or sample_weight is not None:
            return super()._batch_mean(outputs, targets, logits=logits, sample_weight=sample_weight)
        if logits or self.from_logits:  # fused log-softmax + NLL
            return F.cross_entropy(outputs, targets)
        probabilities = outputs / outputs.sum(-1, keepdim=True)
        return F.nll_loss(probabilities.clamp(EPSILON, 1 - EPSILON).log(), targets)

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        y = np.asarray(y)
        elements = tuple(output_shape[1:-1])  # (timesteps,) or (height, width): one label per element
        if y.ndim == len(elements) + 2 and y.shape[-1] == 1:
            y = y[..., 0]
        units = output_shape[-1]
        if units is None:
            raise ValueError(
                f"loss 'sparse_categorical_crossentropy' needs a known number of classes; the model's output "
                f"shape is {tuple(output_shape)}. End the model with a layer of fixed width, e.g. Dense(10).")
        if y.ndim != len(elements) + 1 or any(size is not None and size != given
                                              for size, given in zip(elements, y.shape[1:])):
            expected = ", ".join(["N", *("None" if size is None else str(size) for size in elements)])
            raise ValueError(
                f"loss 'sparse_categorical_crossentropy' expects integer class labels of shape ({expected}"
                f"{',' if not elements else ''}) for the output {tuple(output_shape)}; got shape {y.shape}. "
                "For one-hot targets use loss='categorical_crossentropy'."
                f"{positions_hint(y.ndim, output_shape) if y.ndim == 1 else ''}")
        check_labels(y, units, self.ignore_class)
        return torch.as_tensor(y.astype(np.int64))


def check_labels(y: np.ndarray, units: int, ignore_class: int | None) -> None:
    """Raise a ValueError naming the first label outside [0, units) (other than `ignore_class`)."""
    counted = y if ignore_class is None else y[y != ignore_class]
    if counted.size and (not np.all(np.equal(np.mod(counted, 1), 0)) or counted.min() < 0 or counted.max() >= units):
        bad = counted[(counted < 0) | (counted >= units) | (np.mod(counted, 1) != 0)]
        raise ValueError(
            f"loss 'sparse_categorical_crossentropy': labels must be integers in [0, {units - 1}] for a "
            f"model with {units} outputs; got values from {counted.min()} to {counted.max()} (e.g. {bad[0]}). "
            f"Check the labels, or make the last layer Dense({int(counted.max()) + 1}).")


class BinaryCrossentropy(LossFunctionWrapper):
    """Binary cross-entropy for targets in [0, 1] of the output's shape.

    >>> float(BinaryCrossentropy(from_logits=True)([0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8]))
    0.8654...
    """

    pairs_with = "sigmoid"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str = "binary_crossentropy",
                 dtype: Any = None) -> None:
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=bool(from_logits), label_smoothing=float(label_smoothing), axis=axis)
        self.from_logits, self.label_smoothing, self.axis = bool(from_logits), float(label_smoothing), axis

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        y = np.asarray(y, dtype=np.float32)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"loss 'binary_crossentropy': targets must be in [0, 1]; got values from "
                             f"{y.min()} to {y.max()}.")
        return matching_targets(self, y, output_shape)


class RegressionLoss(LossFunctionWrapper):
    """A loss on values of the output's own shape: targets must match it after the batch axis."""

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        return matching_targets(self, y, output_shape)


class MeanSquaredError(RegressionLoss):
    """mean((y_true - y_pred)^2).

    >>> float(MeanSquaredError()([1.0, 0.0, 1.0], [0.9, 0.1, 0.8]))
    0.02000...
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_squared_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(RegressionLoss):
    """mean(|y_true - y_pred|).

    >>> float(MeanAbsoluteError()([1.0, 0.3, 1.0], [1.9, 0.3, 1.8]))
    0.5666...
    """

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str = "mean_absolute_error",
                 dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)

