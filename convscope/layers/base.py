"""The Layer base class: a `torch.nn.Module` with Keras's life cycle.

`__init__` validates arguments, `build(input_shape)` creates weights once the input shape is
known, `compute_output_shape` is pure, `call` does the maths on channels-last tensors, and
`get_config`/`from_config` round-trip through JSON. Weights are kept in PyTorch's layout for
speed; `get_weights`/`set_weights` speak Keras's layout.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from convscope import activations, constraints, initializers, regularizers
from convscope.layers import input_spec, symbolic
from convscope.layers.input_spec import Shape
from convscope.layers.symbolic import Node, SymbolicTensor

# (Keras name, tensor, permutation from PyTorch's layout to Keras's): one entry of `keras_weights`.
WeightSlot = tuple[str, torch.Tensor, tuple[int, ...]]
_creations = itertools.count()  # layers are numbered as made, so a model names them in Keras's order


@dataclass
class NameClaim:
    """A name a layer takes in its model: its own, or that of a layer made inside it (a
    TimeDistributed's layer, the layer a Bidirectional copies), which Keras counts as well.
    A model gives an automatic name its unique form (`rename`), in creation order."""

    name: str
    auto_named: bool
    creation_index: int
    rename: Callable[[str], None]


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
    takes_list = False  # merge layers take a list of tensors; the others one tensor
    supports_masking = False  # Keras's flag: a mask on the input reaches `compute_mask` (convscope.layers.masking)
    makes_masks = False  # whether `compute_mask` may make a mask of its own (Embedding(mask_zero=True), Masking)

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
        self.declared_input_shape = None if input_shape is None else (
            None, *input_spec.declared_sample_shape(kind, input_shape))
        self.activity_regularizer = regularizers.get(activity_regularizer, owner=f"{kind} activity_regularizer")
        self.activity_penalty: torch.Tensor | None = None
        self.input_shape: Shape | None = None
        self.output_shape: Shape | None = None
        self.built = False
        self._trainable = bool(trainable)
        self._observers: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()  # live hooks (see `observed`)
        self.creation_index = next(_creations)
        self.inbound_nodes: list[Node] = []  # one per call on symbolic tensors
        self.outbound_nodes: list[Node] = []  # the calls that consumed this layer's outputs

    # -- identity -------------------------------------------------------------------------
    def name_claim(self) -> NameClaim:
        """This layer's own name, as its model names it."""
        return NameClaim(self.name, self.auto_named, self.creation_index, lambda name: setattr(self, "name", name))

    def inner_name_claims(self) -> list[NameClaim]:
        """The names of layers made inside this one that its model counts (Keras reserves them:
        TimeDistributed(Dense(4)) then Dense(2) are `dense` inside and `dense_1`); none here."""
        return []

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

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(inputs)
        outputs = self.call(inputs) if mask is None else self.call(inputs, mask=mask)  # type: ignore[call-arg]
        if self.activity_regularizer is not None:
            # Keras divides the activity penalty by the batch size.
            self.activity_penalty = self.activity_regularizer(outputs) / inputs.shape[0]
        return outputs

    def forward_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Like `forward`, but stopping before the layer's final activation."""
        self.check_input(inputs)
        return self.pre_activation(inputs)

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """The mask of the output (True where a step is real), given the input's: Keras's rule,
        the input's mask when the layer supports masking, else none. `mask` is None or a
        boolean (batch, steps) tensor."""
        return mask if self.supports_masking else None

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

    def ends_in_relu(self) -> bool:
        """Whether the output is exactly the plain relu of `pre_activation` (so a model may
        pool before the relu). A subclass that changes `call` must override this."""
        return False

    # -- observers ------------------------------------------------------------------------
    @property
    def observed(self) -> bool:
        """Whether something outside the layer looks at its own output or gradient: a forward or
        backward hook registered on it (until its handle is removed), or an activity regularizer.
        A model runs an observed layer whole, never fused with its neighbours."""
        return self.activity_regularizer is not None or len(self._observers) > 0

    def register_forward_hook(self, hook: Callable[..., Any], **options: Any) -> RemovableHandle:
        return super().register_forward_hook(self._observer(hook), **options)

    def register_forward_pre_hook(self, hook: Callable[..., Any], **options: Any) -> RemovableHandle:
        return super().register_forward_pre_hook(self._observer(hook), **options)

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        return super().register_full_backward_hook(self._observer(hook), prepend)

    def register_full_backward_pre_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        return super().register_full_backward_pre_hook(self._observer(hook), prepend)

    def _observer(self, hook: Callable[..., Any]) -> Callable[..., Any]:
        """`hook` behind a wrapper held only by PyTorch's hook table and, weakly, by
        `_observers`: removing the hook's handle drops it from both."""
        def observer(*args: Any, **kwargs: Any) -> Any:
            return hook(*args, **kwargs)

        self._observers.add(observer)
        return observer

    # -- symbolic calls: the graph of a functional model ----------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """On tensors, the forward pass; on symbolic tensors (`Input(...)` and what layers made
        from it), build for their shape and return symbolic outputs, recording a `Node`."""
        if args and symbolic.is_symbolic(args[0]):
            return self.symbolic_call(args[0], **kwargs)
        return super().__call__(*args, **kwargs)

    def symbolic_call(self, inputs: Any, **kwargs: Any) -> SymbolicTensor:
        """Build for the inputs' shapes (if not built), infer the output shape, record a node."""
        kwargs.pop("training", None)  # Keras's call argument; a graph runs in the model's mode
        if kwargs:
            raise ValueError(f"{self.label}: unexpected call argument(s) {', '.join(sorted(kwargs))}; a layer is "
                             "called on its input tensor(s) alone.")
        inputs = self.standardize_inputs(inputs)
        shape: Any = inputs.shape if isinstance(inputs, SymbolicTensor) else [tensor.shape for tensor in inputs]
        if not self.built:
            self.build(shape)
        elif isinstance(inputs, SymbolicTensor) and self.input_shape is not None:
            input_spec.check_compatible(self.label, self.input_shape, shape)
        else:
            self.build(shape)  # a merge layer only checks the shapes again
        dtype = next(symbolic.flatten(inputs)).dtype
        outputs = SymbolicTensor(tuple(self.compute_output_shape(shape)), dtype)
        Node(self, inputs, outputs)
        return outputs

    def standardize_inputs(self, inputs: Any) -> Any:
        """One symbolic tensor (a list of them for merge layers), or a ValueError saying what came."""
        leaves = list(symbolic.flatten(inputs))
        if not all(isinstance(leaf, SymbolicTensor) for leaf in leaves):
            raise ValueError(f"{self.label}: called on a mix of symbolic tensors and values; pass layers.Input(...) "
                             "tensors (or what layers made from them) alone, or arrays alone.")
        if self.takes_list:
            if not isinstance(inputs, (list, tuple)):
                raise ValueError(f"{self.label}: a merge layer should be called on a list of inputs. Received: "
                                 f"inputs={inputs} (not a list of tensors)")
            return list(leaves)
        if isinstance(inputs, SymbolicTensor):
            return inputs
        if len(leaves) == 1:
            return leaves[0]
        raise ValueError(f"{self.label} takes one input tensor; got {len(leaves)}. Combine tensors first, e.g. "
                         "layers.Concatenate()([a, b]) or layers.Add()([a, b]).")

    @property
    def input(self) -> Any:
        """The symbolic tensor(s) the layer was first called on (Keras's `layer.input`).

        Raises:
            AttributeError: when the layer was never called on symbolic tensors.
        """
        return self.node_attribute("input")

    @property
    def output(self) -> Any:
        """The symbolic tensor(s) the layer made when first called (Keras's `layer.output`); in a
        built Sequential model each layer's output is its feature map in the model's graph.

        Raises:
            AttributeError: when the layer was never called on symbolic tensors.
        """
        return self.node_attribute("output")

    def node_attribute(self, which: str) -> Any:
        if not self.inbound_nodes:
            raise AttributeError(f"The layer {self.name} has never been called and thus has no defined {which}. "
                                 "Call it on a symbolic tensor, e.g. layer(keras.Input((28, 28, 1))), or build "
                                 "the model it belongs to with a known input shape.")
        node = self.inbound_nodes[0]
        values = node.input_tensors if which == "input" else node.output_tensors
        return values[0] if len(values) == 1 else list(values)

    def __getattr__(self, name: str) -> Any:
        # A property that raises AttributeError lands here; nn.Module would replace its message
        # with "no attribute 'output'", so say it again.
        if name in ("input", "output"):
            return self.node_attribute(name)
        return super().__getattr__(name)

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

    def ends_in_relu(self) -> bool:
        return self.activation is activations.ACTIVATIONS["relu"]
