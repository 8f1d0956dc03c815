"""A functional model's config in Keras's layout, and the graph rebuilt from one.

    {"name": "residual", "trainable": true,
     "layers": [{"class_name": "InputLayer", "config": {...}, "name": "input_layer", "inbound_nodes": []},
                {"class_name": "Add", "config": {...}, "name": "add",
                 "inbound_nodes": [{"args": [[<tensor>, <tensor>]], "kwargs": {}}]}, ...],
     "input_layers": ["input_layer", 0, 0], "output_layers": ["dense", 0, 0]}

A <tensor> names where it was made: {"class_name": "__keras_tensor__", "config": {"shape": [...],
"dtype": "float32", "keras_history": [layer name, node index, tensor index]}}, as Keras 3 writes
it; Keras 2's nodes, lists of [layer name, node index, tensor index, kwargs], are read too. Node
indices count a layer's calls within this model. `input_layers`/`output_layers` keep the
structure the model was made with: one [name, node, tensor], a list of them, or a dict.

A config may come from any file, so `preflight` rebuilds the graph on PyTorch's meta device
(sizes without memory) and checks sizes and weight counts before anything is allocated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from convscope.layers import InputLayer, Layer
from convscope.layers.symbolic import Node, SymbolicTensor, flatten, map_structure
from convscope.models import config as config_checks
from convscope.models.graph import Graph, graph_node_index, map_graph

KERAS_TENSOR = "__keras_tensor__"
MAX_NODES = 100_000


# -- writing ------------------------------------------------------------------------------------
def tensor_config(graph: Graph, tensor: SymbolicTensor) -> dict[str, Any]:
    assert tensor.history is not None
    return {"class_name": KERAS_TENSOR, "config": {
        "shape": list(tensor.shape), "dtype": tensor.dtype,
        "keras_history": [tensor.history.layer.name, graph_node_index(graph, tensor), tensor.history.tensor_index]}}


def reference(graph: Graph, tensor: SymbolicTensor) -> list[Any]:
    assert tensor.history is not None
    return [tensor.history.layer.name, graph_node_index(graph, tensor), tensor.history.tensor_index]


def node_config(graph: Graph, node: Node) -> dict[str, Any]:
    """A node as Keras writes it: what the layer was called on, tensors it took by keyword (a
    recurrent layer's initial_state), and `training` when the call set it."""
    kwargs: dict[str, Any] = {} if node.training is None else {"training": node.training}
    kwargs.update(map_structure(lambda tensor: tensor_config(graph, tensor), node.kwargs))
    return {"args": [map_structure(lambda tensor: tensor_config(graph, tensor), node.arguments)], "kwargs": kwargs}


def graph_config(graph: Graph, name: str, inputs: Any, outputs: Any,
                 layer_config: Callable[[Layer], dict[str, Any]], trainable: bool = True) -> dict[str, Any]:
    """The config of the model `graph` describes; `layer_config(layer)` gives each layer's
    {"class_name", "config", ...} entry, to which its name and inbound nodes are added."""
    entries = []
    for layer in graph.layers:
        nodes = [node_config(graph, node) for node in layer.inbound_nodes
                 if id(node) in graph.depths and not node.is_input]
        entries.append({**layer_config(layer), "name": layer.name, "inbound_nodes": nodes})
    return {"name": name, "trainable": trainable, "layers": entries,
            "input_layers": map_structure(lambda tensor: reference(graph, tensor), inputs),
            "output_layers": map_structure(lambda tensor: reference(graph, tensor), outputs)}


def own_layer_config(layer: Layer) -> dict[str, Any]:
    return config_checks.layer_entry(layer)


# -- reading ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """A saved tensor: output `tensor_index` of node `node_index` of the layer called `layer`."""

    layer: str
    node_index: int
    tensor_index: int


def is_functional_config(config: Any) -> bool:
    return isinstance(config, dict) and "input_layers" in config and "output_layers" in config


CALL_KWARGS = ("training", "initial_state")  # what a saved node's call may pass by keyword


def is_reference(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)


def node_arguments(node_data: Any, where: str) -> Any:
    """What a saved node called its layer on, as references: one (name, node, tensor), or a list."""
    if isinstance(node_data, list):  # Keras 2: [[name, node, tensor, kwargs], ...]
        refs = [parse_reference(item[:3], where) for item in node_data if isinstance(item, list)]
        if len(refs) != len(node_data) or not refs:
            raise ValueError(f"model config: {where}: a node must list [layer, node, tensor] entries; got "
                             f"{node_data!r:.200}.")
        return refs[0] if len(refs) == 1 else refs
    if not isinstance(node_data, dict) or not isinstance(node_data.get("args"), list) or not node_data["args"]:
        raise ValueError(f"model config: {where}: a node must be {{'args': [...], 'kwargs': {{}}}}; got "
                         f"{node_data!r:.200}.")
    kwargs = node_data.get("kwargs") or {}
    unknown = sorted(key for key, value in kwargs.items() if value is not None and key not in CALL_KWARGS) \
        if isinstance(kwargs, dict) else ["kwargs"]
    if unknown:
        raise ValueError(f"model config: {where}: call arguments {unknown} are not supported.")
    argument = node_data["args"][0]
    if isinstance(argument, list) and argument:
        return [parse_tensor(value, where) for value in argument]
    return parse_tensor(argument, where)


def node_keyword_tensors(node_data: Any, where: str) -> dict[str, Any]:
    """Tensors a saved Keras 3 node passed by keyword (a recurrent layer's initial_state), as references."""
    kwargs = node_data.get("kwargs") if isinstance(node_data, dict) else None
    if not isinstance(kwargs, dict) or kwargs.get("initial_state") is None:
        return {}
    states = kwargs["initial_state"]
    if isinstance(states, list):
        return {"initial_state": [parse_tensor(value, where) for value in states]}
    return {"initial_state": parse_tensor(states, where)}


def node_training(node_data: Any) -> bool | None:
    """The `training` a saved node's call set (`base_model(x, training=False)`), or None."""
    if isinstance(node_data, dict):
        kwargs = node_data.get("kwargs")
    else:  # Keras 2: [[name, node, tensor, kwargs], ...]
        kwargs = next((item[3] for item in node_data if isinstance(item, list) and len(item) > 3), None)
    training = kwargs.get("training") if isinstance(kwargs, dict) else None
    return training if isinstance(training, bool) else None


def parse_tensor(value: Any, where: str) -> Reference:
    if isinstance(value, dict) and value.get("class_name") == KERAS_TENSOR and isinstance(value.get("config"), dict):
        return parse_reference(value["config"].get("keras_history"), where)
    raise ValueError(f"model config: {where}: a node's argument must be a {KERAS_TENSOR} entry or a list of them; "
                     f"got {value!r:.200}.")


def parse_reference(value: Any, where: str) -> Reference:
    if not (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str)
            and all(isinstance(index, int) and not isinstance(index, bool) and 0 <= index < MAX_NODES
                    for index in value[1:])):
        raise ValueError(f"model config: {where}: expected [layer name, node index, tensor index]; got {value!r:.200}.")
    return Reference(value[0], value[1], value[2])


