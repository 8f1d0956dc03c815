"""A model as a graph to draw: its nodes (name, kind, output shape, depth) and edges.

The depth of a node is the length of the longest path to it from the model's input (an
InputLayer or, for a Sequential model, the input itself, at depth 0), so drawing nodes in
columns by depth puts every node to the right of all it reads. An edge spanning more than one
column is a skip connection (a residual's identity path, an Inception branch that is shorter
than its siblings).

    >>> graph = model_graph(model)                                  # doctest: +SKIP
    >>> [(node.name, node.depth) for node in graph.nodes][:3]       # doctest: +SKIP
    [('input_layer', 0), ('conv2d', 1), ('conv2d_1', 2)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from convscope.explain import _model

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class GraphNodeView:
    """One node to draw: `shape` excludes the batch axis; `inputs` are the names it reads."""

    index: int
    name: str
    kind: str
    shape: Shape
    depth: int
    inputs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "kind": self.kind, "shape": list(self.shape),
                "depth": self.depth, "inputs": list(self.inputs)}


@dataclass(frozen=True)
class GraphEdge:
    """`source`'s output is read by `target`; `span` columns apart (more than 1: a skip)."""

    source: str
    target: str
    span: int

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "span": self.span}


@dataclass(frozen=True)
class ModelGraph:
    """A model's nodes in computing order and its edges; a Sequential model is a chain that
    starts at a node named "input"."""

    nodes: list[GraphNodeView]
    edges: list[GraphEdge]

    @property
    def depth(self) -> int:
        """The number of columns less one: the longest path from the input."""
        return max(node.depth for node in self.nodes)

    @property
    def is_chain(self) -> bool:
        """True when every node reads one node and is read by at most one."""
        readers: dict[str, int] = {}
        for edge in self.edges:
            readers[edge.source] = readers.get(edge.source, 0) + 1
        return all(len(node.inputs) <= 1 for node in self.nodes) and all(count == 1 for count in readers.values())

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [node.to_dict() for node in self.nodes], "edges": [edge.to_dict() for edge in self.edges]}


def model_graph(model: Any) -> ModelGraph:
    """The nodes and edges of `model` (a Sequential, a functional Model or a list of layers).

    A Sequential model's input gets a node of its own ("input", kind "Input"), so both kinds of
    model start at depth 0 with their input.
    """
    nodes = _model.graph_nodes(model)
    views: list[GraphNodeView] = []
    if not _model.is_graph(model):
        shape = getattr(model, "input_shape", None) or getattr(nodes[0].layer, "input_shape", None) or (None,)
        views.append(GraphNodeView(-1, _model.MODEL_INPUT, "Input", tuple(shape)[1:], 0, ()))
    depth = {view.name: view.depth for view in views}
    shapes = _output_shapes(model, nodes)
    for node, shape in zip(nodes, shapes, strict=True):
        level = 1 + max((depth[source] for source in node.sources), default=-1)
        depth[node.name] = level
        views.append(GraphNodeView(node.index, node.name, node.kind, shape, level, node.sources))
    edges = [GraphEdge(source, view.name, view.depth - depth[source]) for view in views for source in view.inputs]
    return ModelGraph(views, edges)


def _output_shapes(model: Any, nodes: list[_model.GraphNode]) -> list[Shape]:
    """Each node's output shape without the batch axis (a shared layer's calls: each its own)."""
    if _model.is_graph(model):
        return [tuple(outputs[0].shape)[1:] for _, _, outputs in model.nodes_in_order()]
    shapes = [getattr(node.layer, "output_shape", None) for node in nodes]
    return [tuple(shape)[1:] if shape is not None else () for shape in shapes]
