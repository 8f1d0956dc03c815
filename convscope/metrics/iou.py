"""Intersection-over-union metrics for segmentation and classification, from one confusion
matrix accumulated over every batch, as Keras 3 computes them.

The matrix counts (true class, predicted class) pairs; IoU of a class = TP / (TP + FP + FN).
As in Keras, the counts are integers by default (dtype "int64"), so sample weights are
truncated to integers; pass dtype="float32" for fractional weights.

    >>> m = MeanIoU(num_classes=2)
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(float(m.result()), 4)
    0.3333
"""

from __future__ import annotations

from typing import Any

import torch

from convscope.losses.core import EPSILON, as_float_tensor
from convscope.metrics.core import Metric

INTEGER_DTYPES = ("int", "int32", "int64", "uint8", "int16")


def as_tensor(value: Any) -> torch.Tensor:
    return value.detach() if isinstance(value, torch.Tensor) else as_float_tensor(value)


class IoU(Metric):
    """Mean IoU over `target_class_ids` of `num_classes` classes; labels and predictions are class
    ids, or one-hot/probabilities along `axis` when `sparse_y_true`/`sparse_y_pred` is False.
    Labels equal to `ignore_class` (and ids outside [0, num_classes)) are left out.

    Raises:
        ValueError: for a target class id >= num_classes.
    """

    def __init__(self, num_classes: int, target_class_ids: Any, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1) -> None:
        super().__init__(dtype=dtype or "int64", name=name)
        target_class_ids = list(target_class_ids)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{type(self).__name__}: num_classes must be an integer >= 1; got {num_classes!r}.")
        if not target_class_ids or max(target_class_ids) >= num_classes or min(target_class_ids) < 0:
            raise ValueError(f"{type(self).__name__}: target_class_ids must be class ids in [0, {num_classes}); "
                             f"got {target_class_ids}.")
        self.num_classes, self.target_class_ids, self.ignore_class = num_classes, target_class_ids, ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.counts_dtype = torch.int64 if str(self.dtype) in INTEGER_DTYPES else torch.float64
        self.total_cm = torch.zeros((num_classes, num_classes), dtype=self.counts_dtype)

    def reset_state(self) -> None:
        self.total_cm = torch.zeros_like(self.total_cm)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        labels, predictions = as_tensor(y_true), as_tensor(y_pred)
        if not self.sparse_y_true:
            labels = labels.argmax(self.axis)
        if not self.sparse_y_pred:
            predictions = predictions.argmax(self.axis)
        labels = labels.to(torch.int64).reshape(-1)  # a cast truncates, as Keras's does
        predictions = predictions.to(device=labels.device, dtype=torch.int64).reshape(-1)
        if labels.shape != predictions.shape:
            raise ValueError(f"{type(self).__name__}: y_true and y_pred give {labels.numel()} and "
                             f"{predictions.numel()} class ids; they must match one for one.")
        weight = torch.ones((), dtype=self.counts_dtype) if sample_weight is None else \
            as_tensor(sample_weight).to(self.counts_dtype).reshape(-1)
        weight = torch.broadcast_to(weight.to(labels.device), labels.shape)
        keep = (labels >= 0) & (labels < self.num_classes) & (predictions >= 0) & (predictions < self.num_classes)
        if self.ignore_class is not None:
            keep &= labels != self.ignore_class
        cells = torch.where(keep, labels * self.num_classes + predictions, torch.zeros_like(labels))
        weight = torch.where(keep, weight, torch.zeros_like(weight))
        batch = torch.zeros(self.num_classes ** 2, dtype=self.counts_dtype, device=labels.device)
        batch.index_add_(0, cells, weight)
        self.total_cm = self.total_cm.to(labels.device) + batch.reshape(self.num_classes, self.num_classes)

    def result(self) -> torch.Tensor:
        matrix = self.total_cm.double()
        true_positives = matrix.diagonal()
        denominator = matrix.sum(0) + matrix.sum(1) - true_positives
        ids = torch.tensor(self.target_class_ids, device=matrix.device)
        true_positives, denominator = true_positives[ids].float(), denominator[ids].float()
        valid = denominator > 1e-9
        iou = torch.where(valid, true_positives / (denominator + EPSILON), torch.zeros_like(denominator))
        return iou.sum(self.axis) / (valid.float().sum() + EPSILON)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of binary labels and predictions (positive where y_pred >= `threshold`), averaged over
    `target_class_ids` (0, 1 or both)."""

    def __init__(self, target_class_ids: Any = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        super().update_state(y_true, (as_tensor(y_pred).float() >= self.threshold).long(), sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, target_class_ids=list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU over `target_class_ids` for one-hot labels and probabilities (argmax along `axis`)."""

    def __init__(self, num_classes: int, target_class_ids: Any, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, target_class_ids=target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids, "name": self.name,
                "dtype": self.dtype, "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """IoU averaged over all classes for one-hot labels and probabilities."""

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_pred: bool = False, axis: int = -1) -> None:
        super().__init__(num_classes=num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self) -> dict[str, Any]:
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self.dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
