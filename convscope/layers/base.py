"""The Layer base class: a `torch.nn.Module` with Keras's life cycle.

`__init__` validates arguments, `build(input_shape)` creates weights once the input shape is
known, `compute_output_shape` is pure, `call` does the maths on channels-last tensors, and
`get_config`/`from_config` round-trip through JSON. Weights are kept in PyTorch's layout for
speed; `get_weights`/`set_weights` speak Keras's layout.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch
from torch import nn

from convscope import activations, constraints, initializers, regularizers
from convscope.layers import input_spec
from convscope.layers.input_spec import Shape

# (Keras name, tensor, permutation from PyTorch's layout to Keras's): one entry of `keras_weights`.
WeightSlot = tuple[str, torch.Tensor, tuple[int, ...]]


def snake_case(name: str) -> str:
    """Keras's automatic layer name (its own rule): Conv2D -> conv2d, MaxPooling2D ->
    max_pooling2d, PReLU -> p_re_lu, Conv2DTranspose -> conv2d_transpose."""
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer(nn.Module):
    """Base of every convscope layer.

    Subclasses set `input_rank` (axes including batch, or None for any), implement
    `build_weights`, `compute_output_shape` and `call`, and list their weights in Keras order
    in `keras_weights()`.
    """

    input_rank: int | None = None

    def __init__(self, *, name: str | None = None, input_shape: tuple[int | None, ...] | None = None,
                 trainable: bool = True, activity_regularizer: Any = None, **unknown: Any) -> None:
        super().__init__()
        kind = type(self).__name__
        if unknown:
            raise ValueError(f"{kind}: unknown argument(s) {', '.join(sorted(unknown))}.")
        if name is not None and not (isinstance(name, str) and name):
            raise ValueError(f"{kind}: name must be a non-empty string; got {name!r}.")
        self.name = name or snake_case(kind)
        self.auto_named = name is None
        self.declared_input_shape = None if input_shape is None else (None, *tuple(input_shape))
        self.activity_regularizer = regularizers.get(activity_regularizer, owner=f"{kind} activity_regularizer")
        self.activity_penalty: torch.Tensor | None = None
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self.built = False
        self._trainable = bool(trainable)

    # -- identity -------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """How errors name this layer: `Conv2D 'conv2d_1'`."""
        return f"{type(self).__name__} '{self.name}'"

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for parameter in self.parameters():
            parameter.requires_grad_(self._trainable)

    # -- life cycle -----------------------------------------------------------------------
    def build(self, input_shape: Shape) -> None:
        """Check `input_shape` (batch included), create weights, infer the output shape."""
        input_shape = tuple(input_shape)
        if self.input_rank is not None:
            input_spec.check_rank(self.label, self.input_rank, input_shape, getattr(self, "data_format", "channels_last"))
        self.output_shape = self.compute_output_shape(input_shape)
        if not self.built:
            self.build_weights(input_shape)
            self.trainable = self._trainable
        self.input_shape = input_shape
        self.built = True

    def build_weights(self, input_shape: Shape) -> None:
        """Create parameters for `input_shape`; layers without weights keep the default."""

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self.check_input(inputs)
        outputs = self.call(inputs)
        if self.activity_regularizer is not None:
            # Keras divides the activity penalty by the batch size.
            self.activity_penalty = self.activity_regularizer(outputs) / inputs.shape[0]
        return outputs

    def forward_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Like `forward`, but stopping before the layer's final activation."""
        self.check_input(inputs)
        return self.pre_activation(inputs)

    def check_input(self, inputs: torch.Tensor) -> None:
        if not self.built:
            self.build((None, *inputs.shape[1:]))
        elif self.input_shape is not None:
            input_spec.check_compatible(self.label, self.input_shape, tuple(inputs.shape))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        """The output before the activation; layers that end in one override this."""
        return self.call(inputs)

    # -- configuration --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        if self.declared_input_shape is not None:
            config["input_shape"] = list(self.declared_input_shape[1:])
        if self.activity_regularizer is not None:
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    # -- weights --------------------------------------------------------------------------
    def keras_weights(self) -> list[WeightSlot]:
        """(Keras name, tensor, permutation from PyTorch's layout to Keras's), in Keras order."""
        return []

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays in Keras's layout and order."""
        return [tensor.detach().permute(*order).cpu().numpy().copy() for _, tensor, order in self.keras_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Load Keras-layout arrays; shapes must match exactly."""
        slots = self.keras_weights()
        if len(weights) != len(slots):
            raise ValueError(
                f"{self.label}: set_weights expects {len(slots)} arrays "
                f"({', '.join(name for name, _, _ in slots) or 'none'}); got {len(weights)}."
            )
        for (name, tensor, order), value in zip(slots, weights):
            value = np.asarray(value)
            want = tuple(tensor.shape[axis] for axis in order)
            if value.shape != want:
                raise ValueError(
                    f"{self.label}: weight '{name}' expects shape {want} (Keras layout); got {value.shape}."
                )
            inverse = tuple(int(axis) for axis in np.argsort(order))
            source = torch.as_tensor(value, dtype=tensor.dtype).permute(*inverse)
            with torch.no_grad():
                tensor.copy_(source)

    def count_params(self) -> int:
        """The number of weights in the layer, trainable or not (an int, as in Keras)."""
        return sum(self.param_counts())

    def param_counts(self) -> tuple[int, int]:
        """(trainable, non-trainable) weight counts, as Keras's summary shows them."""
        trainable = non_trainable = 0
        for _, tensor, _ in self.keras_weights():
            if isinstance(tensor, nn.Parameter) and self.trainable:
                trainable += tensor.numel()
            else:
                non_trainable += tensor.numel()
        return trainable, non_trainable

    # -- training hooks -------------------------------------------------------------------
    def regularization_penalty(self) -> torch.Tensor | None:
        """Weight penalties (`<weight>_regularizer`) plus the last activity penalty, or None."""
        terms = [self.activity_penalty] if self.activity_penalty is not None else []
        for name, tensor, _ in self.keras_weights():
            regularizer = getattr(self, f"{name}_regularizer", None)
            if regularizer is not None:
                terms.append(regularizer(tensor))
        return sum(terms[1:], terms[0]) if terms else None

    @torch.no_grad()
    def apply_constraints(self) -> None:
        """Project weights onto their `<weight>_constraint`, seen in Keras's layout."""
        for name, tensor, order in self.keras_weights():
            constraint = getattr(self, f"{name}_constraint", None)
            if constraint is not None:
                inverse = tuple(int(axis) for axis in np.argsort(order))
                tensor.copy_(constraint(tensor.permute(*order)).permute(*inverse))

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


class KernelLayer(Layer):
    """A layer with a kernel, an optional bias and an activation (Dense, Conv1D, Conv2D):
    the Keras arguments they share are parsed and serialised here once."""

    def set_kernel_options(self, owner: str, activation: Any, use_bias: bool, kernel_initializer: Any,
                           bias_initializer: Any, kernel_regularizer: Any, bias_regularizer: Any,
                           kernel_constraint: Any, bias_constraint: Any) -> None:
        self.activation = activations.get(activation, owner=owner)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, owner=f"{owner} kernel_initializer")
        self.bias_initializer = initializers.get(bias_initializer, owner=f"{owner} bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer, owner=f"{owner} kernel_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, owner=f"{owner} bias_regularizer")
        self.kernel_constraint = constraints.get(kernel_constraint, owner=f"{owner} kernel_constraint")
        self.bias_constraint = constraints.get(bias_constraint, owner=f"{owner} bias_constraint")

    def kernel_options_config(self) -> dict[str, Any]:
        return {
            "activation": activations.name_of(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(self.pre_activation(inputs))
