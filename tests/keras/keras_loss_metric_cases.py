"""Loss and metric cases compared with real Keras, read by make_keras_loss_metric_fixtures.py
(under real Keras) and by test_keras_losses_metrics.py (under convscope). NumPy only."""

from __future__ import annotations

from typing import Any

import numpy as np

# name: (Keras class, constructor arguments, kind of data for `batch`)
LOSS_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "huber": ("Huber", {}, "regression"),
    "huber_delta": ("Huber", {"delta": 0.3}, "regression"),
    "kl_divergence": ("KLDivergence", {}, "distribution"),
    "cosine_similarity": ("CosineSimilarity", {}, "regression"),
    "cosine_similarity_axis": ("CosineSimilarity", {"axis": 1}, "regression"),
    "hinge": ("Hinge", {}, "binary_scores"),
    "hinge_signed": ("Hinge", {}, "signed_scores"),
    "squared_hinge": ("SquaredHinge", {}, "binary_scores"),
    "categorical_hinge": ("CategoricalHinge", {}, "onehot"),
    "poisson": ("Poisson", {}, "counts"),
    "log_cosh": ("LogCosh", {}, "regression"),
    "msle": ("MeanSquaredLogarithmicError", {}, "counts"),
    "mape": ("MeanAbsolutePercentageError", {}, "regression"),
    "binary_focal": ("BinaryFocalCrossentropy", {}, "binary"),
    "binary_focal_balanced": ("BinaryFocalCrossentropy",
                              {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5, "label_smoothing": 0.1},
                              "binary"),
    "binary_focal_logits": ("BinaryFocalCrossentropy", {"from_logits": True}, "binary_logits"),
    "categorical_focal": ("CategoricalFocalCrossentropy", {}, "onehot"),
    "categorical_focal_logits": ("CategoricalFocalCrossentropy",
                                 {"from_logits": True, "alpha": 0.5, "gamma": 3.0, "label_smoothing": 0.2},
                                 "onehot_logits"),
    "dice": ("Dice", {}, "masks"),
    "dice_per_image": ("Dice", {"axis": [1, 2, 3]}, "masks"),
    "tversky": ("Tversky", {"alpha": 0.7, "beta": 0.3}, "masks"),
    "tversky_per_image": ("Tversky", {"alpha": 0.2, "beta": 0.8, "axis": [1, 2, 3]}, "masks"),
}

# name: (Keras class, constructor arguments, kind of data for `batch`)
METRIC_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "root_mean_squared_error": ("RootMeanSquaredError", {}, "regression"),
    "binary_crossentropy": ("BinaryCrossentropy", {}, "binary"),
    "binary_crossentropy_logits": ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1},
                                   "binary_logits"),
    "categorical_crossentropy": ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    "sparse_categorical_crossentropy": ("SparseCategoricalCrossentropy", {}, "sparse"),
    "kl_divergence": ("KLDivergence", {}, "distribution"),
    "poisson": ("Poisson", {}, "counts"),
    "cosine_similarity": ("CosineSimilarity", {}, "regression"),
    "logcosh": ("LogCoshError", {}, "regression"),
    "mape": ("MeanAbsolutePercentageError", {}, "regression"),
    "msle": ("MeanSquaredLogarithmicError", {}, "counts"),
    "hinge": ("Hinge", {}, "binary_scores"),
    "squared_hinge": ("SquaredHinge", {}, "binary_scores"),
    "categorical_hinge": ("CategoricalHinge", {}, "onehot"),
    "true_positives": ("TruePositives", {}, "binary"),
    "true_negatives": ("TrueNegatives", {"thresholds": [0.2, 0.5, 0.8]}, "binary"),
    "false_positives": ("FalsePositives", {"thresholds": 0.3}, "binary"),
    "false_negatives": ("FalseNegatives", {}, "binary"),
    "f1_none": ("F1Score", {}, "onehot"),
    "f1_micro": ("F1Score", {"average": "micro", "threshold": 0.3}, "onehot"),
    "f1_macro": ("F1Score", {"average": "macro"}, "onehot"),
    "f1_weighted": ("F1Score", {"average": "weighted", "threshold": 0.4}, "onehot"),
    "fbeta_macro": ("FBetaScore", {"average": "macro", "beta": 2.0}, "onehot"),
    "fbeta_none_threshold": ("FBetaScore", {"beta": 0.5, "threshold": 0.25}, "binary"),
    "iou": ("IoU", {"num_classes": 4, "target_class_ids": [0, 2]}, "segmentation"),
    "mean_iou": ("MeanIoU", {"num_classes": 4}, "segmentation"),
    "mean_iou_ignore": ("MeanIoU", {"num_classes": 4, "ignore_class": 1}, "segmentation"),
    "mean_iou_float": ("MeanIoU", {"num_classes": 4, "dtype": "float32"}, "segmentation"),
    "binary_iou": ("BinaryIoU", {}, "binary_column"),
    "binary_iou_one": ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, "binary_column"),
    "one_hot_iou": ("OneHotIoU", {"num_classes": 4, "target_class_ids": [1, 3]}, "onehot"),
    "one_hot_mean_iou": ("OneHotMeanIoU", {"num_classes": 4}, "onehot"),
    "r2_score": ("R2Score", {}, "regression"),
    "r2_variance_weighted": ("R2Score", {"class_aggregation": "variance_weighted_average"}, "regression"),
    "r2_raw_adjusted": ("R2Score", {"class_aggregation": None, "num_regressors": 2}, "regression"),
    "pearson": ("PearsonCorrelation", {}, "regression"),
    "pearson_axis": ("PearsonCorrelation", {"axis": 1}, "regression_grid"),
    "concordance": ("ConcordanceCorrelation", {}, "regression"),
    "concordance_axes": ("ConcordanceCorrelation", {"axis": [1, 2]}, "regression_grid"),
    "precision_at_recall": ("PrecisionAtRecall", {"recall": 0.7}, "binary"),
    "precision_at_recall_class": ("PrecisionAtRecall", {"recall": 0.5, "num_thresholds": 11, "class_id": 2},
                                  "onehot"),
    "precision_at_recall_grid": ("PrecisionAtRecall", {"recall": 0.95, "num_thresholds": 11}, "binary_grid"),
    "recall_at_precision": ("RecallAtPrecision", {"precision": 0.97}, "binary"),
    "recall_at_precision_one": ("RecallAtPrecision", {"precision": 0.6, "num_thresholds": 1}, "binary"),
    "recall_at_precision_grid": ("RecallAtPrecision", {"precision": 0.7, "num_thresholds": 6}, "binary_grid"),
    "sensitivity_at_specificity": ("SensitivityAtSpecificity", {"specificity": 0.95}, "binary"),
    "sensitivity_at_specificity_class": ("SensitivityAtSpecificity",
                                         {"specificity": 0.8, "num_thresholds": 50, "class_id": 1}, "onehot"),
    "specificity_at_sensitivity": ("SpecificityAtSensitivity", {"sensitivity": 0.9, "num_thresholds": 7},
                                   "binary"),
    "specificity_at_sensitivity_grid": ("SpecificityAtSensitivity", {"sensitivity": 0.95, "num_thresholds": 11},
                                        "binary_grid"),
}


