"""Sequential: a stack of layers that is also a `torch.nn.Module`.

Shapes are inferred as layers are added, so `summary()` needs no sample input. Everything that
does not depend on the chain (compile, fit, evaluate, predict, weights, saving, summary) comes
from `convscope.models.model.Model`; the model can also be called on channels-last tensors and
trained in a plain PyTorch loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Self, cast

import numpy as np
import torch
from torch import nn

from convscope.layers import InputLayer, Layer, input_spec, masking
from convscope.layers.input_spec import Shape
from convscope.layers.symbolic import SymbolicTensor
from convscope.models import fusion, graph, registry
from convscope.models.config import layer_entry, layer_from_entry
from convscope.models.model import Model, final_activation_name
from convscope.models.nested import ModelLayer, on_meta_device


@registry.register
class Sequential(Model, ModelLayer):  # type: ignore[override]  # a model computes `built`, a layer sets it
    """A linear stack of layers. A model may be one of them, and the stack may be a layer of
    another model (`convscope.models.nested`).

    >>> model = Sequential([layers.Conv2D(64, 3, activation="relu", input_shape=(28, 28, 1)),
    ...                     layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(10, activation="softmax")])
    >>> model.output_shape
    (None, 10)
    >>> Sequential([model, layers.Softmax()]).layers  # [model, softmax]: the model is one layer
    """

    def __init__(self, layers: Iterable[Layer | SymbolicTensor] | None = None, name: str | None = None,
                 trainable: bool = True) -> None:
        super().__init__(name or "sequential")
        self.auto_named = name is None
        self.stack = nn.ModuleList()
        self.chain = graph.Chain()  # the layers' nodes once the input shape is known (layer.output)
        for layer in layers or []:
            self.add(layer)
        if not trainable:
            self.trainable = False

    # -- structure ------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        # `add` is the only way into the stack, and it admits convscope layers alone.
        return cast("list[Layer]", list(self.stack))

    @property
    def output_shape(self) -> Shape | None:  # type: ignore[override]  # computed from the layers
        if self.input_shape is None:
            return None
        return self.layers[-1].output_shape if len(self.stack) else self.input_shape

    def add(self, layer: Layer | SymbolicTensor) -> None:
        """Append a layer, name it uniquely and, when the input shape is known, build it.
        `Input(shape)` (or an InputLayer) may come first: it declares the input shape; so does
        a built model coming first (`Sequential([model, layers.Softmax()])`)."""
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential.add expects a convscope layer (e.g. layers.Dense(10)) or model; got "
                             f"{type(layer).__name__}.")
        if getattr(layer, "output_count", 1) > 1:  # an RNN with return_state, Bidirectional with merge_mode=None
            raise ValueError(f"Sequential '{self.name}': {layer.label} returns {layer.output_count} tensors; all "
                             "layers in a Sequential model should have a single output tensor. For multi-output "
                             "layers, use the functional API (keras.Model(inputs, outputs)).")
        if layer is self or any(layer is existing for existing in self.stack):
            raise ValueError(f"Sequential '{self.name}': {layer.label} is already in the model; a layer (or "
                             "model) appears once in a Sequential model.")
        if isinstance(layer, InputLayer):
            if len(self.stack) or self.input_shape is not None:
                raise ValueError("Input(...) must come first in a Sequential model, before any layer.")
            self.input_shape = layer.declared_input_shape
            self.chain.start(layer)
            return
        if not layer.auto_named and any(existing.name == layer.name for existing in self.stack):
            raise ValueError(f"Sequential '{self.name}': a layer named '{layer.name}' is already in the model; "
                             "layer names must be unique.")
        graph.give_unique_names(graph.name_claims(layer), self.taken_names())
        if layer.declared_input_shape is not None:
            if not len(self.stack) and self.input_shape is None:
                self.input_shape = layer.declared_input_shape
            elif not isinstance(layer, Model) and \
                    tuple(layer.declared_input_shape[1:]) != tuple((self.output_shape or (None,))[1:]):
                warnings.warn(f"{layer.label}: input_shape={layer.declared_input_shape[1:]} is ignored; only "
                              "the first layer's input_shape counts.", stacklevel=2)
        if self.output_shape is not None:
            if isinstance(layer, Model) and layer.input_shape is not None:  # a built model keeps its shape
                input_spec.check_compatible(layer.label, layer.input_shape, self.output_shape)
            layer.build(self.output_shape)
            if not on_meta_device(layer):  # a config checked on the meta device stays there
                layer.to(self._device)
            self.chain.append(layer, self.require_built("add"))
        self.stack.append(layer)

    def taken_names(self) -> set[str]:
        """The names the model's layers take, those made inside them (a wrapper's layer) included."""
        return {claim.name for layer in self.layers for claim in graph.name_claims(layer)}

    def unique_name(self, base: str) -> str:
        """`base`, or the first of base_1, base_2, ... that no layer of the model takes."""
        taken = self.taken_names()
        if base not in taken:
            return base
        index = 1
        while f"{base}_{index}" in taken:
            index += 1
        return f"{base}_{index}"

    def pop(self) -> Layer:
        if not len(self.stack):
            raise ValueError("Sequential.pop: the model has no layers.")
        layer = self.layers[-1]
        del self.stack[-1]
        self.chain.pop(layer)
        return layer

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Build every layer for `input_shape` (batch axis included, e.g. (None, 28, 28, 1)).
        A model built for that shape already is left as it is (its nodes in other graphs too)."""
        if self.input_shape is not None and tuple(input_shape) == tuple(self.input_shape) and self.layers \
                and all(layer.built for layer in self.layers):
            return
        self.input_shape = tuple(input_shape)
        shape = self.input_shape
        for layer in self.layers:
            layer.build(shape)
            assert layer.output_shape is not None  # `build` sets it
            shape = layer.output_shape
        self.chain.connect(self.input_shape, self.layers)
        if not on_meta_device(self):
            self.to(self._device)

    @property
    def inputs(self) -> list[SymbolicTensor]:
        """[the input tensor] once the input shape is known; `layer.output` of each layer comes
        from it, so `Model(model.inputs, [layer.output for layer in model.layers])` gives the
        feature maps."""
        return [self.symbolic("inputs", self.chain.input)]

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return [self.symbolic("outputs", self.chain.output)]

    @property
    def input(self) -> SymbolicTensor:
        return self.symbolic("input", self.chain.input)

    @property
    def output(self) -> SymbolicTensor:
        return self.symbolic("output", self.chain.output)

    def symbolic(self, what: str, tensor: SymbolicTensor | None) -> SymbolicTensor:
        if tensor is None:
            raise ValueError(f"Sequential model '{self.name}' has no defined {what} yet: its input shape is unknown. "
                             "Start it with keras.Input((28, 28, 1)) (for example) or call model.build(...).")
        return tensor

    # -- computation ----------------------------------------------------------------------
    def forward(self, inputs: torch.Tensor, logits: bool = False,  # type: ignore[override]
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """Run the stack on a channels-last batch (a tensor, or a NumPy array or list, as
        `model(x)` takes in Keras). `logits=True` stops before the last layer's softmax/sigmoid
        (used to compute cross-entropy stably). `mask` (batch, steps), True where a step is
        real, goes to the first layer, as when the model is a layer after an
        Embedding(mask_zero=True); the output then carries the mask its layers passed on."""
        if not len(self.stack):
            raise ValueError(f"Sequential '{self.name}' has no layers; add some before calling it.")
        if not isinstance(inputs, torch.Tensor):
            inputs = torch.as_tensor(np.asarray(inputs, dtype=np.float32), device=self._device)
        if self.input_shape is None:
            self.build((None, *inputs.shape[1:]))
        if mask is not None or masking.makes_masks(self.layers):  # a mask given or made: carry it
            return masking.run(self.layers, inputs, logits, mask)
        *body, last = self.layers
        x = fusion.run(body, inputs)
        return last.forward_logits(x) if logits else last(x)

    def fusion_stacks(self) -> list[Sequence[Layer]]:
        return [self.layers[:-1]]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        """The output shape for `input_shape` (batch axis included), through every layer."""
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def symbolic_outputs(self, inputs: list[SymbolicTensor]) -> SymbolicTensor:
        return SymbolicTensor(self.compute_output_shape(inputs[0].shape), inputs[0].dtype)

    def output_activation_name(self) -> str | None:
        """The activation the last layer ends with, when it can be split off."""
        return final_activation_name(self.layers[-1]) if len(self.stack) else None

    # -- config -----------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_shape": None if self.input_shape is None else list(self.input_shape[1:]),
            "layers": [layer_entry(layer) for layer in self.layers],
        }

    @classmethod
    def from_checked_config(cls, config: dict[str, Any]) -> Self:
        """The model `config` describes (checked by `check_config` already)."""
        name = config.get("name")
        model = cls(name=name if isinstance(name, str) and name else None)
        input_shape = config.get("input_shape")
        if input_shape is not None:
            model.add(InputLayer(tuple(input_shape)))
        for index, entry in enumerate(config["layers"]):
            layer = layer_from_entry(entry, index)
            try:
                model.add(layer)
            except ValueError:
                raise
            except Exception as error:
                raise ValueError(f"model config: layer {index} ({layer.label}): {type(error).__name__}: "
                                 f"{error}.") from error
        if config.get("trainable", True) is False:
            model.trainable = False
        return model
