"""Losses by Keras name. Softmax + cross-entropy (and sigmoid + binary cross-entropy) are
computed from logits, which is exact where log(softmax) would underflow.

Each loss also checks the targets once, before training, so a wrong label array fails with a
message instead of a cryptic error deep inside a batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

EPSILON = 1e-7  # Keras clips probabilities to [eps, 1 - eps] before taking logs


class Loss:
    """`loss(outputs, targets)` -> mean over the batch. `pairs_with` names the final activation
    whose logits this loss can take directly (from_logits=True)."""

    name = "loss"
    pairs_with: str | None = None

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = bool(from_logits)

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor, *, logits: bool | None = None) -> torch.Tensor:
        use_logits = self.from_logits if logits is None else logits
        return self.compute(outputs.float(), targets, use_logits)

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor, logits: bool) -> torch.Tensor:
        raise NotImplementedError

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        """Validate `y` against the model's output shape and convert it once for training."""
        y = np.asarray(y)
        if y.shape[1:] != tuple(output_shape[1:]):
            raise ValueError(f"loss '{self.name}': targets have shape {y.shape}, the model outputs "
                             f"{tuple(output_shape)}; they must match after the batch axis.")
        return torch.as_tensor(y, dtype=torch.float32)

    def get_config(self) -> dict[str, Any]:
        return {"from_logits": self.from_logits}


class CategoricalCrossentropy(Loss):
    name, pairs_with = "categorical_crossentropy", "softmax"

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor, logits: bool) -> torch.Tensor:
        if logits:
            return -(targets * F.log_softmax(outputs, dim=-1)).sum(-1).mean()
        probabilities = outputs / outputs.sum(-1, keepdim=True)
        return -(targets * probabilities.clamp(EPSILON, 1 - EPSILON).log()).sum(-1).mean()

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
        return super().prepare_targets(y, output_shape)


class SparseCategoricalCrossentropy(Loss):
    name, pairs_with = "sparse_categorical_crossentropy", "softmax"

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor, logits: bool) -> torch.Tensor:
        if logits:
            return F.cross_entropy(outputs, targets)
        return F.nll_loss(outputs.clamp(EPSILON, 1 - EPSILON).log(), targets)

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        units = output_shape[-1]
        if units is None:
            raise ValueError(
                f"loss 'sparse_categorical_crossentropy' needs a known number of classes; the model's output "
                f"shape is {tuple(output_shape)}. End the model with a layer of fixed width, e.g. Dense(10).")
        if y.ndim != 1:
            raise ValueError(
                f"loss 'sparse_categorical_crossentropy' expects integer class labels of shape (N,); got "
                f"shape {y.shape}. For one-hot targets use loss='categorical_crossentropy'.")
        if y.size and (not np.all(np.equal(np.mod(y, 1), 0)) or y.min() < 0 or y.max() >= units):
            bad = y[(y < 0) | (y >= units) | (np.mod(y, 1) != 0)]
            raise ValueError(
                f"loss 'sparse_categorical_crossentropy': labels must be integers in [0, {units - 1}] for a "
                f"model with {units} outputs; got values from {y.min()} to {y.max()} (e.g. {bad[0]}). "
                f"Check the labels, or make the last layer Dense({int(y.max()) + 1}).")
        return torch.as_tensor(y.astype(np.int64))


class BinaryCrossentropy(Loss):
    name, pairs_with = "binary_crossentropy", "sigmoid"

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor, logits: bool) -> torch.Tensor:
        if logits:
            return F.binary_cross_entropy_with_logits(outputs, targets)
        return F.binary_cross_entropy(outputs.clamp(EPSILON, 1 - EPSILON), targets)

    def prepare_targets(self, y: np.ndarray, output_shape: tuple[int | None, ...]) -> torch.Tensor:
        y = np.asarray(y, dtype=np.float32)
        if y.ndim == 1 and len(output_shape) == 2:
            y = y[:, None]
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"loss 'binary_crossentropy': targets must be in [0, 1]; got values from "
                             f"{y.min()} to {y.max()}.")
        return super().prepare_targets(y, output_shape)


class MeanSquaredError(Loss):
    name = "mean_squared_error"

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor, logits: bool) -> torch.Tensor:
        return F.mse_loss(outputs, targets)


class MeanAbsoluteError(Loss):
    name = "mean_absolute_error"

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor, logits: bool) -> torch.Tensor:
        return F.l1_loss(outputs, targets)


LOSSES: dict[str, type[Loss]] = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
}


def get(identifier: Any) -> Loss:
    """A loss from a name, a {"class_name", "config"} dict, or an instance."""
    if isinstance(identifier, Loss):
        return identifier
    config: dict[str, Any] = {}
    if isinstance(identifier, dict):
        identifier, config = identifier.get("class_name"), identifier.get("config", {})
    if isinstance(identifier, str) and identifier.lower() in LOSSES:
        return LOSSES[identifier.lower()](**config)
    raise ValueError(f"compile(loss=...): unknown loss {identifier!r}. Expected one of: {', '.join(LOSSES)}.")


def serialize(loss: Loss) -> dict[str, Any]:
    return {"class_name": loss.name, "config": loss.get_config()}