def batch(kind: str, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(y_true, y_pred) of one batch of `size` samples."""
    if kind == "regression":
        y_true = rng.normal(size=(size, 3))
        return y_true.astype("float32"), (y_true + rng.normal(scale=0.8, size=(size, 3))).astype("float32")
    if kind in ("counts", "distribution"):
        y_true, y_pred = rng.uniform(0.0, 3.0, size=(size, 3)), rng.uniform(0.05, 3.0, size=(size, 3))
        if kind == "distribution":
            y_true, y_pred = y_true / y_true.sum(-1, keepdims=True), y_pred / y_pred.sum(-1, keepdims=True)
        return y_true.astype("float32"), y_pred.astype("float32")
    if kind == "regression_grid":  # (N, 4, 3): a correlation along axis 1 or axes (1, 2)
        y_true = rng.normal(size=(size, 4, 3))
        return y_true.astype("float32"), (y_true + rng.normal(scale=0.8, size=(size, 4, 3))).astype("float32")
    if kind == "binary_grid":  # scores on the thresholds' grid and outside [0, 1]
        y_true = rng.integers(0, 2, size=(size, 2)).astype("float32")
        scores = np.round(0.6 * y_true + rng.uniform(-0.15, 0.75, size=(size, 2)), 1)
        return y_true, scores.astype("float32")
    if kind == "binary_column":  # (N, 1): one value per sample, as IoU's per-sample weights need
        y_true, y_pred = batch("binary", size, rng)
        return y_true[:, :1], y_pred[:, :1]
    if kind in ("binary", "binary_logits", "binary_scores", "signed_scores"):
        y_true = rng.integers(0, 2, size=(size, 2)).astype("float32")
        logits = 1.2 * (2 * y_true - 1) + rng.normal(size=(size, 2))
        if kind == "binary":
            return y_true, (1 / (1 + np.exp(-logits))).astype("float32")
        return (2 * y_true - 1 if kind == "signed_scores" else y_true), logits.astype("float32")
    if kind in ("onehot", "onehot_logits", "sparse", "segmentation"):
        labels = rng.integers(0, 4, size=size)
        logits = rng.normal(size=(size, 4)) + 1.5 * np.eye(4)[labels]
        if kind == "segmentation":
            return labels.astype("float32"), np.argmax(logits, -1).astype("float32")
        if kind == "onehot_logits":
            return np.eye(4, dtype="float32")[labels], logits.astype("float32")
        probabilities = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
        return (labels.astype("float32") if kind == "sparse" else np.eye(4, dtype="float32")[labels]), probabilities
    if kind == "masks":
        y_true = (rng.uniform(size=(size, 4, 4, 1)) > 0.6).astype("float32")
        y_pred = np.clip(0.7 * y_true + 0.3 * rng.uniform(size=y_true.shape), 0, 1).astype("float32")
        return y_true, y_pred
    raise ValueError(f"unknown kind of data {kind!r}")


def loss_data(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y_true, y_pred, sample_weight) of 6 samples."""
    rng = np.random.default_rng(3)
    y_true, y_pred = batch(kind, 6, rng)
    return y_true, y_pred, rng.uniform(0.0, 2.0, size=6).astype("float32")


def metric_batches(kind: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Three batches of (y_true, y_pred, sample_weight): the first unweighted, then weighted
    (whole-number weights among them, which integer confusion matrices keep exactly)."""
    rng = np.random.default_rng(5)
    batches: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    for size, weights in ((20, None), (16, "fractional"), (12, "whole")):
        y_true, y_pred = batch(kind, size, rng)
        if weights is None:
            weight = None
        elif weights == "whole":
            weight = rng.integers(0, 4, size=size).astype("float32")
        else:
            weight = rng.uniform(0.0, 2.0, size=size).astype("float32")
        batches.append((y_true, y_pred, weight))
    return batches