def created_tensor(layers: dict[str, Layer], ref: Reference, where: str) -> SymbolicTensor | None:
    """The tensor `ref` names, or None when its node is not made yet."""
    name, node_index, tensor_index = ref.layer, ref.node_index, ref.tensor_index
    if name not in layers:
        raise ValueError(f"model config: {where} reads layer {name!r}, which the config does not define.")
    nodes = layers[name].inbound_nodes
    if node_index >= len(nodes):
        return None
    outputs = nodes[node_index].output_tensors
    if tensor_index >= len(outputs):
        raise ValueError(f"model config: {where} reads output {tensor_index} of layer {name!r}, which has "
                         f"{len(outputs)}.")
    return outputs[tensor_index]


def rebuild(config: dict[str, Any]) -> tuple[Any, Any]:
    """Make the layers a functional config lists and call them as its nodes say; returns the
    (inputs, outputs) structures. Nodes wait until the tensors they read exist, as in Keras.

    Raises:
        ValueError: for a malformed config, an unknown layer, a loop or a node nothing feeds.
    """
    layers: dict[str, Layer] = {}
    pending: dict[str, list[tuple[int, Any, bool | None]]] = {}
    for index, entry in enumerate(config["layers"]):
        layer = config_checks.layer_from_entry(entry, index)
        if layer.name in layers:
            raise ValueError(f'model config: the name "{layer.name}" is used twice; layer names must be unique.')
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list) or (not nodes and not isinstance(layer, InputLayer)):
            raise ValueError(f"model config: layer {index} ({layer.label}) needs a list of inbound_nodes.")
        layers[layer.name] = layer
        pending[layer.name] = [(i, (node_arguments(node, where := f"layer {index} ({layer.label}) node {i}"),
                                    node_keyword_tensors(node, where)), node_training(node))
                               for i, node in enumerate(nodes)]
    while any(pending.values()):
        progressed = False
        for name, waiting in pending.items():
            while waiting:
                position, refs, training = waiting[0]
                where = f"layer '{name}' node {position}"
                if any(created_tensor(layers, ref, where) is None for ref in flatten(refs)):
                    break
                tensors, keyword_tensors = map_structure(
                    lambda ref, where=where: created_tensor(layers, ref, where), refs)
                layers[name](tensors, **keyword_tensors, **({} if training is None else {"training": training}))
                waiting.pop(0)
                progressed = True
        if not progressed:
            stuck = {name: len(waiting) for name, waiting in pending.items() if waiting}
            raise ValueError(f"model config: invalid functional model: its graph has a loop or nodes nothing "
                             f"feeds (layers and nodes left: {stuck}).")

    def tensor_of(value: Any, argument: str) -> Any:
        if is_reference(value):
            tensor = created_tensor(layers, parse_reference(value, argument), argument)
            if tensor is None:
                raise ValueError(f"model config: {argument} names node {value[1]} of layer {value[0]!r}, which "
                                 "the config does not make.")
            return tensor
        if isinstance(value, dict):
            return {key: tensor_of(item, argument) for key, item in value.items()}
        if isinstance(value, list) and value:
            return [tensor_of(item, argument) for item in value]
        raise ValueError(f"model config: {argument} must be [layer, node, tensor], a list or a dict of them; "
                         f"got {value!r:.200}.")

    return tensor_of(config["input_layers"], "input_layers"), tensor_of(config["output_layers"], "output_layers")


