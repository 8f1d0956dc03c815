"""LayerNormalization, GroupNormalization and UnitNormalization: normalisation within each
sample, so the batch size does not matter (small 3-D batches, sequences, modern nets).

Every sample is normalised on its own, with statistics over the `axis` values (LayerNormalization),
over each group of channels and every other non-batch axis (GroupNormalization), or to unit L2
norm along `axis` (UnitNormalization); the output has the input's shape. The first two then scale
by `gamma` and shift by `beta`, learned per normalised value (Layer) or per channel (Group):
    y = (x - mean) / sqrt(variance + epsilon) * gamma + beta
The variance is the biased one (divided by n), as in Keras.
"""

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


def _axes(value: Any, owner: str) -> int | list[int]:
    """`axis` as Keras takes it: an int or a list of ints (kept as given, a tuple as a list)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(value)
    raise ValueError(f"{owner}: axis must be an int or a non-empty list of ints; got {value!r}.")


def _feature_axes(layer: Layer, axes: list[int], input_shape: Shape) -> list[int]:
    """`axes` as non-negative axes of an input of `input_shape`; a ValueError naming the layer
    for the batch axis or an axis the input lacks."""
    rank = len(input_shape)
    for axis in axes:
        if not -rank <= axis < rank or axis % rank == 0:
            raise ValueError(f"{layer.label}: axis {axis} is not a feature axis of its {rank}-D input "
                             f"{tuple(input_shape)}; use 1..{rank - 1} or -1..-{rank - 1} (axis 0 is the batch).")
    return [axis % rank for axis in axes]


class AffineNormalization(Layer):
    """Normalisation followed by a learned scale `gamma` (with `scale`) and offset `beta` (with
    `center`): their arguments are checked and serialised here once."""

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, epsilon: float, center: bool, scale: bool, beta_initializer: Any, gamma_initializer: Any,
                 beta_regularizer: Any, gamma_regularizer: Any, beta_constraint: Any, gamma_constraint: Any,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or not math.isfinite(epsilon) \
                or epsilon < 0:
            raise ValueError(f"{owner}: epsilon must be a finite number >= 0 (added to the variance); "
                             f"got {epsilon!r}.")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer, owner=f"{owner} beta_initializer")
        self.gamma_initializer = initializers.get(gamma_initializer, owner=f"{owner} gamma_initializer")
        self.beta_regularizer = regularizers.get(beta_regularizer, owner=f"{owner} beta_regularizer")
        self.gamma_regularizer = regularizers.get(gamma_regularizer, owner=f"{owner} gamma_regularizer")
        self.beta_constraint = constraints.get(beta_constraint, owner=f"{owner} beta_constraint")
        self.gamma_constraint = constraints.get(gamma_constraint, owner=f"{owner} gamma_constraint")
        self.gamma: nn.Parameter | None = None
        self.beta: nn.Parameter | None = None

    def make_affine(self, shape: tuple[int, ...], *, scale: bool, center: bool) -> None:
        self.gamma = nn.Parameter(self.gamma_initializer(shape)) if scale else None
        self.beta = nn.Parameter(self.beta_initializer(shape)) if center else None

    def keras_weights(self) -> list[WeightSlot]:
        if not self.built:
            return []
        return [(name, tensor, tuple(range(tensor.dim()))) for name, tensor in
                (("gamma", self.gamma), ("beta", self.beta)) if tensor is not None]

    def affine_config(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


class LayerNormalization(AffineNormalization):
    """Normalises each sample over `axis` (the channels by default; a list for several axes),
    then scales by `gamma` and shifts by `beta`, each of the normalised axes' shape. Any input
    rank of 2 or more; the output has the input's shape.

    `rms_scaling=True` is Keras 3's deprecated form: no mean is subtracted and no `beta` is made,
    y = x / sqrt(variance + epsilon) * gamma (the variance, not the mean square, as in Keras).

    >>> LayerNormalization()               # per position, over the channels
    >>> LayerNormalization(axis=[1, 2, 3]) # over a whole (batch, h, w, c) feature map
    """

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.axis: int | list[int] = _axes(axis, owner)
        self.rms_scaling = bool(rms_scaling)
        if self.rms_scaling:
            warnings.warn(f"{owner}: rms_scaling=True is deprecated in Keras 3 and, as there, divides by the "
                          "standard deviation, not the root mean square.", UserWarning, stacklevel=2)

    def listed_axes(self) -> list[int]:
        return self.axis if isinstance(self.axis, list) else [self.axis]

    def build_weights(self, input_shape: Shape) -> None:
        # Keras sorts the axes as given and keeps them as a list from here on.
        self.axis = sorted(self.listed_axes())
        _feature_axes(self, self.axis, input_shape)
        shape = tuple(input_shape[axis] for axis in self.axis)
        if any(size is None for size in shape):
            raise ValueError(f"{self.label}: the normalised axes {self.axis} of input {tuple(input_shape)} must "
                             "have known sizes.")
        self.make_affine(shape, scale=self.scale or self.rms_scaling,  # type: ignore[arg-type]
                         center=self.center and not self.rms_scaling)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _feature_axes(self, self.listed_axes(), input_shape)
        return tuple(input_shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        axes = _feature_axes(self, self.listed_axes(), tuple(inputs.shape))
        broadcast = [size if axis in axes else 1 for axis, size in enumerate(inputs.shape)]
        gamma = None if self.gamma is None else self.gamma.reshape(broadcast)
        beta = None if self.beta is None else self.beta.reshape(broadcast)
        if self.rms_scaling:
            variance = inputs.var(dim=axes, correction=0, keepdim=True)
            outputs = inputs * torch.rsqrt(variance + self.epsilon)
            return outputs if gamma is None else outputs * gamma
        trailing = list(range(inputs.dim() - len(axes), inputs.dim()))
        if sorted(axes) == trailing:  # PyTorch's fused kernel normalises the last axes
            normalized = tuple(inputs.shape[inputs.dim() - len(axes):])
            return F.layer_norm(inputs, normalized, None if gamma is None else gamma.reshape(normalized),
                                None if beta is None else beta.reshape(normalized), self.epsilon)
        variance, mean = torch.var_mean(inputs, dim=axes, correction=0, keepdim=True)
        outputs = (inputs - mean) * torch.rsqrt(variance + self.epsilon)
        outputs = outputs if gamma is None else outputs * gamma
        return outputs if beta is None else outputs + beta

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, **self.affine_config(), "rms_scaling": self.rms_scaling}


class GroupNormalization(AffineNormalization):
    """Splits the channels (`axis`) into `groups` groups and normalises each group of each
    sample over its channels and every other non-batch axis; then `gamma` and `beta` per channel.
    groups=1 is layer normalisation over the whole sample, groups=-1 (one channel a group)
    instance normalisation. The channels must be divisible by `groups`.

    >>> GroupNormalization(groups=4)  # (batch, d, h, w, 16): 4 groups of 4 channels
    """

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(epsilon, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                         gamma_regularizer, beta_constraint, gamma_constraint, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        if not isinstance(groups, int) or isinstance(groups, bool) or (groups <= 0 and groups != -1):
            raise ValueError(f"{owner}: groups must be a positive integer (or -1 for instance normalization); "
                             f"got {groups!r}.")
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"{owner}: axis must be an int (the channel axis); got {axis!r}.")
        self.groups, self.axis = groups, axis

    def build_weights(self, input_shape: Shape) -> None:
        channels = input_shape[_feature_axes(self, [self.axis], input_shape)[0]]
        if channels is None:
            raise ValueError(f"{self.label}: axis {self.axis} of input {tuple(input_shape)} must have a known size.")
        if self.groups == -1:
            self.groups = channels  # Keras keeps the resolved number in its config
        if channels < self.groups or channels % self.groups:
            raise ValueError(f"{self.label}: {channels} channels (input shape {tuple(input_shape)}) cannot be split "
                             f"into groups={self.groups} equal groups. Use a groups value that divides {channels}.")
        self.make_affine((channels,), scale=self.scale, center=self.center)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _feature_axes(self, [self.axis], input_shape)
        return tuple(input_shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        axis = _feature_axes(self, [self.axis], tuple(inputs.shape))[0]
        # (N, C, *rest), PyTorch's layout for group_norm, copied: its CPU backward crashes on a
        # channels-last-strided input (torch 2.13).
        x = inputs.movedim(axis, 1).contiguous()
        if self.gamma is not None or self.beta is None:
            outputs = F.group_norm(x, self.groups, self.gamma, self.beta, self.epsilon)
        else:  # PyTorch's backward fails for a bias without a weight: add the offset here
            outputs = F.group_norm(x, self.groups, None, None, self.epsilon)
            outputs = outputs + self.beta.reshape(-1, *(1,) * (x.dim() - 2))
        return outputs.movedim(1, axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "groups": self.groups, "axis": self.axis, **self.affine_config()}


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm along `axis` (an int or a list of ints):
    y = x / sqrt(max(sum(x^2), 1e-24)), so an all-zero vector stays zero. No weights.

    >>> UnitNormalization()  # each embedding vector to length 1
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _axes(axis, type(self).__name__ if self.auto_named else self.label)

    def axes(self, input_shape: Shape) -> list[int]:
        return _feature_axes(self, self.axis if isinstance(self.axis, list) else [self.axis], input_shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self.axes(input_shape)
        return tuple(input_shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        square_sum = inputs.square().sum(dim=self.axes(tuple(inputs.shape)), keepdim=True)
        return inputs * torch.rsqrt(square_sum).clamp(max=1e12)  # Keras's epsilon 1e-12 on the norm

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
