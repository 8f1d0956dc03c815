"""Interpretation after training, computed once and shown many ways.

`Interpretation` holds the predicted probabilities (N, K) and the true classes (N,) of a data
set; the confusion matrix, per-class accuracy, most confused pairs and top losses are all read
from it. A top loss reports the probability the model gave the *actual* class (the number its
loss comes from) next to the probability of the class it predicted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TopLoss:
    """One badly handled example."""

    index: int                    # position in the data set
    actual: int
    predicted: int
    loss: float                   # -log(actual_probability)
    actual_probability: float     # probability given to the true class
    predicted_probability: float  # probability of the predicted class (the largest one)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def as_probabilities(outputs: Any, kind: str = "auto") -> np.ndarray:
    """Model outputs as probabilities (N, K).

    `kind` is "probabilities", "logits" (softmax applied) or "auto" (softmax unless every row is
    already non-negative and sums to 1). A single sigmoid column (N, 1) becomes [1 - p, p].
    """
    values = np.asarray(outputs, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"interpret: outputs must be (N, classes); got shape {values.shape}.")
    if values.shape[1] == 1:
        p = values[:, 0] if kind != "logits" else 1.0 / (1.0 + np.exp(-values[:, 0]))
        return np.stack([1.0 - p, p], axis=1)
    is_probability = bool(np.all(values >= 0) and np.allclose(values.sum(axis=1), 1.0, atol=1e-3))
    if kind == "logits" or (kind == "auto" and not is_probability):
        return _softmax(values)
    if kind not in ("auto", "probabilities"):
        raise ValueError(f"interpret: kind must be 'auto', 'probabilities' or 'logits'; got {kind!r}.")
    return values


def as_labels(targets: Any, classes: int) -> np.ndarray:
    """Integer labels (N,) from labels or one-hot rows (N, K)."""
    values = np.asarray(targets)
    if values.ndim == 2 and values.shape[1] == classes and classes > 1:
        values = values.argmax(axis=1)
    values = values.reshape(-1)
    if values.size and (values.min() < 0 or values.max() >= classes or not np.all(values == np.round(values))):
        raise ValueError(f"interpret: labels must be integers in 0..{classes - 1}; got values from "
                         f"{values.min()} to {values.max()}.")
    return values.astype(np.int64)


@dataclass(frozen=True)
class Interpretation:
    """Predictions of a classifier on a labelled data set.

    Attributes:
        probabilities: (N, K) predicted class probabilities.
        targets: (N,) true class indices.
        class_names: K names (default "0".."K-1").
    """

    probabilities: np.ndarray = field(repr=False)
    targets: np.ndarray = field(repr=False)
    class_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.probabilities) != len(self.targets):
            raise ValueError(f"interpret: {len(self.probabilities)} predictions but "
                             f"{len(self.targets)} labels; pass the labels of the same examples.")
        if not self.class_names:
            object.__setattr__(self, "class_names", [str(i) for i in range(self.classes)])
        if len(self.class_names) != self.classes:
            raise ValueError(f"interpret: {len(self.class_names)} class names for {self.classes} classes.")

    @classmethod
    def from_outputs(cls, outputs: Any, targets: Any, class_names: Sequence[str] | None = None,
                     kind: str = "auto") -> Interpretation:
        """From raw model outputs (probabilities or logits) and labels (ints or one-hot)."""
        probabilities = as_probabilities(outputs, kind)
        return cls(probabilities, as_labels(targets, probabilities.shape[1]), list(class_names or []))

    @property
    def classes(self) -> int:
        return int(self.probabilities.shape[1])

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def losses(self) -> np.ndarray:
        """Cross-entropy of each example: -log p(actual class), clipped away from log(0)."""
        actual = self.probabilities[np.arange(len(self.targets)), self.targets]
        return -np.log(np.clip(actual, 1e-12, 1.0))

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predictions == self.targets)) if len(self.targets) else float("nan")

    def confusion_matrix(self) -> np.ndarray:
        """(K, K) counts: row = actual class, column = predicted class."""
        matrix = np.zeros((self.classes, self.classes), dtype=np.int64)
        np.add.at(matrix, (self.targets, self.predictions), 1)
        return matrix

    def per_class_accuracy(self) -> np.ndarray:
        """(K,) share of each class predicted correctly (NaN for classes with no examples)."""
        matrix = self.confusion_matrix()
        totals = matrix.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)

    def most_confused(self, min_count: int = 1) -> list[tuple[str, str, int]]:
        """(actual name, predicted name, count) off the diagonal, most frequent first."""
        matrix = self.confusion_matrix()
        pairs = [(self.class_names[a], self.class_names[p], int(matrix[a, p]))
                 for a in range(self.classes) for p in range(self.classes)
                 if a != p and matrix[a, p] >= min_count]
        return sorted(pairs, key=lambda pair: -pair[2])

    def top_losses(self, k: int = 9) -> list[TopLoss]:
        """The `k` examples with the largest loss, largest first."""
        losses = self.losses
        order = np.argsort(-losses, kind="stable")[:k]
        predictions = self.predictions
        return [TopLoss(int(i), int(self.targets[i]), int(predictions[i]), float(losses[i]),
                        float(self.probabilities[i, self.targets[i]]),
                        float(self.probabilities[i, predictions[i]])) for i in order]

    def text(self, k: int = 5) -> str:
        """A readable report: accuracy, per-class accuracy, most confused pairs, top losses."""
        lines = [f"accuracy {self.accuracy:.4f} on {len(self.targets)} examples", "per-class accuracy:"]
        for name, value in zip(self.class_names, self.per_class_accuracy(), strict=True):
            lines.append(f"  {name:>12}  {'-' if np.isnan(value) else f'{value:.3f}'}")
        lines.append("most confused (actual -> predicted: count):")
        lines.extend(f"  {a} -> {p}: {n}" for a, p, n in self.most_confused()[:k])
        lines.append("top losses (index: actual/predicted, loss, p(actual), p(predicted)):")
        for top in self.top_losses(k):
            lines.append(f"  {top.index}: {self.class_names[top.actual]}/{self.class_names[top.predicted]}, "
                         f"{top.loss:.3f}, {top.actual_probability:.3f}, {top.predicted_probability:.3f}")
        return "\n".join(lines)


def interpret(model: Any, x: Any, y: Any, *, class_names: Sequence[str] | None = None,
              batch_size: int = 256, kind: str = "auto") -> Interpretation:
    """Predict `x` with `model` once and keep what interpretation needs.

    Args:
        x: (N, ...) inputs; y: (N,) labels or (N, K) one-hot.
    """
    outputs = model.predict(np.asarray(x, dtype=np.float32), batch_size=batch_size, verbose=0)
    return Interpretation.from_outputs(outputs, y, class_names, kind)


# --------------------------------------------------------------------------- training curves


@dataclass(frozen=True)
class TrainingCurves:
    """Per-epoch values from a History: metric -> {"train": [...], "validation": [...]}."""

    epochs: list[int]
    curves: dict[str, dict[str, list[float]]]

    def best_epoch(self, metric: str = "loss") -> int:
        """The epoch (1-based) with the best validation value (training if no validation)."""
        series = self.curves[metric].get("validation") or self.curves[metric]["train"]
        pick = np.nanargmin if "loss" in metric or "error" in metric else np.nanargmax
        return self.epochs[int(pick(np.asarray(series, dtype=float)))]


def training_curves(history: Any) -> TrainingCurves:
    """Group a History (or its `.history` dict) into train/validation curves per metric; a
    metric logged as a vector gives one curve per entry, "f1_score[0]", "f1_score[1]", ...

    Raises:
        ValueError: for an empty history.
    """
    record: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    if not record or not any(len(v) for v in record.values()):
        raise ValueError("training_curves: the history is empty. Fix: pass the History that "
                         "model.fit(...) returned after at least one epoch.")
    curves: dict[str, dict[str, list[float]]] = {}
    for key, values in record.items():
        metric, split = (key[4:], "validation") if key.startswith("val_") else (key, "train")
        if any(np.size(v) != 1 for v in values):  # a vector metric (F1Score(average=None)): a curve per entry
            for index, series in enumerate(np.stack([np.ravel(v) for v in values], axis=1)):
                curves.setdefault(f"{metric}[{index}]", {})[split] = [float(v) for v in series]
            continue
        curves.setdefault(metric, {})[split] = [float(v) for v in values]
    length = max(len(v) for v in record.values())
    epochs = [int(e) + 1 for e in getattr(history, "epoch", range(length))]
    return TrainingCurves(epochs, curves)
