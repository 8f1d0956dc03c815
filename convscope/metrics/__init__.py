"""Metrics with Keras's names and interface: `update_state(y_true, y_pred, sample_weight=None)`,
`result()`, `reset_state()`, and the per-sample functions (`sparse_categorical_accuracy`, ...).

    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    >>> float(m.result())
    0.5

During `fit` the engine asks a `MeanMetricWrapper` for per-sample scores (`batch`) and keeps the
running sums on the device, reading them only when it reports; any other Metric subclass is
updated batch by batch through `update_state` and read through `result()` (Precision, Recall and
AUC, from `convscope.metrics.confusion`, are such metrics).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convscope import _registry
from convscope.losses import (
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    categorical_hinge,
    hinge,
    huber,
    kl_divergence,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from convscope.metrics.confusion import (
    AUC,
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from convscope.metrics.core import (
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    Mean,
    MeanAbsoluteError,
    MeanAbsoluteErrorMetric,
    MeanMetricWrapper,
    MeanSquaredError,
    MeanSquaredErrorMetric,
    Metric,
    MetricFunction,
    MetricVariable,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    matching_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from convscope.metrics.correlation import (
    ConcordanceCorrelation,
    PearsonCorrelation,
    concordance_correlation,
    pearson_correlation,
)
from convscope.metrics.fscore import F1Score, FBetaScore
from convscope.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from convscope.metrics.probabilistic import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    Hinge,
    KLDivergence,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from convscope.metrics.rates import (
    PrecisionAtRecall,
    RecallAtPrecision,
    SensitivityAtSpecificity,
    SpecificityAtSensitivity,
)
from convscope.metrics.regression import (
    CosineSimilarity,
    LogCoshError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    R2Score,
    RootMeanSquaredError,
)

__all__ = [
    "ACCURACY_FOR_LOSS", "AUC", "Accuracy", "BinaryAccuracy", "BinaryCrossentropy", "BinaryIoU",
    "CategoricalAccuracy", "CategoricalCrossentropy", "CategoricalHinge", "CosineSimilarity", "F1Score",
    "FBetaScore", "FalseNegatives", "FalsePositives", "Hinge", "IoU", "KLDivergence", "LogCoshError", "METRICS",
    "Mean", "MeanAbsoluteError", "MeanAbsoluteErrorMetric", "MeanAbsolutePercentageError", "MeanIoU",
    "MeanMetricWrapper", "MeanSquaredError", "MeanSquaredErrorMetric", "MeanSquaredLogarithmicError", "Metric",
    "MetricVariable", "OneHotIoU", "OneHotMeanIoU", "Poisson", "Precision", "R2Score", "Recall",
    "RootMeanSquaredError", "SparseCategoricalAccuracy", "SparseCategoricalCrossentropy",
    "SparseTopKCategoricalAccuracy", "SquaredHinge", "TopKCategoricalAccuracy", "TrueNegatives", "TruePositives",
    "accuracy", "binary_accuracy", "binary_crossentropy", "binary_focal_crossentropy", "categorical_accuracy",
    "categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge", "get", "hinge", "huber",
    "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error", "mean_squared_error",
    "mean_squared_logarithmic_error", "poisson", "sparse_categorical_accuracy", "sparse_categorical_crossentropy",
    "sparse_top_k_categorical_accuracy", "squared_hinge", "top_k_categorical_accuracy",
    "ConcordanceCorrelation", "PearsonCorrelation", "concordance_correlation", "pearson_correlation",
    "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity", "SpecificityAtSensitivity",
]

METRICS: dict[str, Callable[..., Metric]] = {
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "precision": Precision, "recall": Recall, "auc": AUC,
    "true_positives": TruePositives, "true_negatives": TrueNegatives,
    "false_positives": FalsePositives, "false_negatives": FalseNegatives,
    "f1_score": F1Score, "f_beta_score": FBetaScore,
    "io_u": IoU, "mean_io_u": MeanIoU, "binary_io_u": BinaryIoU, "one_hot_io_u": OneHotIoU,
    "one_hot_mean_io_u": OneHotMeanIoU,
    "root_mean_squared_error": RootMeanSquaredError, "r2_score": R2Score,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "msle": MeanSquaredLogarithmicError,
    "cosine_similarity": CosineSimilarity, "log_cosh_error": LogCoshError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "poisson": Poisson,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "pearson_correlation": PearsonCorrelation, "concordance_correlation": ConcordanceCorrelation,
    "precision_at_recall": PrecisionAtRecall, "recall_at_precision": RecallAtPrecision,
    "sensitivity_at_specificity": SensitivityAtSpecificity, "specificity_at_sensitivity": SpecificityAtSensitivity,
}
# compile(metrics=[keras.metrics.sparse_categorical_accuracy]) gets the class of that name.
FUNCTIONS: dict[MetricFunction, Callable[..., MeanMetricWrapper]] = {
    categorical_accuracy: CategoricalAccuracy, sparse_categorical_accuracy: SparseCategoricalAccuracy,
    binary_accuracy: BinaryAccuracy, top_k_categorical_accuracy: TopKCategoricalAccuracy,
    sparse_top_k_categorical_accuracy: SparseTopKCategoricalAccuracy,
    mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError, log_cosh: LogCoshError,
    binary_crossentropy: BinaryCrossentropy, categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy, kl_divergence: KLDivergence, poisson: Poisson,
    hinge: Hinge, squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge,
    pearson_correlation: PearsonCorrelation, concordance_correlation: ConcordanceCorrelation,
}

# What "accuracy" means depends on the loss, as in Keras.
ACCURACY_FOR_LOSS: dict[str, Callable[..., MeanMetricWrapper]] = {
    "categorical_crossentropy": CategoricalAccuracy,
    "sparse_categorical_crossentropy": SparseCategoricalAccuracy,
    "binary_crossentropy": BinaryAccuracy,
}


def made(cls: Callable[..., Metric], identifier: str, **kwargs: Any) -> Metric:
    """`cls(**kwargs)`; a metric that needs arguments (MeanIoU's num_classes) says which.

    Raises:
        ValueError: naming the missing arguments.
    """
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ValueError(f"compile(metrics=...): metric {identifier!r} needs arguments ({error}); pass an instance "
                         f"instead, e.g. keras.metrics.{getattr(cls, '__name__', identifier)}(num_classes=3).") \
            from error


def get(identifier: Any, loss_name: str = "") -> tuple[str, Metric]:
    """(log name, metric) for a name, a Metric instance or a function `fn(y_true, y_pred)`;
    'accuracy'/'acc' follow the loss. A function's log name is its __name__.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, Metric):
        return identifier.name, identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            if loss_name in ACCURACY_FOR_LOSS:
                return identifier, ACCURACY_FOR_LOSS[loss_name](name=identifier)
            return identifier, MeanMetricWrapper(matching_accuracy, name=identifier)
        by_class = {cls.__name__: cls for cls in METRICS.values() if isinstance(cls, type)}
        if identifier in by_class:  # "AUC" is logged as Keras names it: "auc"
            metric = made(by_class[identifier], identifier)
            return metric.name, metric
        if key in METRICS:
            return identifier, made(METRICS[key], identifier, name=identifier)
        custom = _registry.get_registered_object(identifier)  # the user's own, named by a saved config
        if isinstance(custom, type) and issubclass(custom, Metric):
            metric = custom()
            return metric.name, metric
        if callable(custom) and not isinstance(custom, type):
            return identifier.rsplit(">", 1)[-1], MeanMetricWrapper(custom, identifier.rsplit(">", 1)[-1])
    elif callable(identifier) and not isinstance(identifier, type):
        name = getattr(identifier, "__name__", type(identifier).__name__)
        metric = FUNCTIONS[identifier](name=name) if identifier in FUNCTIONS else MeanMetricWrapper(identifier, name)
        return name, metric
    raise ValueError(
        f"compile(metrics=...): unknown metric {identifier!r}. Expected one of: accuracy, "
        f"{', '.join(METRICS)}, a keras.metrics.Metric or a function fn(y_true, y_pred). "
        f"{_registry.unknown_object_hint('metric', identifier)} Or load with compile=False and compile again "
        "with that metric.")

