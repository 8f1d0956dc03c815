"""Losses with Keras's names, arguments and calling convention: `loss(y_true, y_pred)`.

    >>> float(get("huber")([[0.0, 1.0]], [[0.5, 3.0]]))  # (0.5 * 0.5^2 + (2 - 0.5)) / 2
    0.8125

`core` holds the Loss base, its reductions and the cross-entropy and error losses; `regression`,
`probabilistic` and `margins` the others. `get` turns a name (as compile takes it: "huber",
"mape", "kld", "BinaryFocalCrossentropy"), a {"class_name", "config"} dict, an instance or a
function into a Loss.
"""

from __future__ import annotations

from typing import Any

from convscope import _registry
from convscope.losses.core import (
    MAE,
    MSE,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Loss,
    LossFunction,
    LossFunctionWrapper,
    MeanAbsoluteError,
    MeanSquaredError,
    SparseCategoricalCrossentropy,
    binary_crossentropy,
    categorical_crossentropy,
    mae,
    mean_absolute_error,
    mean_squared_error,
    mse,
    sparse_categorical_crossentropy,
)
from convscope.losses.margins import (
    CategoricalHinge,
    Dice,
    Hinge,
    SquaredHinge,
    Tversky,
    categorical_hinge,
    dice,
    hinge,
    squared_hinge,
    tversky,
)
from convscope.losses.probabilistic import (
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    KLDivergence,
    Poisson,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
    kl_divergence,
    poisson,
)
from convscope.losses.regression import (
    CosineSimilarity,
    Huber,
    LogCosh,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    cosine_similarity,
    huber,
    log_cosh,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
)

__all__ = [
    "KLD", "LOSSES", "MAE", "MAPE", "MSE", "MSLE", "BinaryCrossentropy", "BinaryFocalCrossentropy",
    "CategoricalCrossentropy", "CategoricalFocalCrossentropy", "CategoricalHinge", "CosineSimilarity", "Dice", "Huber",
    "Hinge", "KLDivergence", "LogCosh", "Loss", "LossFunctionWrapper", "MeanAbsoluteError",
    "MeanAbsolutePercentageError", "MeanSquaredError", "MeanSquaredLogarithmicError", "Poisson",
    "SparseCategoricalCrossentropy", "SquaredHinge", "Tversky", "binary_crossentropy", "binary_focal_crossentropy",
    "categorical_crossentropy", "categorical_focal_crossentropy", "categorical_hinge", "cosine_similarity", "dice",
    "get", "hinge", "huber", "kl_divergence", "kld", "log_cosh", "mae", "mape", "mean_absolute_error",
    "mean_absolute_percentage_error", "mean_squared_error", "mean_squared_logarithmic_error", "mse", "msle",
    "poisson", "serialize", "sparse_categorical_crossentropy", "squared_hinge", "tversky",
]

kld = KLD = kl_divergence
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error

# Names compile takes, as Keras's: each function's name (first: it is what a file gets), the
# class's default name and Keras's short aliases.
LOSSES: dict[str, type[Loss]] = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError, "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError, "msle": MeanSquaredLogarithmicError,
    "cosine_similarity": CosineSimilarity,
    "huber": Huber,
    "log_cosh": LogCosh,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
    "poisson": Poisson,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "dice": Dice, "tversky": Tversky,
}
# compile(loss=keras.losses.huber) trains through the class (and its target checks).
FUNCTIONS: dict[LossFunction, type[Loss]] = {
    categorical_crossentropy: CategoricalCrossentropy,
    sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
    binary_crossentropy: BinaryCrossentropy,
    mean_squared_error: MeanSquaredError,
    mean_absolute_error: MeanAbsoluteError,
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    cosine_similarity: CosineSimilarity, huber: Huber, log_cosh: LogCosh,
    kl_divergence: KLDivergence, poisson: Poisson,
    binary_focal_crossentropy: BinaryFocalCrossentropy, categorical_focal_crossentropy: CategoricalFocalCrossentropy,
    hinge: Hinge, squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge, dice: Dice, tversky: Tversky,
}


def get(identifier: Any) -> Loss:
    """A loss from a name, a {"class_name", "config"} dict, an instance or a function
    `fn(y_true, y_pred)` returning per-sample (or scalar) values.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if isinstance(identifier, Loss):
        return identifier
    config: dict[str, Any] = {}
    if isinstance(identifier, dict):
        identifier, config = identifier.get("class_name"), identifier.get("config", {})
    if isinstance(identifier, str):
        cls = LOSSES.get(identifier.lower()) or next(
            (cls for cls in LOSSES.values() if cls.__name__ == identifier), None)
        if cls is not None:
            return cls(**config)
        custom = _registry.get_registered_object(identifier)  # the user's own, named by a saved config
        if isinstance(custom, type) and issubclass(custom, Loss):
            return custom(**config)
        if callable(custom) and not isinstance(custom, type):
            return LossFunctionWrapper(custom, **config)
    elif callable(identifier) and not isinstance(identifier, type):
        return FUNCTIONS[identifier]() if identifier in FUNCTIONS else LossFunctionWrapper(identifier)
    raise ValueError(f"compile(loss=...): unknown loss {identifier!r}. Expected one of: {', '.join(LOSSES)}, "
                     "a keras.losses.Loss or a function fn(y_true, y_pred). "
                     f"{_registry.unknown_object_hint('loss', identifier)} Or load with compile=False and "
                     "compile again with that loss.")


def kind(loss: Loss) -> str:
    """The registry name of a built-in loss (also for a renamed or subclassed one), else its name."""
    return next((key for key, cls in LOSSES.items() if isinstance(loss, cls)), loss.name)


def serialize(loss: Loss) -> dict[str, Any]:
    """{"class_name", "config"}; a custom loss keeps only its name (it cannot be rebuilt)."""
    name = next((key for key, cls in LOSSES.items() if type(loss) is cls), None)
    return {"class_name": name or loss.name, "config": loss.get_config() if name else {}}
