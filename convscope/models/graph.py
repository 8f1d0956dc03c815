"""The graph of a functional model: which layer calls lead from its inputs to its outputs.

`map_graph` walks back from the output tensors through each tensor's `history` (see
`convscope.layers.symbolic`) and orders what it finds as Keras does, so `model.layers`, the
summary and the weight order match Keras's: by depth (distance from the outputs), deepest
first, and in the order a depth-first walk from the outputs first met them. `run` evaluates
the graph on real tensors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from convscope.layers import InputLayer, Layer, masking
from convscope.layers.base import NameClaim
from convscope.layers.input_spec import Shape
from convscope.layers.pooling import Pooling
from convscope.layers.symbolic import History, Node, SymbolicTensor, flatten, map_structure
from convscope.models import fusion


@dataclass(frozen=True)
class Graph:
    """A functional model's layers and nodes between `inputs` and `outputs`.

    `nodes` are in an order that computes every tensor before its use (inputs first); `layers`
    are in Keras's `model.layers` order, InputLayers first.
    """

    inputs: list[SymbolicTensor]
    outputs: list[SymbolicTensor]
    nodes: list[Node]
    layers: list[Layer]
    depths: dict[int, int]  # node id -> distance from the outputs (0 for the nodes making them)
    pooled: dict[int, Node]  # node id -> the pooling node that alone reads its output (see `pool_pairs`)

    def consumers(self) -> dict[int, int]:
        """How many graph nodes read each tensor (keyed by the tensor's id)."""
        counts: dict[int, int] = defaultdict(int)
        for node in self.nodes:
            for tensor in node.input_tensors:
                counts[id(tensor)] += 1
        return counts


def check_tensors(tensors: Any, argument: str) -> list[SymbolicTensor]:
    """The symbolic tensors of `inputs` or `outputs` (a tensor, a list or a dict), or Keras's
    ValueError for anything else."""
    flat = list(flatten(tensors))
    for value in flat:
        if not isinstance(value, SymbolicTensor) or value.history is None:
            raise ValueError(f"Model: all `{argument}` values must be symbolic tensors made by keras.Input(...) or by "
                             f"calling layers on them. Received: {argument}={tensors!r} including invalid value "
                             f"{value!r} of type {type(value).__name__}")
    if not flat:
        raise ValueError(f"Model: `{argument}` is empty; give at least one tensor, e.g. "
                         f"Model(inputs=keras.Input((28, 28, 1)), outputs=...).")
    return flat


def map_graph(inputs: Any, outputs: Any) -> Graph:
    """Order the nodes and layers between `inputs` and `outputs` as Keras's functional models do.

    Raises:
        ValueError: for values that are not symbolic tensors, a cycle, or an output that cannot
            be computed from the inputs ("Graph disconnected", as Keras says).
    """
    flat_inputs, flat_outputs = check_tensors(inputs, "inputs"), check_tensors(outputs, "outputs")
    ordered, first_seen = walk(flat_inputs, flat_outputs)
    node_depth, layer_depth = depths(ordered)
    for tensor in flat_inputs:  # an input no output depends on still belongs to the model
        assert tensor.history is not None
        node = tensor.history.layer.inbound_nodes[tensor.history.node_index]
        if node.is_input and tensor.history.layer not in layer_depth:
            layer_depth[tensor.history.layer], first_seen[tensor.history.layer] = 0, -1
            node_depth[node] = 0
    layers = sorted(layer_depth, key=lambda layer: (-layer_depth[layer], first_seen[layer]))
    walked = {id(node): index for index, node in enumerate(ordered)}  # parents before children, calls in order
    nodes = sorted(node_depth, key=lambda node: (-node_depth[node], walked.get(id(node), len(walked))))
    check_connected(flat_inputs, nodes)
    return Graph(flat_inputs, flat_outputs, nodes, layers, {id(node): depth for node, depth in node_depth.items()},
                 pool_pairs(nodes, flat_outputs))


def walk(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> tuple[list[Node], dict[Layer, int]]:
    """Depth-first from the outputs: (nodes with every parent before its children, each layer's
    position in the order the walk first met it). The walk stops at the declared inputs."""
    finished: set[int] = set()
    in_progress: set[int] = set()
    ordered: list[Node] = []
    first_seen: dict[Layer, int] = {}
    input_ids = {id(tensor) for tensor in inputs}

    def visit(tensor: SymbolicTensor) -> None:
        assert tensor.history is not None  # check_tensors and Node guarantee it
        layer, node_index, _ = tensor.history
        node = layer.inbound_nodes[node_index]
        if id(node) in finished:
            return
        if not node.is_input and id(tensor) in input_ids:  # an intermediate tensor given as an input
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise ValueError(f"Model: tensor {tensor!r} from layer '{layer.name}' is part of a cycle.")
        first_seen.setdefault(layer, len(first_seen))
        in_progress.add(id(node))
        for parent in node.input_tensors:
            visit(parent)
        finished.add(id(node))
        in_progress.discard(id(node))
        ordered.append(node)

    for tensor in outputs:
        visit(tensor)
    return ordered, first_seen


def depths(ordered: list[Node]) -> tuple[dict[Node, int], dict[Layer, int]]:
    """Each node's and layer's depth: 0 for the outputs' nodes, parents one deeper than their
    deepest child; a shared layer takes the largest depth of its nodes."""
    in_graph = {id(node) for node in ordered}
    node_depth: dict[Node, int] = {}
    layer_depth: dict[Layer, int] = {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(node, 0), layer_depth.get(node.layer, 0))
        layer_depth[node.layer] = node_depth[node] = depth
        for parent in node.parent_nodes:
            if id(parent) in in_graph:
                node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    return node_depth, layer_depth


def pool_pairs(nodes: list[Node], outputs: list[SymbolicTensor]) -> dict[int, Node]:
    """Nodes whose one output only a pooling node reads (and no one else sees): the pairs
    `models.fusion` may run pooling-before-relu, as a Sequential model runs its layers."""
    readers: dict[int, list[Node]] = defaultdict(list)
    for node in nodes:
        for tensor in node.input_tensors:
            readers[id(tensor)].append(node)
    shown = {id(tensor) for tensor in outputs}
    pairs = {}
    for node in nodes:
        if node.is_input or node.layer.takes_list or len(node.output_tensors) != 1:
            continue
        produced = node.output_tensors[0]
        after = readers.get(id(produced), [])
        if id(produced) not in shown and len(after) == 1 and isinstance(after[0].layer, Pooling) \
                and len(after[0].input_tensors) == 1:
            pairs[id(node)] = after[0]
    return pairs


def check_connected(inputs: list[SymbolicTensor], nodes: list[Node]) -> None:
    """Every tensor a node reads is an input or made by an earlier node (Keras's check)."""
    computable = {id(tensor) for tensor in inputs}
    done: list[str] = []
    for node in nodes:
        for tensor in node.input_tensors or node.output_tensors:  # an InputLayer's tensor must be an input
            if id(tensor) not in computable:
                raise ValueError(f"Graph disconnected: cannot find parent for tensor {tensor!r} at layer "
                                 f"'{node.layer.name}'. The following previous layers were accessed without "
                                 f"issue: {done}. Pass every keras.Input(...) the outputs depend on in `inputs`.")
        done.append(node.layer.name)
        computable.update(id(tensor) for tensor in node.output_tensors)


def name_layers(layers: Sequence[Layer]) -> None:
    """Give automatically named layers unique names (conv2d, conv2d_1, ...) in the order they
    were made, as Keras names them, counting the layers made inside them (a TimeDistributed's
    layer, the layer a Bidirectional copies); names given by the user are kept and must be
    unique among the model's layers."""
    taken: dict[str, int] = {}
    for layer in layers:
        if not layer.auto_named:
            taken[layer.name] = taken.get(layer.name, 0) + 1
    for name, count in taken.items():
        if count > 1:
            raise ValueError(f'Model: the name "{name}" is used {count} times in the model. All layer names should '
                             "be unique.")
    give_unique_names([claim for layer in layers for claim in name_claims(layer)], set(taken))


def name_claims(layer: Layer) -> list[NameClaim]:
    """The names `layer` takes in its model: those of the layers made inside it, then its own."""
    return [*layer.inner_name_claims(), layer.name_claim()]


def give_unique_names(claims: Sequence[NameClaim], taken: set[str]) -> None:
    """Rename each automatic name among `claims` to the first of base, base_1, base_2, ... not
    in `taken`, in creation order, after the names given by the user; `taken` gains them all."""
    taken.update(claim.name for claim in claims if not claim.auto_named)
    for claim in sorted((claim for claim in claims if claim.auto_named), key=lambda claim: claim.creation_index):
        name, index = claim.name, 1
        while name in taken:
            name, index = f"{claim.name}_{index}", index + 1
        if name != claim.name:
            claim.rename(name)
        taken.add(name)


def sequential_like(graph: Graph) -> bool:
    """Keras's test for the summary's layout: one node per depth, each reading one tensor, and no
    layer called twice. Such a graph's summary has no "Connected to" column."""
    per_depth: dict[int, int] = defaultdict(int)
    for node in graph.nodes:
        per_depth[graph.depths[id(node)]] += 1
        if len(node.input_tensors) > 1:
            return False
    return all(count == 1 for count in per_depth.values()) and len(graph.layers) == len(graph.nodes)


def connections(graph: Graph, layer: Layer) -> str:
    """The summary's "Connected to" cell: `name[node][tensor]` of every tensor the layer's nodes
    in this graph read, e.g. "activation[0][0], conv2d_2[0][0]"; "-" for an InputLayer. Node
    indices count the layer's nodes in this graph only, as a saved config numbers them."""
    cells = [f"{tensor.history.layer.name}[{graph_node_index(graph, tensor)}][{tensor.history.tensor_index}]"
             for node in layer.inbound_nodes if id(node) in graph.depths
             for tensor in node.input_tensors if tensor.history is not None]
    return ", ".join(cells) or "-"


def graph_node_index(graph: Graph, tensor: SymbolicTensor) -> int:
    """The index of the node that made `tensor` among its layer's nodes in `graph`."""
    assert tensor.history is not None
    layer, node_index, _ = tensor.history
    return sum(1 for node in layer.inbound_nodes[:node_index] if id(node) in graph.depths)


def nodes_in_order(graph: Graph) -> Iterator[tuple[Layer, list[SymbolicTensor], list[SymbolicTensor]]]:
    """(layer, input tensors, output tensors) for every node, inputs first: the order to draw
    or explain the graph in. An InputLayer's node has no input tensors."""
    for node in graph.nodes:
        yield node.layer, list(node.input_tensors), list(node.output_tensors)


def run(graph: Graph, inputs: Sequence[torch.Tensor], logits_of: set[int] | None = None,
        stand_ins: Mapping[int, Callable[[Any], Any]] | None = None,
        input_masks: Sequence[Any] | None = None) -> list[torch.Tensor]:
    """The output tensors of `graph` for real `inputs` (one per graph input, in order).

    `logits_of` holds ids of output tensors whose producing layer should stop before its final
    activation (`Layer.forward_logits`), as a model does for a numerically stable loss. Every
    node runs in the model's mode, as in Keras 3, whose fit and predict pass their `training`
    to every call in the graph: a node's own `training=False` is kept for the config only (a
    frozen model's BatchNormalization uses its moving statistics anyway). `stand_ins` maps a
    layer's id to what runs in its place (an exporter's traceable copy of a model used as a
    layer). Intermediate tensors are dropped once their last reader has run. A graph holding a
    layer that makes masks (Embedding(mask_zero=True), Masking) runs node by node, carrying
    them (`convscope.layers.masking`); its outputs carry theirs. So does a graph given
    `input_masks` (one per input, or None): those of a model used as a layer, from the outer graph.
    """
    masks: dict[int, Any] | None = None
    if input_masks is not None and any(mask is not None for mask in input_masks):
        masks = {id(tensor): mask for tensor, mask in zip(graph.inputs, input_masks)}
    elif masking.makes_masks(graph.layers):
        masks = {}
    values: dict[int, torch.Tensor] = {}
    for tensor, value in zip(graph.inputs, inputs):
        values[id(tensor)] = value
    remaining = graph.consumers()
    keep = {id(tensor) for tensor in graph.outputs}
    logits: dict[int, torch.Tensor] = {}
    done: set[int] = set()  # pooling nodes already run with the node before them
    for node in graph.nodes:
        if node.is_input:
            output = node.output_tensors[0]
            values[id(output)] = node.layer(values[id(output)])  # checks the shape fed in
            continue
        if id(node) in done:
            continue
        arguments = map_structure(lambda tensor: values[id(tensor)], node.arguments)
        call_kwargs = map_structure(lambda tensor: values[id(tensor)], node.kwargs)  # e.g. initial_state
        produced = node.output_tensors[0]
        pool = graph.pooled.get(id(node))
        if masks is not None and not (stand_ins and id(node.layer) in stand_ins):
            wanted = bool(logits_of) and id(produced) in (logits_of or ())
            run_masked(node, arguments, masks, values, logits if wanted and not call_kwargs else None,
                       remaining.get(id(produced), 0) > 0, call_kwargs)
        elif stand_ins and id(node.layer) in stand_ins:
            values[id(produced)] = stand_ins[id(node.layer)](arguments)
        elif len(node.output_tensors) > 1:  # a model with several outputs, used as a layer
            values.update(zip(map(id, node.output_tensors), flatten(node.layer(arguments, **call_kwargs))))
        elif call_kwargs:
            values[id(produced)] = node.layer(arguments, **call_kwargs)
        elif pool is not None and not (logits_of and id(pool.output_tensors[0]) in logits_of):
            values[id(pool.output_tensors[0])] = fusion.run([node.layer, pool.layer], arguments)
            done.add(id(pool))
        elif logits_of and id(produced) in logits_of:
            logits[id(produced)] = node.layer.forward_logits(arguments)
            if remaining.get(id(produced), 0):  # other layers read the activated output too
                values[id(produced)] = node.layer(arguments)
        else:
            values[id(produced)] = node.layer(arguments)
        for tensor in node.input_tensors:
            remaining[id(tensor)] -= 1
            if not remaining[id(tensor)] and id(tensor) not in keep:
                values.pop(id(tensor), None)
    results = [logits[id(tensor)] if id(tensor) in logits else values[id(tensor)] for tensor in graph.outputs]
    if masks is not None:
        results = [masking.attach(result, masks.get(id(tensor))) for result, tensor in zip(results, graph.outputs)]
    return results


def run_masked(node: Node, arguments: Any, masks: dict[int, Any], values: dict[int, Any],
               logits: dict[int, Any] | None, read_on: bool, call_kwargs: dict[str, Any] | None = None) -> None:
    """Run `node` on `arguments` with its inputs' masks, storing its outputs and their masks;
    `logits` (when the output is wanted before its activation) receives that form, and the
    activated one too when other nodes read it (`read_on`). `call_kwargs` (a recurrent layer's
    initial_state) reach the layer's call; their masks are not used, as in Keras."""
    in_masks = map_structure(lambda tensor: masks.get(id(tensor)), node.arguments)
    produced = node.output_tensors[0]
    outputs, out_masks = masking.call(node.layer, arguments, in_masks, logits=logits is not None,
                                      **(call_kwargs or {}))
    if logits is not None:
        logits[id(produced)] = outputs
        if not read_on:
            masks[id(produced)] = out_masks
            return
        outputs, out_masks = masking.call(node.layer, arguments, in_masks)
    if len(node.output_tensors) == 1:
        values[id(produced)], masks[id(produced)] = outputs, out_masks
        return
    out_masks = out_masks if isinstance(out_masks, (list, tuple)) else [out_masks] * len(node.output_tensors)
    for tensor, value, mask in zip(node.output_tensors, flatten(outputs), out_masks):
        values[id(tensor)], masks[id(tensor)] = value, mask


class Chain:
    """The nodes of a Sequential model: its layers called one after another on its input, so
    `layer.output` and `model.inputs`/`model.outputs` work there as in a functional model.

    A Sequential model appends a layer's node once the layer is built, and calls `connect`
    again when its input shape changes (the old nodes are dropped first).
    """

    def __init__(self) -> None:
        self.input_layer: InputLayer | None = None
        self.made: list[Node] = []  # the nodes this chain added, in order

    @property
    def input(self) -> SymbolicTensor | None:
        return None if self.input_layer is None else self.input_layer.output

    @property
    def output(self) -> SymbolicTensor | None:
        return self.made[-1].output_tensors[0] if self.made else self.input

    def start(self, input_layer: InputLayer) -> None:
        """Begin at `input_layer` (a Sequential model's `Input(...)`)."""
        self.disconnect()
        self.input_layer = input_layer

    def append(self, layer: Layer, input_shape: Shape) -> None:
        """Call `layer` on the chain's last tensor (the input, of `input_shape`, at first)."""
        if self.input_layer is None or (not self.made and self.input_layer.batch_shape != tuple(input_shape)):
            self.input_layer = InputLayer(batch_shape=input_shape)
        layer(self.output)
        self.made.append(layer.inbound_nodes[-1])

    def connect(self, input_shape: Shape, layers: Sequence[Layer]) -> None:
        """Drop the nodes made so far, then call `layers` in order on an input of `input_shape`."""
        self.disconnect()
        for layer in layers:
            self.append(layer, input_shape)

    def pop(self, layer: Layer) -> None:
        """Drop the node of `layer`, the chain's last layer."""
        if self.made and self.made[-1].layer is layer:
            remove_node(self.made.pop())

    def disconnect(self) -> None:
        while self.made:
            remove_node(self.made.pop())


def remove_node(node: Node) -> None:
    """Take `node` out of its layer's and its parents' node lists; the layer's later nodes are
    renumbered, so the tensors they made still name them."""
    layer = node.layer
    layer.inbound_nodes.remove(node)
    for tensor in node.input_tensors:
        if tensor.history is not None and node in tensor.history.layer.outbound_nodes:
            tensor.history.layer.outbound_nodes.remove(node)
    for node_index, remaining in enumerate(layer.inbound_nodes):
        for tensor_index, tensor in enumerate(remaining.output_tensors):
            tensor.history = History(layer, node_index, tensor_index)
