"""Walking a model node by node: the one place explain/ touches torch tensors of a model.

A "model" here is a convscope `Sequential` (its layers run one after another), a functional
`Model` (its graph: merge layers, branches, skip connections) or a plain list of channels-last
torch modules, run as a chain. Both kinds become a list of `GraphNode`s in an order that
computes every input before its use, so the rest of explain/ asks one question, "what does
this node read?", instead of "which layer came before?".

A Sequential model's nodes are its layers (node i reads node i - 1; node 0 reads the model's
input). A functional model's nodes are its layer calls, InputLayers included, as
`model.nodes_in_order()` gives them; a layer called twice (shared) gives two nodes, the second
named "name[1]".

A model used as a layer of another (`Sequential([base_model, Softmax()])`, `x = base(inputs)`)
is walked into: its layers become nodes named "<model>/<layer>" (Keras's
`model.get_layer("sequential").get_layer("conv2d")` is node "sequential/conv2d"), each with the
nested model in its `scope`; its first layers read what the model reads, and the layers after
it read its last. `find_node` also takes an inner layer's own name when no other node has it,
and the nested model's name for the node that makes its output.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

MODEL_INPUT = "input"  # what a chain's first node reads, in the "from" column

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class GraphNode:
    """One layer call of a model.

    Attributes:
        index: position in the model's node order (inputs first; every node after what it reads).
        name: the layer's name; "name[k]" for call k >= 1 of a shared layer; "model/name" for a
            layer of a nested model.
        layer: the layer object.
        inputs: indices of the nodes it reads, in call order; () for an InputLayer, and for the
            first layer of a chain, which reads the model's input.
        sources: names of what it reads ("input" for the model's input of a chain).
        scope: the nested models it lies in, outermost first, by node name (e.g. ("sequential",));
            () for a layer of the model itself.
        ends: the nested models whose output this node makes (e.g. ("sequential",)).
        output_shape: its output's shape without the batch axis, when known.
    """

    index: int
    name: str
    layer: Any
    inputs: tuple[int, ...]
    sources: tuple[str, ...]
    scope: tuple[str, ...] = ()
    ends: tuple[str, ...] = ()
    output_shape: Shape | None = None

    @property
    def kind(self) -> str:
        return layer_kind(self.layer)

    @property
    def is_input(self) -> bool:
        """An InputLayer: the model's input, computing nothing."""
        return self.kind == "InputLayer"

    @property
    def takes_list(self) -> bool:
        """A merge layer, called on a list of tensors."""
        return bool(getattr(self.layer, "takes_list", False))

    @property
    def own_name(self) -> str:
        """The name inside its own model: "conv2d" for "sequential/conv2d"."""
        return self.name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class NestedModel:
    """A model used as a layer: its node `name` (as a layer of its parent), the model, the
    scope it lies in, the nodes it spans (first, last index) and those making its outputs."""

    name: str
    model: Any
    scope: tuple[str, ...]
    nodes: range
    outputs: tuple[int, ...]

    @property
    def kind(self) -> str:
        return layer_kind(self.model)


@dataclass
class ModelWalk:
    """Every node of a model (nested models walked into), its nested models, and the nodes
    making its outputs."""

    nodes: list[GraphNode]
    nested: list[NestedModel]
    outputs: tuple[int, ...] = ()


def is_graph(model: Any) -> bool:
    """Whether `model` is a functional model (its layers are a graph, not a chain)."""
    from convscope.models.graph import Graph

    return isinstance(getattr(model, "graph", None), Graph)


def is_nested_model(layer: Any) -> bool:
    """Whether `layer` is a model used as a layer (a Sequential or functional model)."""
    from convscope.models.nested import ModelLayer

    return isinstance(layer, ModelLayer)


def model_layers(model: Any) -> list[torch.nn.Module]:
    """The layers of `model` in order (a model with `.layers`, or a sequence of modules)."""
    layers = getattr(model, "layers", model)
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError(
            f"explain: expected a model with a non-empty .layers list or a list of layers; got "
            f"{type(model).__name__}. Fix: pass a convscope Sequential or Model, or load one with load_model."
        )
    return list(layers)


def walk(model: Any) -> ModelWalk:
    """The nodes of `model` in computing order, nested models walked into (see the module text)."""
    found = ModelWalk([], [])
    found.outputs = _add_model(found, model, "", (), None)
    return found


def graph_nodes(model: Any) -> list[GraphNode]:
    """Every node of `model` in computing order (see the module text)."""
    return walk(model).nodes


def _source_names(found: ModelWalk, read: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(found.nodes[index].name for index in read) if read else (MODEL_INPUT,)


def _shape(shape: Any) -> Shape | None:
    return None if shape is None or isinstance(shape, list) else tuple(shape)[1:]


def _add_node(found: ModelWalk, name: str, layer: Any, read: tuple[int, ...], scope: tuple[str, ...],
              shape: Shape | None, input_node: bool = False) -> int:
    index = len(found.nodes)
    sources = () if input_node else _source_names(found, read)
    found.nodes.append(GraphNode(index, name, layer, read, sources, scope, (), shape))
    return index


def _add_model(found: ModelWalk, model: Any, prefix: str, scope: tuple[str, ...],
               feeds: tuple[int, ...] | None) -> tuple[int, ...]:
    """Add `model`'s nodes (names prefixed) reading `feeds` (None: the model is the one walked;
    (): it reads the outer chain's input); returns the nodes making its outputs."""
    if not is_graph(model):
        read: tuple[int, ...] = feeds or ()
        for position, layer in enumerate(model_layers(model)):
            name = prefix + layer_name(layer, position)
            if is_nested_model(layer):
                read = _add_nested(found, layer, name, scope, read)
            else:
                read = (_add_node(found, name, layer, read, scope, _shape(getattr(layer, "output_shape", None))),)
        return read
    made_by: dict[int, int] = {}  # tensor id -> index of the node that made it
    if feeds:  # a nested model's inputs are what its caller reads
        made_by.update((id(tensor), feed) for tensor, feed in zip(model.inputs, feeds, strict=True))
    calls: dict[int, int] = {}    # layer id -> calls seen so far
    for layer, inputs, outputs in model.nodes_in_order():
        if not inputs and feeds:
            continue  # a nested model's InputLayer: its tensor is the caller's
        call = calls.get(id(layer), 0)
        calls[id(layer)] = call + 1
        name = prefix + (layer.name if call == 0 else f"{layer.name}[{call}]")
        read = tuple(made_by[id(tensor)] for tensor in inputs)
        if is_nested_model(layer):
            made = _add_nested(found, layer, name, scope, read)
        else:
            made = (_add_node(found, name, layer, read, scope, _shape((None, *outputs[0].shape[1:])),
                              input_node=not inputs),) * len(outputs)
        made_by.update((id(tensor), index) for tensor, index in zip(outputs, made, strict=True))
    return tuple(made_by[id(tensor)] for tensor in model.outputs)


def _add_nested(found: ModelWalk, model: Any, name: str, scope: tuple[str, ...],
                read: tuple[int, ...]) -> tuple[int, ...]:
    """Walk into a model used as a layer, named `name` where it is used; returns its output nodes."""
    first = len(found.nodes)
    outputs = _add_model(found, model, name + "/", (*scope, name), read)
    for index in set(outputs):
        node = found.nodes[index]
        found.nodes[index] = dataclasses.replace(node, ends=(*node.ends, name))
    found.nested.append(NestedModel(name, model, scope, range(first, len(found.nodes)), outputs))
    return outputs


def layer_kind(layer: Any) -> str:
    """The layer's class name, e.g. 'Conv2D'."""
    return type(layer).__name__


def layer_name(layer: Any, index: int) -> str:
    return str(getattr(layer, "name", f"layer_{index}"))


def find_node(model: Any, layer: Any, kinds: tuple[str, ...] | None = None) -> GraphNode:
    """The node of a layer given by name, node index, layer object, or None (the first node of
    `kinds`). A name is a node's ("name[k]" for a shared layer's call k, "model/name" for a layer
    of a nested model), a nested model's layer's own name when no other node has it, or a
    nested model's (the node making its output, when `kinds` is None).

    Raises:
        ValueError: when no such node exists, a name is ambiguous, or the node is not one of
            `kinds`, listing the model's nodes.
    """
    found = walk(model)
    nodes = found.nodes
    available = ", ".join(f"{node.index}:{node.name} ({node.kind})" for node in nodes)
    if layer is None:
        matches = [node for node in nodes if kinds is None or node.kind in kinds]
    elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        matches = [nodes[int(layer)]] if -len(nodes) <= layer < len(nodes) else []
    elif isinstance(layer, str):
        matches = named_nodes(found, layer, kinds)
    else:
        matches = [node for node in nodes if node.layer is layer] or [
            nodes[nested.outputs[0]] for nested in found.nested if nested.model is layer and kinds is None]
    if not matches:
        wanted = (", ".join(kinds[:-1]) + " or " if len(kinds) > 1 else "") + kinds[-1] if kinds else "layer"
        named = "" if layer is None else f" {layer!r}"
        wrapped = [node.name for node in nodes if node.kind == "Bidirectional"] if kinds else []
        hint = (f" {wrapped[0]!r} is a Bidirectional: explain works out a plain recurrent layer, not the two "
                "inside a Bidirectional.") if wrapped else ""
        raise ValueError(f"explain: no {wanted}{named} in the model.{hint} Layers: {available}.")
    node = matches[0]
    if kinds is not None and node.kind not in kinds:
        raise ValueError(f"explain: layer {node.name!r} is a {node.kind}; expected one of {', '.join(kinds)}."
                         f"{_kind_hint(node.kind)} Layers: {available}.")
    return node


def named_nodes(found: ModelWalk, name: str, kinds: tuple[str, ...] | None) -> list[GraphNode]:
    """The node called `name` (see `find_node`).

    Raises:
        ValueError: for an inner name several nested layers share, or a nested model's name
            where a layer of `kinds` is wanted.
    """
    exact = [node for node in found.nodes if node.name == name]
    if exact:
        return exact
    for nested in found.nested:
        if nested.name == name:
            inside = [found.nodes[index] for index in nested.nodes]
            if kinds is None and len(nested.outputs) == 1:
                return [found.nodes[nested.outputs[0]]]
            chosen = [node for node in inside if kinds is None or node.kind in kinds] or inside
            raise ValueError(f"explain: {name!r} is a {nested.kind} model used as a layer; name one of its "
                             f"layers: {', '.join(node.name for node in chosen)}.")
    inner = [node for node in found.nodes if node.scope and node.name.endswith("/" + name)]
    if len(inner) > 1:
        raise ValueError(f"explain: {name!r} names {len(inner)} layers of nested models: "
                         f"{', '.join(node.name for node in inner)}. Fix: give the path, e.g. {inner[0].name!r}.")
    return inner


def _kind_hint(kind: str) -> str:
    """A sentence on why a layer kind has no steps, or ""."""
    if kind.startswith("SeparableConv"):
        return (f" A {kind} is a depthwise convolution followed by a 1x1 convolution, two steps in one "
                "layer; explain works out one convolution at a time. Fix: build it as DepthwiseConv2D "
                "then Conv2D(filters, 1) to see each step.")
    return ""


def find_layer(model: Any, layer: Any, kinds: tuple[str, ...] | None = None) -> tuple[int, Any]:
    """(node index, layer) for a layer given as `find_node` takes it.

    Raises:
        ValueError: when no such layer exists, listing the model's layers.
    """
    node = find_node(model, layer, kinds)
    return node.index, node.layer


def input_rank(model: Any) -> int | None:
    """Axes of one example (batch excluded) the model expects, when it declares its input."""
    shape = getattr(model, "input_shape", None)
    if shape is None:
        shape = getattr(model_layers(model)[0], "input_shape", None)
    if isinstance(shape, list):  # several inputs; `as_batch` refuses the model
        return None
    return None if shape is None else len(shape) - 1


def as_batch(model: Any, example: np.ndarray) -> torch.Tensor:
    """One example (H, W, C) / (L, C), or a batch of one, as a float32 batch tensor of one.

    Raises:
        ValueError: for a batch of more than one, a shape the model cannot take, or a model
            with several inputs.
    """
    if isinstance(getattr(model, "input_shape", None), list):
        names = ", ".join(getattr(model, "input_names", []))
        raise ValueError(f"explain: model {getattr(model, 'name', '')!r} takes {len(model.input_shape)} inputs "
                         f"({names}); explain works on models with one input. Fix: build a model of the part "
                         "to explain, e.g. Model(one_input, layer.output).")
    array = np.asarray(example, dtype=np.float32)
    rank = input_rank(model)
    if rank is not None and array.ndim == rank:
        array = array[np.newaxis]
    elif rank is not None and array.ndim == rank - 1:  # a grey image (H, W): add the channel
        array = array[np.newaxis, ..., np.newaxis]
    if rank is not None and (array.ndim != rank + 1 or array.shape[0] != 1):
        expected = getattr(model, "input_shape", None)
        raise ValueError(
            f"explain: expected one example shaped {tuple(expected)[1:] if expected else '?'} "
            f"(or a batch of one); got shape {np.shape(example)}. Fix: pass x[i] for one example."
        )
    return torch.from_numpy(np.ascontiguousarray(array))


def call_node(node: GraphNode, batch: torch.Tensor, outputs: Sequence[torch.Tensor]) -> torch.Tensor:
    """`node`'s output, given the model's input `batch` and the outputs of the nodes before it."""
    if not node.inputs:  # an InputLayer checks the batch's shape; a chain's first layer reads it
        return node.layer(batch)
    arguments = [outputs[index] for index in node.inputs]
    return node.layer(arguments if node.takes_list else arguments[0])


def run_nodes(model: Any, batch: torch.Tensor, stop: int | None = None) -> list[torch.Tensor]:
    """Outputs of the nodes 0..stop-1 (all when stop is None) for `batch`, in node order."""
    outputs: list[torch.Tensor] = []
    for node in graph_nodes(model)[:stop]:
        outputs.append(call_node(node, batch, outputs))
    return outputs


def node_values(model: Any, example: np.ndarray, index: int) -> tuple[list[torch.Tensor], torch.Tensor]:
    """(input tensors, output tensor) of node `index` for one example, each with a batch of one:
    a node's input is what its inbound nodes made (the model's input for the first)."""
    nodes = graph_nodes(model)
    batch = as_batch(model, example)
    with torch.no_grad():
        before = run_nodes(model, batch, index)
        node = nodes[index]
        inputs = [before[i] for i in node.inputs] if node.inputs else [batch]
        output = call_node(node, batch, before)
    return inputs, output


def layer_input(model: Any, example: np.ndarray, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input, output) tensors of the one-input node `index` for one example, with a batch of one."""
    inputs, output = node_values(model, example, index)
    return inputs[0], output


def output_node(model: Any) -> GraphNode:
    """The node making the model's output (the last node of a chain).

    Raises:
        ValueError: for a model with several outputs.
    """
    found = walk(model)
    if len(found.outputs) != 1:
        raise ValueError(f"explain: model {model.name!r} has {len(found.outputs)} outputs; class scores need one. "
                         "Fix: build Model(model.inputs, model.outputs[k]) for output k.")
    return found.nodes[found.outputs[0]]


def conv_weights(layer: Any) -> tuple[np.ndarray, np.ndarray | None, int]:
    """(kernel, bias, groups) of a convolution as a grouped convolution computes it: the kernel
    (*k, C_in / groups, C_out) in Keras's layout. A DepthwiseConv's kernel (*k, C_in, multiplier)
    becomes (*k, 1, C_in * multiplier) with groups = C_in: output channel c * multiplier + m
    filters input channel c alone, as Keras computes it."""
    weights = layer.get_weights()
    kernel = np.asarray(weights[0])
    bias = np.asarray(weights[1]) if len(weights) > 1 else None
    if layer_kind(layer).startswith("DepthwiseConv"):
        *size, channels, multiplier = kernel.shape
        return kernel.reshape(*size, 1, channels * multiplier), bias, channels
    return kernel, bias, int(getattr(layer, "groups", 1))


def config_of(layer: Any) -> dict[str, Any]:
    """The layer's Keras config, or an empty dict for plain modules."""
    get_config = getattr(layer, "get_config", None)
    return dict(get_config()) if callable(get_config) else {}


def eval_mode(model: Any) -> None:
    """Inference mode (Dropout off, BatchNormalization uses its moving statistics)."""
    if isinstance(model, torch.nn.Module):
        model.eval()
        return
    for layer in model_layers(model):
        if isinstance(layer, torch.nn.Module):
            layer.eval()
