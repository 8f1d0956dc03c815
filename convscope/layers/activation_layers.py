"""LeakyReLU, PReLU and ELU: activations as layers, any input shape in, the same shape out."""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convscope import constraints, initializers, regularizers
from convscope.layers.base import Layer, WeightSlot
from convscope.layers.input_spec import Shape


def _non_negative(value: Any, argument: str, owner: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{owner}: {argument} must be a finite number >= 0; got {value!r}.")
    return float(value)


class LeakyReLU(Layer):
    """x for x >= 0, negative_slope * x below (Keras 3's default slope is 0.3).

    Keras 2's `alpha=` is taken for `negative_slope=` with a warning.

    >>> LeakyReLU(negative_slope=0.1)
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any) -> None:
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("LeakyReLU: `alpha` is Keras 2's name; write negative_slope="
                          f"{negative_slope!r} (alpha= still works).", stacklevel=2)
        super().__init__(**kwargs)
        self.negative_slope = _non_negative(negative_slope, "negative_slope", "LeakyReLU")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(inputs, self.negative_slope)

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs  # the whole layer is the activation

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """x for x > 0, alpha * (exp(x) - 1) below.

    >>> ELU(alpha=1.0)
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, alpha: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.alpha = _non_negative(alpha, "alpha", "ELU")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.elu(inputs, self.alpha)

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """x for x >= 0, alpha * x below, with `alpha` learned: one weight per input value, shared
    along `shared_axes` (e.g. [1, 2] after a Conv2D: one slope per channel).

    Weight: alpha, shaped like one sample with 1 on the shared axes.

    >>> PReLU(shared_axes=[1, 2])
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, alpha_initializer: Any = "Zeros", alpha_regularizer: Any = None,
                 alpha_constraint: Any = None, shared_axes: int | list[int] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "PReLU" if self.auto_named else self.label
        self.alpha_initializer = initializers.get(alpha_initializer, owner=f"{owner} alpha_initializer")
        self.alpha_regularizer = regularizers.get(alpha_regularizer, owner=f"{owner} alpha_regularizer")
        self.alpha_constraint = constraints.get(alpha_constraint, owner=f"{owner} alpha_constraint")
        axes = None if shared_axes is None else list(shared_axes) if isinstance(shared_axes, (list, tuple)) \
            else [shared_axes]
        if axes is not None and not all(isinstance(a, int) and not isinstance(a, bool) and a >= 1 for a in axes):
            raise ValueError(f"{owner}: shared_axes must be axes >= 1 (axis 0 is the batch); got {shared_axes!r}.")
        self.shared_axes = axes

    def build_weights(self, input_shape: Shape) -> None:
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if axis >= len(input_shape):
                raise ValueError(f"{self.label}: shared axis {axis} does not exist in input {tuple(input_shape)}.")
            shape[axis - 1] = 1
        if None in shape:
            raise ValueError(f"{self.label}: every axis without a shared alpha must have a known size; got input "
                             f"{tuple(input_shape)}. Share the unknown axes: shared_axes=[...].")
        self.alpha = nn.Parameter(self.alpha_initializer(tuple(shape)))  # type: ignore[arg-type]

    def keras_weights(self) -> list[WeightSlot]:
        if not self.built:
            return []
        return [("alpha", self.alpha, tuple(range(self.alpha.dim())))]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.relu(inputs) - self.alpha * torch.relu(-inputs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}
