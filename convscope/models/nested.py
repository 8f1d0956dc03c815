"""A model used as a layer of another model, as Keras allows (a Keras Model is a Layer).

    probability_model = Sequential([model, layers.Softmax()])       # a model as one layer
    features = base_model(inputs, training=False)                  # a model called in a graph
    autoencoder = Model(inputs, decoder(encoder(inputs)))

`ModelLayer` gives `Sequential` and `Functional` the layer side of that: they are `Layer`s, so
a Sequential model adds them and calling one on symbolic tensors records one node in the outer
graph. The inner model keeps its own layers, so its weights are the outer model's weights (the
same torch parameters). As in Keras 3:

- `model.trainable = False` freezes every layer inside it; its weights count as non-trainable,
  and its BatchNormalization layers normalise with their moving statistics.
- Its weights are listed as its layers list them; each is named "<inner layer>/<weight>"
  (e.g. "dense/kernel"), so a saved file keys them "<model>/<inner layer>/<weight>".
- `base_model(inputs, training=False)` records the argument in the node (configs keep it), but
  the graph runs in the outer model's mode, as Keras 3's does: fit passes training=True to
  every call. Called on arrays, `model(x, training=False)` runs in inference mode.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from convscope.layers import Layer, input_spec, masking
from convscope.layers.base import WeightSlot, _creations
from convscope.layers.input_spec import Shape
from convscope.layers.symbolic import Node, SymbolicTensor, flatten, is_symbolic


class ModelLayer(Layer):
    """The layer side of a model; see the module text. A model class lists it after `Model`
    (`class Sequential(Model, ModelLayer)`), so the model's own methods (forward, weights,
    config) come first and these fill in what a layer of another model needs.

    A subclass provides `layers`, `forward(inputs, logits=...)`, `output_activation_name` and
    `symbolic_outputs`.
    """

    def __init__(self) -> None:
        # Not Layer.__init__: it assigns `built` and `output_shape`, which a model computes.
        nn.Module.__init__(self)
        self.name = ""
        self.auto_named = True
        self.activity_regularizer = None
        self.activity_penalty: torch.Tensor | None = None
        self._trainable = True
        self.creation_index = next(_creations)  # numbered among layers, as Keras names them
        self.inbound_nodes: list[Node] = []  # its calls in other models' graphs
        self.outbound_nodes: list[Node] = []
        self._observers: weakref.WeakSet[Callable[..., Any]] = weakref.WeakSet()

    layers: Any  # the model's layers (a property of each model class)

    # -- as a layer ---------------------------------------------------------------------------
    @property
    def declared_input_shape(self) -> Shape | None:  # type: ignore[override]  # computed, never assigned
        """A built model declares its input shape, so a Sequential model it starts is built too."""
        shape = getattr(self, "input_shape", None)
        return tuple(shape) if isinstance(shape, tuple) else None

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (or unfreeze) the model and every layer inside it, as Keras 3 does."""
        self._trainable = bool(value)
        for layer in self.layers:
            layer.trainable = value

    def keras_weights(self) -> list[WeightSlot]:
        """Every weight of the inner layers, named "<inner layer>/<weight>", in their order."""
        return [(f"{layer.name}/{name}", tensor, order)
                for layer in self.layers for name, tensor, order in layer.keras_weights()]

    def param_counts(self) -> tuple[int, int]:
        """(trainable, non-trainable) counts: the inner layers' own, or all frozen when the
        model is."""
        trainable = frozen = 0
        for layer in self.layers:
            layer_trainable, layer_frozen = layer.param_counts()
            trainable, frozen = trainable + layer_trainable, frozen + layer_frozen
        return (trainable, frozen) if self.trainable else (0, trainable + frozen)

    routes_masks = True  # a mask on its input reaches its first layers (`forward(..., mask=...)`), as in Keras 3

    @property
    def makes_masks(self) -> bool:  # type: ignore[override]  # computed from the inner layers
        """Whether the model's output may carry a mask its layers made (an inner
        Embedding(mask_zero=True) or Masking): the outer model then carries it on, as Keras's."""
        return masking.makes_masks(self.layers)

    def forward_logits(self, inputs: Any) -> Any:
        """The outputs before the final softmax/sigmoid (`forward(inputs, logits=True)`)."""
        return self(inputs, logits=True)

    def pre_activation(self, inputs: Any) -> Any:
        return self.forward_logits(inputs)

    def __getattr__(self, name: str) -> Any:
        # "dense/kernel_constraint": the inner layer's attribute, so Layer's per-weight
        # regularizer and constraint lookups (`<weight>_constraint`) reach inside the model.
        layer_name, separator, rest = name.partition("/")
        if separator:
            for layer in self.layers:
                if layer.name == layer_name:
                    return getattr(layer, rest)
        return super().__getattr__(name)

    # -- calls --------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """On symbolic tensors, one node in the graph being built (`symbolic_call`); on values,
        the forward pass, in inference mode for `training=False` (training mode for True)."""
        if args and is_symbolic(args[0]):
            return self.symbolic_call(args[0], **kwargs)
        training = kwargs.pop("training", None)
        with running_mode(self, training):
            return nn.Module.__call__(self, *args, **kwargs)

    def symbolic_call(self, inputs: Any, **kwargs: Any) -> Any:
        """Record one node calling the whole model on `inputs` (its inputs' structure: one
        tensor, a list or a dict); the outputs come in the model's output structure.
        `training` is recorded in the node for the config (see the module text)."""
        training = kwargs.pop("training", None)
        if kwargs:
            raise ValueError(f"{self.label}: unexpected call argument(s) {', '.join(sorted(kwargs))}; a model is "
                             "called on its input tensor(s), optionally with training=False.")
        if training is not None and not isinstance(training, bool):
            raise ValueError(f"{self.label}: training must be True, False or None; got {training!r}.")
        leaves = list(flatten(inputs))
        if not leaves or not all(isinstance(leaf, SymbolicTensor) for leaf in leaves):
            raise ValueError(f"{self.label}: called on a mix of symbolic tensors and values; pass "
                             "layers.Input(...) tensors (or what layers made from them) alone, or arrays alone.")
        if len(leaves) == 1:
            inputs = leaves[0]
            if not self.built:
                self.build(inputs.shape)
        self.check_symbolic_inputs(leaves)
        outputs = self.symbolic_outputs(leaves)
        node = Node(self, inputs, outputs)
        node.training = training
        return outputs

    def check_symbolic_inputs(self, tensors: list[SymbolicTensor]) -> None:
        """Each tensor fits the model's input it stands for.

        Raises:
            ValueError: for a wrong count, rank or size, naming the model.
        """
        shapes = self.input_shapes()
        if len(tensors) != len(shapes):
            raise ValueError(f"{self.label} takes {len(shapes)} input(s); got {len(tensors)} tensors.")
        for expected, tensor in zip(shapes, tensors):
            input_spec.check_compatible(self.label, expected, tensor.shape)

    def input_shapes(self) -> list[Shape]:
        """The shape of each input, batch axis included."""
        shape = getattr(self, "input_shape", None)
        if shape is None:
            return []
        return [tuple(item) for item in shape] if isinstance(shape, list) else [tuple(shape)]

    def symbolic_outputs(self, inputs: list[SymbolicTensor]) -> Any:
        """New symbolic tensors standing for the model's outputs on `inputs`."""
        raise NotImplementedError


@contextmanager
def running_mode(module: nn.Module, training: bool | None) -> Iterator[None]:
    """Run `module` in training (True) or inference (False) mode for a while; None keeps the
    mode it is in. Its mode is restored afterwards."""
    if training is None or module.training == training:
        yield
        return
    previous = module.training
    module.train(training)
    try:
        yield
    finally:
        module.train(previous)


def on_meta_device(module: nn.Module) -> bool:
    """Whether `module` holds tensors on PyTorch's meta device (sizes without memory), where
    a config is checked before anything is allocated; such a module is never moved."""
    return any(tensor.is_meta for tensor in (*module.parameters(), *module.buffers()))