def preflight(config: dict[str, Any], stored: config_checks.StoredShapes | None = None) -> None:
    """Check a functional config without allocating a weight: rebuild it on the meta device,
    then check every input shape, every tensor's size, the weight count and (with `stored`)
    each weight's shape against the weights file.

    Raises:
        ValueError: naming what is wrong, as `models.config.preflight` does for a Sequential config.
    """
    layer_list = config.get("layers")
    if not isinstance(layer_list, list) or not layer_list:
        raise ValueError("model config must be a JSON object with a 'layers' list.")
    if len(layer_list) > config_checks.MAX_LAYERS:
        raise ValueError(f"model config: {len(layer_list):,} layers; at most {config_checks.MAX_LAYERS:,} are accepted.")
    nodes = sum(len(entry.get("inbound_nodes") or []) for entry in layer_list if isinstance(entry, dict))
    if nodes > MAX_NODES:
        raise ValueError(f"model config: {nodes:,} nodes; at most {MAX_NODES:,} are accepted.")
    for index, entry in enumerate(layer_list):
        if isinstance(entry, dict) and entry.get("class_name") in ("InputLayer", "Input"):
            layer = config_checks.layer_from_entry(entry, index)
            assert isinstance(layer, InputLayer)
            config_checks.check_shape(list(layer.shape), f"layer {index} (InputLayer) shape")
    with torch.device("meta"):
        inputs, outputs = rebuild(config)
        graph = map_graph(inputs, outputs)
    check_sizes(graph, stored)


def check_sizes(graph: Graph, stored: config_checks.StoredShapes | None) -> None:
    for node in graph.nodes:
        for tensor in node.output_tensors:
            sizes = [size for size in tensor.shape[1:] if size is not None]
            label = f"model config: {node.layer.label}"
            if any(size <= 0 for size in sizes):
                raise ValueError(f"{label}: its output shape {tensor.shape} has an empty axis; use padding='same' "
                                 "or smaller kernels and pools.")
            if int(np.prod(sizes, dtype=object)) > config_checks.MAX_SAMPLE_VALUES:
                raise ValueError(f"{label}: one sample's output {tensor.shape} holds more than the "
                                 f"{config_checks.MAX_SAMPLE_VALUES:,} values a model file may ask for.")
    total = 0
    for layer in graph.layers:
        weights = {name: tuple(tensor.permute(*order).shape) for name, tensor, order in layer.keras_weights()}
        total += sum(int(np.prod(shape, dtype=object)) for shape in weights.values())
        if total > config_checks.MAX_PARAMS:
            raise ValueError(f"model config: more than {config_checks.MAX_PARAMS:,} weights by {layer.label}; "
                             "refusing to allocate it.")
        if stored is not None:
            config_checks.check_stored_shapes(layer, weights, stored)
