"""Walking a model node by node: the one place explain/ touches torch tensors of a model.

A "model" here is a convscope `Sequential` (its layers run one after another), a functional
`Model` (its graph: merge layers, branches, skip connections) or a plain list of channels-last
torch modules, run as a chain. Both kinds become a list of `GraphNode`s in an order that
computes every input before its use, so the rest of explain/ asks one question, "what does
this node read?", instead of "which layer came before?".

A Sequential model's nodes are its layers (node i is `model.layers[i]`, reading node i - 1;
node 0 reads the model's input). A functional model's nodes are its layer calls, InputLayers
included, as `model.nodes_in_order()` gives them; a layer called twice (shared) gives two
nodes, the second named "name[1]".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

MODEL_INPUT = "input"  # what a chain's first node reads, in the "from" column


@dataclass(frozen=True)
class GraphNode:
    """One layer call of a model.

    Attributes:
        index: position in the model's node order (inputs first; every node after what it reads).
        name: the layer's name; "name[k]" for call k >= 1 of a shared layer.
        layer: the layer object.
        inputs: indices of the nodes it reads, in call order; () for an InputLayer, and for the
            first layer of a chain, which reads the model's input.
        sources: names of what it reads ("input" for the model's input of a chain).
    """

    index: int
    name: str
    layer: Any
    inputs: tuple[int, ...]
    sources: tuple[str, ...]

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


def is_graph(model: Any) -> bool:
    """Whether `model` is a functional model (its layers are a graph, not a chain)."""
    from convscope.models.graph import Graph

    return isinstance(getattr(model, "graph", None), Graph)


def model_layers(model: Any) -> list[torch.nn.Module]:
    """The layers of `model` in order (a model with `.layers`, or a sequence of modules)."""
    layers = getattr(model, "layers", model)
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError(
            f"explain: expected a model with a non-empty .layers list or a list of layers; got "
            f"{type(model).__name__}. Fix: pass a convscope Sequential or Model, or load one with load_model."
        )
    return list(layers)


def graph_nodes(model: Any) -> list[GraphNode]:
    """Every node of `model` in computing order (see the module text)."""
    if not is_graph(model):
        layers = model_layers(model)
        return [GraphNode(index, layer_name(layer, index), layer, () if index == 0 else (index - 1,),
                          (MODEL_INPUT,) if index == 0 else (layer_name(layers[index - 1], index - 1),))
                for index, layer in enumerate(layers)]
    made_by: dict[int, int] = {}  # tensor id -> index of the node that made it
    calls: dict[int, int] = {}    # layer id -> calls seen so far
    nodes: list[GraphNode] = []
    for index, (layer, inputs, outputs) in enumerate(model.nodes_in_order()):
        call = calls.get(id(layer), 0)
        calls[id(layer)] = call + 1
        read = tuple(made_by[id(tensor)] for tensor in inputs)
        nodes.append(GraphNode(index, layer.name if call == 0 else f"{layer.name}[{call}]", layer, read,
                               tuple(nodes[i].name for i in read)))
        for tensor in outputs:
            made_by[id(tensor)] = index
    return nodes


def layer_kind(layer: Any) -> str:
    """The layer's class name, e.g. 'Conv2D'."""
    return type(layer).__name__


def layer_name(layer: Any, index: int) -> str:
    return str(getattr(layer, "name", f"layer_{index}"))


def find_node(model: Any, layer: Any, kinds: tuple[str, ...] | None = None) -> GraphNode:
    """The node of a layer given by name (or "name[k]" for a shared layer's call k), node index,
    layer object, or None (the first node of `kinds`).

    Raises:
        ValueError: when no such node exists, listing the model's nodes.
    """
    nodes = graph_nodes(model)
    available = ", ".join(f"{node.index}:{node.name} ({node.kind})" for node in nodes)
    if layer is None:
        matches = [node for node in nodes if kinds is None or node.kind in kinds]
    elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        matches = [nodes[int(layer)]] if -len(nodes) <= layer < len(nodes) else []
    elif isinstance(layer, str):
        matches = [node for node in nodes if node.name == layer]
    else:
        matches = [node for node in nodes if node.layer is layer]
    if not matches:
        wanted = " or ".join(kinds) if kinds else "layer"
        raise ValueError(f"explain: no {wanted} {layer!r} in the model. Layers: {available}.")
    node = matches[0]
    if kinds is not None and node.kind not in kinds:
        raise ValueError(f"explain: layer {node.name!r} is a {node.kind}; expected one of {', '.join(kinds)}. "
                         f"Layers: {available}.")
    return node


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
    nodes = graph_nodes(model)
    if not is_graph(model):
        return nodes[-1]
    outputs = list(model.outputs)
    if len(outputs) != 1:
        raise ValueError(f"explain: model {model.name!r} has {len(outputs)} outputs; class scores need one. "
                         "Fix: build Model(model.inputs, model.outputs[k]) for output k.")
    for node, (_, _, made) in zip(nodes, model.nodes_in_order(), strict=True):
        if any(tensor is outputs[0] for tensor in made):
            return node
    raise AssertionError("the model's output is made by none of its nodes")


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
