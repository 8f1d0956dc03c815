"""Normalization: (x - mean) / sqrt(variance) with statistics learned from data by `adapt`, so a
model takes raw features (spectra, tabular columns, pixels) and standardises them itself."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import torch

from convscope.layers.base import Layer, WeightSlot
from convscope.layers.input_spec import Shape

EPSILON = 1e-7  # Keras's backend.epsilon(): the smallest standard deviation divided by


class Normalization(Layer):
    """Standardises inputs per entry of the `axis` axes (the last by default: one mean and
    variance per feature or channel), with statistics computed over every other axis.

    Either give `mean` and `variance` (numbers, or arrays broadcast over the kept axes), or
    call `adapt(data)` before training; `invert=True` maps standardised values back
    (x * sqrt(variance) + mean). Adapted statistics are the weights `mean`, `variance` and
    `count`, as Keras stores them in files; given ones are part of the config instead.

    Shapes: any input, the same shape out.

    >>> norm = Normalization()
    >>> norm.adapt(x_train)  # x_train: (samples, features)
    >>> model = Sequential([Input((13,)), norm, Dense(1)])

    Raises:
        ValueError: for only one of mean/variance, axes outside the input's rank or of unknown
            size, and data for `adapt` whose kept axes differ from the built input's.
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    mean: torch.Tensor | None
    variance: torch.Tensor | None
    count: torch.Tensor | None

    def __init__(self, axis: int | Iterable[int] | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "Normalization" if self.auto_named else self.label
        axes = () if axis is None else (axis,) if isinstance(axis, int) else tuple(axis) \
            if isinstance(axis, (list, tuple)) else None
        if axes is None or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(f"{owner}: axis must be an int, a list of ints or None; got {axis!r}.")
        if (mean is None) != (variance is None):
            raise ValueError(f"{owner}: give both mean and variance, or neither (then call adapt(data)); "
                             f"got mean={mean!r}, variance={variance!r}.")
        self.axis: tuple[int, ...] = axes
        self.invert = bool(invert)
        self.input_mean, self.input_variance = mean, variance
        if mean is not None:
            for name, value in (("mean", mean), ("variance", variance)):
                try:
                    np.asarray(value, dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError(f"{owner}: {name} must be a number or an array of numbers; got "
                                     f"{value!r}.") from None
            shapes = np.shape(mean), np.shape(variance)
            if shapes[0] != shapes[1] or len(shapes[0]) > len(axes):
                raise ValueError(f"{owner}: mean and variance must have the same shape, of rank at most "
                                 f"{len(axes)} (one axis per kept axis {axes}); got shapes {shapes[0]} and "
                                 f"{shapes[1]}.")
            if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance)) and np.all(np.asarray(variance) >= 0)):
                raise ValueError(f"{owner}: mean must be finite and variance finite and >= 0.")
        for name in ("mean", "variance", "count"):  # made by build_weights when adapt() is to set them
            self.register_buffer(name, None)

    def kept_axes(self, input_shape: Shape) -> tuple[int, ...]:
        rank = len(input_shape)
        if any(not -rank <= a < rank for a in self.axis):
            raise ValueError(f"{self.label}: axis {self.axis} is out of range for {rank}-D input "
                             f"{tuple(input_shape)}.")
        kept = tuple(sorted(a % rank for a in self.axis))
        if any(input_shape[a] is None for a in kept):
            raise ValueError(f"{self.label}: the kept axes {self.axis} must have known sizes; got input shape "
                             f"{tuple(input_shape)}.")
        return kept

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        kept = self.kept_axes(input_shape)
        if self.input_mean is not None:
            given = np.shape(self.input_mean)
            sizes = tuple(input_shape[axis] for axis in kept[len(kept) - len(given):])
            if any(size not in (1, want) for size, want in zip(given, sizes)):
                raise ValueError(f"{self.label}: mean and variance of shape {given} do not fit the kept axes "
                                 f"{self.axis} of input {tuple(input_shape)} (sizes {sizes}); give one value per "
                                 "entry of those axes, or a single number.")
        return tuple(input_shape)

    def build_weights(self, input_shape: Shape) -> None:
        shape = tuple(int(input_shape[a]) for a in self.kept_axes(input_shape))  # type: ignore[arg-type]
        if self.input_mean is not None:
            return  # given statistics live in the config, not in weights
        self.register_buffer("mean", torch.zeros(shape))
        self.register_buffer("variance", torch.ones(shape))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    def keras_weights(self) -> list[WeightSlot]:
        if self.mean is None or self.variance is None or self.count is None:
            return []
        # Keras keeps count (and, with axis=None, mean and variance) as scalars; the slots hold
        # them as 1-D views (an empty permutation is none to torch), and get/set_weights speak
        # Keras's shapes.
        return [(name, tensor.view(-1) if tensor.dim() == 0 else tensor,
                 (0,) if tensor.dim() == 0 else tuple(range(tensor.dim())))
                for name, tensor in (("mean", self.mean), ("variance", self.variance), ("count", self.count))]

    def keras_shapes(self) -> list[tuple[int, ...]]:
        assert self.mean is not None
        return [tuple(self.mean.shape), tuple(self.mean.shape), ()]

    def get_weights(self) -> list[np.ndarray]:
        weights = super().get_weights()
        return [w.reshape(shape) for w, shape in zip(weights, self.keras_shapes())] if weights else weights

    def set_weights(self, weights: list[np.ndarray]) -> None:
        weights = list(weights)
        if len(weights) == 3 and self.mean is not None:
            weights = [np.reshape(w, (1,)) if np.shape(w) == () and shape == () else w
                       for w, shape in zip(weights, self.keras_shapes())]
        super().set_weights(weights)

    def statistics(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance shaped to broadcast against `inputs` (kept axes, 1 elsewhere)."""
        assert self.input_shape is not None  # built by check_input
        kept = self.kept_axes(self.input_shape)
        broadcast = [inputs.shape[d] if d in kept else 1 for d in range(inputs.dim())]
        if self.input_mean is None:
            assert self.mean is not None and self.variance is not None
            return self.mean.reshape(broadcast), self.variance.reshape(broadcast)
        given = []
        for value in (self.input_mean, self.input_variance):
            tensor = torch.as_tensor(np.asarray(value, np.float32), device=inputs.device)
            expanded = [1] * inputs.dim()
            for offset in range(1, tensor.dim() + 1):  # Keras aligns a given array with the last kept axes
                expanded[kept[-offset]] = tensor.shape[-offset]
            given.append(tensor.reshape(expanded).expand(broadcast))
        return given[0], given[1]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        inputs = inputs if inputs.is_floating_point() else inputs.float()
        mean, variance = self.statistics(inputs)
        scale = torch.sqrt(variance.to(inputs.dtype)).clamp_min(EPSILON)
        return mean + inputs * scale if self.invert else (inputs - mean) / scale

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Set `mean` and `variance` (population variance) from `data`: an array of samples
        (batch axis first) or an iterable of such batches (pooled as Keras pools them). `count`
        stays as it was, as in Keras 3 (which never updates it).

        Raises:
            ValueError: with given mean/variance, or data whose kept axes differ from the build's.
        """
        if self.input_mean is not None:
            raise ValueError(f"{self.label}: adapt() learns mean and variance, but they were given; make the "
                             "layer without mean and variance to adapt it.")
        batches = [np.asarray(data)] if hasattr(data, "shape") else [np.asarray(batch) for batch in data]
        if not batches:
            raise ValueError(f"{self.label}: adapt() received no data; pass an array or a list of batches.")
        first = batches[0].shape
        if not self.built:
            self.build((None, *first[1:]))
        assert self.input_shape is not None and self.mean is not None and self.variance is not None
        kept = self.kept_axes(self.input_shape)
        total_mean, total_variance, total_count = np.zeros(self.mean.shape), np.zeros(self.mean.shape), 0
        for batch in batches:
            if batch.ndim != len(self.input_shape) or any(batch.shape[d] != self.input_shape[d] for d in kept):
                raise ValueError(f"{self.label} was built for input shape {self.input_shape}, but adapt() got data "
                                 f"of shape {batch.shape}; the axes {self.axis} must match.")
            reduce = tuple(d for d in range(batch.ndim) if d not in kept)
            values = batch.astype(np.float64)
            count = math.prod(batch.shape[d] for d in reduce)
            mean, variance = values.mean(axis=reduce), values.var(axis=reduce)
            total_count += count  # Keras's running merge of batch statistics
            weight = count / total_count
            new_mean = total_mean * (1 - weight) + mean * weight
            total_variance = (total_variance + (total_mean - new_mean) ** 2) * (1 - weight) + \
                (variance + (mean - new_mean) ** 2) * weight
            total_mean = new_mean
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(total_mean, dtype=self.mean.dtype))
            self.variance.copy_(torch.as_tensor(total_variance, dtype=self.variance.dtype))

    def get_config(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            return None if value is None else np.asarray(value, dtype=np.float64).tolist()
        return {**super().get_config(), "axis": list(self.axis), "invert": self.invert,
                "mean": plain(self.input_mean), "variance": plain(self.input_variance)}
