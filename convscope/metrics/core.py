"""The Metric base classes and the accuracy and error metrics (per-sample functions and the
classes that average them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from convscope.layers.base import snake_case
from convscope.losses.core import (
    as_float_tensor,
    integer_labels,
    mean_absolute_error,
    mean_squared_error,
    same_rank,
)

MetricFunction = Callable[..., Any]


# -- per-sample functions (Keras's keras.metrics.<name>) --------------------------------------
def accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where y_pred equals y_true, elementwise: (N, ...) -> (N, ...)."""
    y_true, y_pred = same_rank(as_float_tensor(y_true), as_float_tensor(y_pred))
    return (y_true.to(y_pred.device) == y_pred).float()


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> torch.Tensor:
    """1.0 where (y_pred > threshold) equals y_true, elementwise.

    >>> binary_accuracy([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]]).flatten()
    tensor([1., 1., 1., 0.])
    """
    y_true, y_pred = same_rank(as_float_tensor(y_true), as_float_tensor(y_pred))
    return ((y_pred > threshold).float() == y_true.to(y_pred.device)).float()


def categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where argmax(y_pred) equals argmax(one-hot y_true): (N, C) -> (N,)."""
    y_pred = as_float_tensor(y_pred)
    return (as_float_tensor(y_true).to(y_pred.device).argmax(-1) == y_pred.argmax(-1)).float()


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where argmax(y_pred) equals the integer label: (N,) or (N, 1) labels, (N, C) -> (N,).

    >>> sparse_categorical_accuracy([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    tensor([0., 1.])
    """
    y_pred = as_float_tensor(y_pred)
    return (y_pred.argmax(-1) == integer_labels(y_true, y_pred)).float()


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """1.0 where the integer label is among the k largest of y_pred: (N, C) -> (N,)."""
    y_pred = as_float_tensor(y_pred)
    labels = integer_labels(y_true, y_pred)
    top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices
    return (top == labels.unsqueeze(-1)).any(-1).float()


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """1.0 where argmax(one-hot y_true) is among the k largest of y_pred: (N, C) -> (N,)."""
    y_pred = as_float_tensor(y_pred)
    return sparse_top_k_categorical_accuracy(as_float_tensor(y_true).to(y_pred.device).argmax(-1), y_pred, k)


def matching_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """What "accuracy" means when the loss does not say, chosen from the shapes as Keras does:
    binary for one output unit, sparse for integer labels, categorical for one-hot targets."""
    y_pred = as_float_tensor(y_pred)
    y_true = y_true if isinstance(y_true, torch.Tensor) else as_float_tensor(y_true)
    if y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred)
    if y_true.dim() == y_pred.dim() - 1 or (y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1):
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


# -- classes --------------------------------------------------------------------------------
class MetricVariable:
    """A metric's state, as Keras's `add_variable` returns it: `assign`, `assign_add`, and
    reads like a number or array (`float(v)`, `v.numpy()`, `v.value`)."""

    def __init__(self, shape: tuple[int, ...], initial: float, name: str | None = None) -> None:
        self.name, self.shape, self.initial = name, tuple(shape), float(initial)
        self.value = torch.full(self.shape, self.initial)

    def assign(self, value: Any) -> None:
        self.value = torch.broadcast_to(as_float_tensor(value).detach(), self.shape).clone()

    def assign_add(self, delta: Any) -> None:
        delta = as_float_tensor(delta).detach()
        self.value = self.value.to(delta.device) + delta

    def reset(self) -> None:
        self.value = torch.full(self.shape, self.initial)

    def numpy(self) -> Any:
        return self.value.cpu().numpy()

    def __float__(self) -> float:
        return float(self.value)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self.value.cpu().numpy().astype(dtype or "float32")


