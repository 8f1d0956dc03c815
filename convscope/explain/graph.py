"""A model as a graph to draw: its nodes (name, kind, output shape, depth) and edges.

The depth of a node is the length of the longest path to it from the model's input (an
InputLayer or, for a Sequential model, the input itself, at depth 0), so drawing nodes in
columns by depth puts every node to the right of all it reads. An edge spanning more than one
column is a skip connection (a residual's identity path, an Inception branch that is shorter
than its siblings).

A model used as a layer is drawn as its layers (named "<model>/<layer>"); `groups` says which
nodes each nested model holds, so a view can frame them under the model's name.

    >>> graph = model_graph(model)                                  # doctest: +SKIP
    >>> [(node.name, node.depth) for node in graph.nodes][:3]       # doctest: +SKIP
    [('input_layer', 0), ('conv2d', 1), ('conv2d_1', 2)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from convscope.explain import _model

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class GraphNodeView:
    """One node to draw: `shape` excludes the batch axis; `inputs` are the names it reads;
    `scope` the nested models it lies in, outermost first."""

    index: int
    name: str
    kind: str
    shape: Shape
    depth: int
    inputs: tuple[str, ...]
    scope: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "kind": self.kind, "shape": list(self.shape),
                "depth": self.depth, "inputs": list(self.inputs), "scope": list(self.scope)}


@dataclass(frozen=True)
class GraphGroup:
    """A model used as a layer: its name where it is used, its kind (e.g. "Sequential") and the
    names of the nodes it holds (its nested models' included)."""

    name: str
    kind: str
    nodes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "nodes": list(self.nodes)}


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
    groups: list[GraphGroup] = field(default_factory=list)

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
        return {"nodes": [node.to_dict() for node in self.nodes], "edges": [edge.to_dict() for edge in self.edges],
                "groups": [group.to_dict() for group in self.groups]}


def model_graph(model: Any) -> ModelGraph:
    """The nodes and edges of `model` (a Sequential, a functional Model or a list of layers).

    A Sequential model's input gets a node of its own ("input", kind "Input"), so both kinds of
    model start at depth 0 with their input. A nested model's layers are nodes (see the module
    text).
    """
    found = _model.walk(model)
    nodes = found.nodes
    views: list[GraphNodeView] = []
    if not _model.is_graph(model):
        shape = getattr(model, "input_shape", None) or getattr(nodes[0].layer, "input_shape", None) or (None,)
        views.append(GraphNodeView(-1, _model.MODEL_INPUT, "Input", tuple(shape)[1:], 0, ()))
    depth = {view.name: view.depth for view in views}
    for node in nodes:
        level = 1 + max((depth[source] for source in node.sources), default=-1)
        depth[node.name] = level
        views.append(GraphNodeView(node.index, node.name, node.kind, node.output_shape or (), level, node.sources,
                                   node.scope))
    edges = [GraphEdge(source, view.name, view.depth - depth[source]) for view in views for source in view.inputs]
    groups = [GraphGroup(nested.name, nested.kind, tuple(nodes[index].name for index in nested.nodes))
              for nested in found.nested]
    return ModelGraph(views, edges, groups)
