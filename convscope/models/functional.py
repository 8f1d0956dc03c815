"""Functional models: any graph of layers from `Input(...)` tensors to output tensors.

    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(32, 3, padding="same")(x)
    x = layers.ReLU()(layers.Add()([x, y]))                # a residual connection
    outputs = layers.Dense(10, activation="softmax")(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, outputs)                  # a Functional model

Several inputs and outputs (a list or a dict), shared layers (one layer called twice: one set of
weights, two nodes) and the feature-map idiom
`Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])` work. Layers are
ordered as Keras orders them (`convscope.models.graph`), so weights, summaries and saved files
match Keras's. Every model trains and predicts through `convscope.engine`, several inputs and
outputs included (x and y as lists or dicts keyed by input and output name).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Self, cast

import numpy as np
import torch
from torch import nn

from convscope.layers import Layer
from convscope.layers.input_spec import Shape
from convscope.layers.symbolic import SymbolicTensor, map_structure
from convscope.models import graph as graph_module
from convscope.models import graph_config, registry
from convscope.models.config import StoredShapes
from convscope.models.model import Model, final_activation_name
from convscope.models.nested import ModelLayer


@registry.register
class Functional(Model, ModelLayer):  # type: ignore[override]  # a model computes `built`, a layer sets it
    """A model made of the layer calls between `inputs` and `outputs` (see the module text).
    It may be called like a layer inside another model (`convscope.models.nested`).

    Args:
        inputs: a symbolic tensor from `Input(...)`, or a list or dict of them.
        outputs: symbolic tensors made by calling layers on the inputs: one, a list or a dict.
        name: the model's name ("functional" by default).
        trainable: False freezes every layer (as `model.trainable = False` does).

    Raises:
        ValueError: for values that are not symbolic tensors, outputs the inputs do not lead to
            ("Graph disconnected"), or two layers given the same name.
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None, trainable: bool = True) -> None:
        super().__init__(name or "functional")
        self.auto_named = name is None
        self.graph = graph_module.map_graph(inputs, outputs)
        graph_module.name_layers(self.graph.layers)
        self.inputs_structure = inputs if isinstance(inputs, (SymbolicTensor, dict)) else list(inputs)
        self.outputs_structure = outputs if isinstance(outputs, (SymbolicTensor, dict)) else list(outputs)
        self.stack = nn.ModuleList(self.graph.layers)  # each layer once, however often it is called
        shapes = [tensor.shape for tensor in self.graph.inputs]
        self.input_shape = shapes[0] if len(shapes) == 1 else shapes  # type: ignore[assignment]  # Keras's list
        if not trainable:
            self.trainable = False

    # -- structure ------------------------------------------------------------------------
    @property
    def layers(self) -> list[Layer]:
        """Every layer, InputLayers first, in Keras's order (the order of the weights)."""
        return cast("list[Layer]", list(self.stack))

    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self.graph.inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self.graph.outputs)

    @property
    def input(self) -> Any:
        """The input tensor(s) in the structure the model was made with."""
        return self.inputs_structure

    @property
    def output(self) -> Any:
        """The output tensor(s) in the structure the model was made with."""
        return self.outputs_structure

    @property
    def output_shape(self) -> Any:  # type: ignore[override]  # computed from the layers
        """(None, 10) for one output; a list of shapes for several, as in Keras."""
        shapes = [tensor.shape for tensor in self.graph.outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input_names(self) -> list[str]:
        return [tensor.history.layer.name for tensor in self.graph.inputs if tensor.history is not None]

    @property
    def output_names(self) -> list[str]:
        return [tensor.history.layer.name for tensor in self.graph.outputs if tensor.history is not None]

    def nodes_in_order(self) -> Iterator[tuple[Layer, list[SymbolicTensor], list[SymbolicTensor]]]:
        """(layer, input tensors, output tensors) for each layer call, inputs first: the graph
        to draw or explain. A shared layer appears once per call; an InputLayer has no inputs."""
        return graph_module.nodes_in_order(self.graph)

    def data_keys(self) -> tuple[list[str], list[str]]:
        """The names that key x and y dicts and prefix per-output logs, in graph order: a model
        made with a dict of inputs (outputs) uses its keys, otherwise the layers' names."""
        inputs = sorted(self.inputs_structure) if isinstance(self.inputs_structure, dict) else self.input_names
        outputs = sorted(self.outputs_structure) if isinstance(self.outputs_structure, dict) else self.output_names
        return list(inputs), list(outputs)

    def output_activation_names(self) -> list[str | None]:
        return [None if tensor.layer is None else final_activation_name(tensor.layer) for tensor in self.graph.outputs]

    def require_output_shapes(self, action: str) -> list[Shape]:
        return [tensor.shape for tensor in self.graph.outputs]

    def compile(self, *args: Any, **kwargs: Any) -> None:
        """As `Model.compile`; for several outputs `loss`, `loss_weights` and `metrics` may be
        lists in output order or dicts keyed by output name (see `Model.compile`).

        Raises:
            ValueError: for outputs nested deeper than one list or dict, which convscope predicts
                with but does not train.
        """
        structure = self.outputs_structure
        entries = structure.values() if isinstance(structure, dict) else structure if isinstance(structure, list) else []
        if any(not isinstance(entry, SymbolicTensor) for entry in entries):
            raise ValueError(f"compile: Functional '{self.name}' has nested outputs; convscope trains models whose "
                             "outputs are one tensor, a list or a dict of tensors. Flatten the outputs list.")
        super().compile(*args, **kwargs)

    def check_input_shape(self, shape: tuple[int, ...], argument: str = "x", index: int = 0) -> None:
        if len(self.graph.inputs) == 1:
            super().check_input_shape(shape, argument)
            return
        expected = self.graph.inputs[index].shape
        if len(shape) != len(expected) or any(want is not None and want != have
                                              for want, have in zip(expected[1:], shape[1:])):
            name = self.data_keys()[0][index]
            raise ValueError(f"{argument} has shape {tuple(shape)} but input '{name}' of Functional '{self.name}' "
                             f"expects {tuple(expected)}.")

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """A functional model is built when made; `input_shape` must fit its input."""
        if len(self.graph.inputs) > 1:
            raise ValueError(f"build: Functional '{self.name}' takes {len(self.graph.inputs)} inputs "
                             f"({', '.join(self.input_names)}); it is built already.")
        self.check_input_shape(tuple(size or 1 for size in input_shape), "build")

    # -- computation ----------------------------------------------------------------------
    def forward(self, inputs: Any, logits: bool = False, mask: Any = None) -> Any:  # type: ignore[override]
        """Outputs for channels-last batches: one tensor (or array), a list in input order, or a
        dict keyed by input name. Returns the outputs in the structure the model was made with.
        `logits=True` stops a single output before its final softmax/sigmoid; a list of flags,
        one per output, chooses for each. `mask`, in the inputs' structure (None for an input
        without one), goes to the layers reading each input, as when the model is a layer
        after an Embedding(mask_zero=True); the outputs carry the masks their layers passed on."""
        values = self.input_tensors(inputs)
        masks = None if mask is None else model_inputs(self, mask, f"Functional '{self.name}': mask")
        logits_of = None
        if isinstance(logits, (list, tuple)):
            if len(logits) != len(self.graph.outputs):
                raise ValueError(f"Functional '{self.name}': logits has {len(logits)} flags for "
                                 f"{len(self.graph.outputs)} outputs; give one per output.")
            logits_of = {id(tensor) for tensor, flag in zip(self.graph.outputs, logits) if flag}
        elif logits:
            if len(self.graph.outputs) > 1:
                raise ValueError(f"Functional '{self.name}': logits=True needs a model with one output; give "
                                 "one flag per output, e.g. logits=[True, False].")
            logits_of = {id(self.graph.outputs[0])}
        results = graph_module.run(self.graph, values, logits_of, input_masks=masks)
        return self.pack_outputs(results)

    def pack_outputs(self, results: list[Any]) -> Any:
        """Values in `outputs` order, arranged as the model's outputs were given; a list of one
        becomes its item, as in Keras."""
        positions = {id(tensor): index for index, tensor in enumerate(self.graph.outputs)}
        packed = map_structure(lambda tensor: results[positions[id(tensor)]], self.outputs_structure)
        return packed[0] if isinstance(packed, list) and len(packed) == 1 else packed

    def input_tensors(self, inputs: Any) -> list[torch.Tensor]:
        """One tensor per model input, from a tensor/array, a list or a dict keyed by input name."""
        given = model_inputs(self, inputs, f"Functional '{self.name}'")
        return [value if isinstance(value, torch.Tensor)
                else torch.as_tensor(np.asarray(value, dtype=np.float32), device=self._device) for value in given]

    def fusion_stacks(self) -> list[Sequence[Layer]]:
        """Each layer with the pooling layer that alone reads its output (`graph.pool_pairs`)."""
        return [[node.layer, pool.layer] for node in self.graph.nodes
                if (pool := self.graph.pooled.get(id(node))) is not None]

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape(s), as built: a functional model's shapes are fixed when it is made."""
        return self.output_shape

    def symbolic_outputs(self, inputs: list[SymbolicTensor]) -> Any:
        """Symbolic tensors for the outputs, in the structure the model was made with (a list
        of one becomes its item, as `forward` returns it)."""
        made = map_structure(lambda tensor: SymbolicTensor(tensor.shape, tensor.dtype), self.outputs_structure)
        return made[0] if isinstance(made, list) and len(made) == 1 else made

    def output_activation_name(self) -> str | None:
        if len(self.graph.outputs) != 1:
            return None
        layer = self.graph.outputs[0].layer
        return None if layer is None else final_activation_name(layer)

    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = 0,
                steps: int | None = None, callbacks: list[Any] | None = None) -> Any:
        """Outputs for `x` (arrays, a PyDataset or a generator; a list or dict of them for
        several inputs): an array for a one-output model, otherwise a list (or dict) of arrays in
        the structure the outputs were given."""
        results = super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        return self.pack_outputs(results if isinstance(results, list) else [results])

    # -- config ---------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Keras's functional config: layers with their inbound nodes, input and output layers."""
        return graph_config.graph_config(self.graph, self.name, self.inputs_structure, self.outputs_structure,
                                         graph_config.own_layer_config, trainable=self.trainable)

    @classmethod
    def check_config(cls, config: Any, stored: StoredShapes | None = None) -> None:
        """Check a functional config before anything is allocated: the graph is rebuilt on the
        meta device first (`graph_config.preflight`).

        Raises:
            ValueError: for a malformed config, one that asks for too much, or one that does not
                fit the weights file's shapes `stored`.
        """
        if not graph_config.is_functional_config(config):
            raise ValueError("model config: a Functional config needs 'layers', 'input_layers' and 'output_layers'.")
        graph_config.preflight(config, stored)

    @classmethod
    def from_checked_config(cls, config: dict[str, Any]) -> Self:
        inputs, outputs = graph_config.rebuild(config)
        name = config.get("name")
        return cls(inputs, outputs, name=name if isinstance(name, str) and name else None,
                   trainable=config.get("trainable", True) is not False)


def model_inputs(model: Functional, x: Any, action: str) -> list[Any]:
    """One value per model input from `x`: one array or tensor, a list in input order or a dict
    keyed by input name; a ValueError naming `action` when the count is wrong."""
    names = model.data_keys()[0]
    if isinstance(x, dict):
        if not all(name in x for name in names) and all(name in x for name in model.input_names):
            names = model.input_names  # keyed by the input layers' names
        missing = [name for name in names if name not in x]
        if missing:
            raise ValueError(f"{action}: no value for input(s) {missing}; the inputs are {names}.")
        return [x[name] for name in names]
    given = list(x) if isinstance(x, (list, tuple)) and (len(names) > 1 or (
        len(x) == 1 and isinstance(x[0], (np.ndarray, torch.Tensor)))) else [x]
    if len(given) != len(names):
        raise ValueError(f"{action}: the model has {len(names)} inputs ({', '.join(names)}); got {len(given)} "
                         "values. Pass a list in that order, or a dict keyed by input name.")
    return given
