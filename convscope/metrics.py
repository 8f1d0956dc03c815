"""Metrics by Keras name. Each returns per-batch (sum, count) tensors so the engine can
accumulate on the device and read the values only when it reports them."""

from __future__ import annotations

from typing import Any

import torch


class Metric:
    name = "metric"

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-sample scores (one float per sample) for this batch."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


class CategoricalAccuracy(Metric):
    name = "categorical_accuracy"

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs.argmax(-1) == targets.argmax(-1)).float()


class SparseCategoricalAccuracy(Metric):
    name = "sparse_categorical_accuracy"

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs.argmax(-1) == targets.view(-1)).float()


class BinaryAccuracy(Metric):
    name = "binary_accuracy"

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return ((outputs > self.threshold).float() == targets).float().mean(dim=tuple(range(1, outputs.dim())))


class TopKCategoricalAccuracy(Metric):
    name = "top_k_categorical_accuracy"

    def __init__(self, k: int = 5) -> None:
        self.k = int(k)

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.hits(outputs, targets.argmax(-1))

    def hits(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        k = min(self.k, outputs.shape[-1])
        return (outputs.topk(k, dim=-1).indices == labels.view(-1, 1)).any(-1).float()

    def get_config(self) -> dict[str, Any]:
        return {"k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    name = "sparse_top_k_categorical_accuracy"

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.hits(outputs, targets)


class MeanAbsoluteErrorMetric(Metric):
    name = "mae"

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs - targets).abs().flatten(1).mean(-1)


class MeanSquaredErrorMetric(Metric):
    name = "mse"

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (outputs - targets).square().flatten(1).mean(-1)


METRICS: dict[str, type[Metric]] = {
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mae": MeanAbsoluteErrorMetric, "mean_absolute_error": MeanAbsoluteErrorMetric,
    "mse": MeanSquaredErrorMetric, "mean_squared_error": MeanSquaredErrorMetric,
}

# What "accuracy" means depends on the loss, as in Keras.
ACCURACY_FOR_LOSS = {
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
    "binary_crossentropy": BinaryAccuracy,
}


def get(identifier: Any, loss_name: str) -> tuple[str, Metric]:
    """(display name, metric) for a name or instance; 'accuracy'/'acc' follow the loss."""
    if isinstance(identifier, Metric):
        return identifier.name, identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            return identifier, ACCURACY_FOR_LOSS.get(loss_name, CategoricalAccuracy)()
        if key in METRICS:
            return identifier, METRICS[key]()
    raise ValueError(
        f"compile(metrics=...): unknown metric {identifier!r}. Expected one of: accuracy, "
        f"{', '.join(METRICS)}.")
