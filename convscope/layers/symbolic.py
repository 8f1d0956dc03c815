"""Symbolic tensors and nodes: how calling layers on `Input(...)` records a graph.

A `SymbolicTensor` has a shape (batch axis included) and a dtype but no values. Calling a layer
on one builds the layer for that shape, computes the output shape with `compute_output_shape`
and records a `Node`: the layer, the tensors it was called on and the tensors it made. Each
output tensor remembers its node through `history` (layer, node index, tensor index), as
Keras's KerasTensor does, so a model can walk back from its outputs to its inputs.

>>> inputs = Input((28, 28, 1))                     # SymbolicTensor shape=(None, 28, 28, 1)
>>> features = layers.Conv2D(32, 3)(inputs)          # SymbolicTensor shape=(None, 26, 26, 32)
>>> features.history.layer.inbound_nodes[0].input_tensors == [inputs]
True
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any, NamedTuple

Shape = tuple[int | None, ...]
_names = itertools.count()


class History(NamedTuple):
    """Where a symbolic tensor came from: `layer.inbound_nodes[node_index].output_tensors[tensor_index]`."""

    layer: Any  # a convscope Layer (not imported: layers import this module)
    node_index: int
    tensor_index: int


class SymbolicTensor:
    """A placeholder with a shape and a dtype, made by `Input(...)` or by calling a layer on one.

    Args:
        shape: the full shape, batch axis first (None where unknown), e.g. (None, 28, 28, 1).
        dtype: the element type's name, "float32" by default.
        name: a label for messages; a unique one is made when omitted.
    """

    def __init__(self, shape: Shape, dtype: str = "float32", name: str | None = None) -> None:
        self.shape: Shape = tuple(shape)
        self.dtype = dtype
        index = next(_names)
        self.name = name or ("symbolic_tensor" if index == 0 else f"symbolic_tensor_{index}")
        self.history: History | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def layer(self) -> Any:
        """The layer that made this tensor (an InputLayer for a model's inputs)."""
        return None if self.history is None else self.history.layer

    def __repr__(self) -> str:
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __bool__(self) -> bool:
        raise TypeError(f"{self!r} has no values, so it is neither true nor false. It stands for the data a model "
                        "will receive; call the model on arrays to get values.")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self!r} has no values to convert to an array. Build a model with "
                        "convscope.Model(inputs, outputs) and call model.predict(x) instead.")

    def _refuse_arithmetic(self, *args: Any) -> Any:
        raise TypeError(f"{self!r}: arithmetic on symbolic tensors is done with layers, e.g. layers.Add()([x, y]), "
                        "layers.Subtract()([x, y]) or layers.Multiply()([x, y]).")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _refuse_arithmetic
    __hash__ = object.__hash__  # identity, so tensors key dicts and sets while a graph is walked


class Node:
    """One call of a layer on symbolic tensors.

    `arguments` is what the layer was called on, as given: one tensor, or a list of them for a
    merge layer; an InputLayer's node has none. `training` is what the call asked for
    (`base_model(x, training=False)`), kept for the config: a graph runs every node in the
    model's mode, as Keras 3 does. `kwargs` holds tensors the call took by keyword (a recurrent
    layer's `initial_state`); they count among `input_tensors`, after the arguments, as Keras
    lists them. Creating a node appends it to the layer's `inbound_nodes` and
    to the `outbound_nodes` of every layer whose tensor it consumes, and sets the `history` of
    its output tensors.
    """

    def __init__(self, layer: Any, arguments: Any, outputs: SymbolicTensor | list[SymbolicTensor],
                 kwargs: dict[str, Any] | None = None) -> None:
        self.layer = layer
        self.arguments = arguments
        self.kwargs: dict[str, Any] = kwargs or {}
        self.input_tensors: list[SymbolicTensor] = [*flatten(arguments), *flatten(self.kwargs)]
        self.outputs = outputs
        self.output_tensors: list[SymbolicTensor] = list(flatten(outputs))
        self.training: bool | None = None
        layer.inbound_nodes.append(self)
        for tensor in self.input_tensors:
            if tensor.history is not None:
                tensor.history.layer.outbound_nodes.append(self)
        node_index = len(layer.inbound_nodes) - 1
        for tensor_index, tensor in enumerate(self.output_tensors):
            tensor.history = History(layer, node_index, tensor_index)

    @property
    def operation(self) -> Any:
        """Keras's name for the layer a node calls."""
        return self.layer

    @property
    def is_input(self) -> bool:
        """True for an InputLayer's node, which consumes no tensor."""
        return not self.input_tensors

    @property
    def parent_nodes(self) -> list[Node]:
        """The nodes whose outputs this node consumes."""
        return [tensor.history.layer.inbound_nodes[tensor.history.node_index]
                for tensor in self.input_tensors if tensor.history is not None]

    def __repr__(self) -> str:
        return f"<Node layer={self.layer.name}, inputs={len(self.input_tensors)}, outputs={len(self.output_tensors)}>"


def flatten(structure: Any) -> Iterator[Any]:
    """The leaves of nested lists, tuples and dicts (dict values in key order), in order."""
    if isinstance(structure, (list, tuple)):
        for item in structure:
            yield from flatten(item)
    elif isinstance(structure, dict):
        for key in sorted(structure):
            yield from flatten(structure[key])
    elif structure is not None:
        yield structure


def map_structure(function: Any, structure: Any) -> Any:
    """`structure` with every leaf replaced by `function(leaf)` (lists, tuples and dicts kept)."""
    if isinstance(structure, list):
        return [map_structure(function, item) for item in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(function, item) for item in structure)
    if isinstance(structure, dict):
        return {key: map_structure(function, value) for key, value in structure.items()}
    return function(structure)


def is_symbolic(structure: Any) -> bool:
    """True when `structure` is a symbolic tensor or a list/tuple/dict holding one."""
    if isinstance(structure, SymbolicTensor):
        return True
    if isinstance(structure, (list, tuple)):
        return any(is_symbolic(item) for item in structure)
    if isinstance(structure, dict):
        return any(is_symbolic(item) for item in structure.values())
    return False