class Metric:
    """Keras's Metric base: subclasses implement `update_state` and `result`, and keep their
    state in `add_variable(...)` variables (which `reset_state` sets back) or override
    `reset_state`. `metric(y_true, y_pred)` updates the state and returns `result()`.
    """

    def __init__(self, dtype: Any = None, name: str | None = None) -> None:
        self.name = name or snake_case(type(self).__name__)
        self.dtype = dtype
        self.variables: list[MetricVariable] = []

    def add_variable(self, shape: tuple[int, ...] = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> MetricVariable:
        """A state variable filled with `initializer` ("zeros", "ones" or a number)."""
        initial = {"zeros": 0.0, "ones": 1.0}.get(initializer, initializer) if isinstance(initializer, str) \
            else initializer
        if not isinstance(initial, (int, float)):
            raise ValueError(f"{type(self).__name__}.add_variable: initializer must be 'zeros', 'ones' or a "
                             f"number; got {initializer!r}.")
        variable = MetricVariable(shape, float(initial), name)
        self.variables.append(variable)
        return variable

    def add_weight(self, shape: tuple[int, ...] = (), initializer: Any = "zeros", dtype: Any = None,
                   name: str | None = None) -> MetricVariable:
        """Keras's other name for `add_variable`."""
        return self.add_variable(shape, initializer, dtype, name=name)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        raise NotImplementedError(f"{type(self).__name__}: a Metric subclass implements update_state.")

    def result(self) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__}: a Metric subclass implements result.")

    def reset_state(self) -> None:
        """Forget every update (the engine calls it at the start of each epoch and evaluation)."""
        for variable in self.variables:
            variable.reset()

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        self.update_state(y_true, y_pred, sample_weight=sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class Mean(Metric):
    """The (weighted) mean of every value given to `update_state(values, sample_weight=None)`."""

    def __init__(self, name: str = "mean", dtype: Any = None) -> None:
        super().__init__(dtype=dtype, name=name)
        self.reset_state()

    def reset_state(self) -> None:
        self.total, self.count = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        values = as_float_tensor(values).detach()
        if sample_weight is None:
            weight = torch.ones_like(values)
        else:
            weight = as_float_tensor(sample_weight).to(values.device)
            values, weight = same_rank(values, weight)
            weight = torch.broadcast_to(weight.reshape(weight.shape + (1,) * (values.dim() - weight.dim())),
                                        values.shape)
        self.total = self.total.to(values.device) + (values * weight).sum().double()
        self.count = self.count.to(values.device) + weight.sum().double()

    def result(self) -> torch.Tensor:
        return (self.total / self.count if self.count > 0 else self.total * 0).float()


class MeanMetricWrapper(Mean):
    """A per-sample function `fn(y_true, y_pred, **kwargs)` averaged over every sample seen."""

    def __init__(self, fn: MetricFunction, name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(name=str(name or getattr(fn, "__name__", "mean_metric_wrapper")), dtype=dtype)
        self.fn, self.fn_kwargs = fn, kwargs

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)

    def batch(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-sample scores (N,) for one batch: the engine's path (outputs first)."""
        values = as_float_tensor(self.fn(targets, outputs, **self.fn_kwargs))
        if values.dim() == 0:
            return values.expand(len(outputs))
        return values.reshape(len(outputs), -1).mean(-1) if values.dim() > 1 else values

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.fn_kwargs}


class Accuracy(MeanMetricWrapper):
    """How often y_pred equals y_true."""

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often (y_pred > threshold) equals binary y_true."""

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5) -> None:
        if not 0 < threshold < 1:
            raise ValueError(f"BinaryAccuracy: threshold must be in (0, 1); got {threshold}.")
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches one-hot y_true."""

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often argmax(y_pred) matches integer y_true."""

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often one-hot y_true's class is among the k top predictions."""

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))
        self.k = int(k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often integer y_true is among the k top predictions."""

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=int(k))
        self.k = int(k)


class MeanSquaredError(MeanMetricWrapper):
    """mean((y_true - y_pred)^2) over every sample seen."""

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """mean(|y_true - y_pred|) over every sample seen."""

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


MeanSquaredErrorMetric, MeanAbsoluteErrorMetric = MeanSquaredError, MeanAbsoluteError
