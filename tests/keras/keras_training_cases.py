"""Optimizer and metric cases compared with real Keras, read by the fixture writer (under real
Keras) and by tests/keras/test_keras_training_objects.py (under convscope). NumPy only."""

from __future__ import annotations

from typing import Any

import numpy as np

# name: (Keras class, constructor arguments)
OPTIMIZER_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "nadam": ("Nadam", {"learning_rate": 0.05}),
    "nadam_weight_decay": ("Nadam", {"learning_rate": 0.05, "weight_decay": 0.1, "beta_1": 0.8}),
    "adamax": ("Adamax", {"learning_rate": 0.05}),
    "adamax_weight_decay": ("Adamax", {"learning_rate": 0.05, "weight_decay": 0.1, "beta_2": 0.99}),
    "adamw": ("AdamW", {"learning_rate": 0.05}),
    "adamw_weight_decay": ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.2}),
    "adam_weight_decay": ("Adam", {"learning_rate": 0.05, "weight_decay": 0.1}),
    "sgd_weight_decay": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
}


def optimizer_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start weights, curvature, pull) of the loss sum(curvature * w^2 / 2 + pull * w)."""
    rng = np.random.default_rng(7)
    start = rng.normal(size=6).astype("float32")
    curvature = rng.uniform(0.5, 3.0, size=6).astype("float32")
    pull = rng.normal(size=6).astype("float32")
    return start, curvature, pull


# name: (Keras class, constructor arguments, kind of data: "binary" or "categorical")
METRIC_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "precision": ("Precision", {}, "binary"),
    "precision_thresholds": ("Precision", {"thresholds": [0.3, 0.5, 0.7]}, "binary"),
    "precision_class_id": ("Precision", {"class_id": 2}, "categorical"),
    "precision_top_k": ("Precision", {"top_k": 2}, "categorical"),
    "recall": ("Recall", {}, "binary"),
    "recall_threshold": ("Recall", {"thresholds": 0.7}, "binary"),
    "recall_top_k_class_id": ("Recall", {"top_k": 2, "class_id": 1}, "categorical"),
    "auc": ("AUC", {}, "binary"),
    "auc_categorical": ("AUC", {}, "categorical"),
    "auc_pr": ("AUC", {"curve": "PR"}, "binary"),
    "auc_minoring": ("AUC", {"summation_method": "minoring", "num_thresholds": 50}, "binary"),
    "auc_majoring": ("AUC", {"summation_method": "majoring"}, "binary"),
    "auc_from_logits": ("AUC", {"from_logits": True}, "binary_logits"),
    "top_k_categorical_accuracy": ("TopKCategoricalAccuracy", {"k": 2}, "categorical"),
}


def metric_batches(kind: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Two batches of (y_true, y_pred, sample_weight): the first unweighted, the second weighted."""
    rng = np.random.default_rng(11)
    batches: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    for size, weighted in ((40, False), (30, True)):
        weight = rng.uniform(0.0, 2.0, size=size).astype("float32") if weighted else None
        if kind == "categorical":
            labels = rng.integers(0, 4, size=size)
            logits = rng.normal(size=(size, 4)) + 1.5 * np.eye(4)[labels]
            y_pred = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
            batches.append((np.eye(4, dtype="float32")[labels], y_pred, weight))
        else:
            y_true = rng.integers(0, 2, size=(size, 1)).astype("float32")
            score = np.clip(0.5 + 0.3 * (y_true - 0.5) + 0.25 * rng.normal(size=(size, 1)), 0.0, 1.0)
            if kind == "binary_logits":
                score = np.log(np.clip(score, 1e-3, 1 - 1e-3) / np.clip(1 - score, 1e-3, 1))
            batches.append((y_true, score.astype("float32"), weight))
    return batches
