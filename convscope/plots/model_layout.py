"""The layout `plot_model` draws: a model's graph as boxes, edges and frames with coordinates.

`model_layout` turns `convscope.explain.model_graph` (the same nodes and edges the web page
draws) into one box per layer: "name (Class)" (or "Class"), then, when asked,
"Activation: relu", "Input shape: (None, 28, 28, 1)", "Output shape: (None, 26, 26, 64)",
"Output dtype: float32" and "Trainable". Coordinates are points (1/72 inch), origin bottom left.

The layout is layered, as Graphviz's `dot` does it: a box's rank is the longest path to it from
an input, an edge spanning several ranks runs straight through each rank between (so a skip
connection passes beside the layers it skips), and the boxes of a rank are ordered by what they
read and by the slot they fill in what reads them (a merge's inputs in order), then placed under
what they read. As in Keras, a Sequential model has no box for its input, a functional one has
its InputLayers, and a model used as a layer is one box unless `expand_nested`, which gives its
layers boxes of their own (named "model/layer") inside a frame named after it.

    >>> layout = model_layout(model, show_shapes=True)                # doctest: +SKIP
    >>> layout.box("conv2d").lines                                    # doctest: +SKIP
    ('Conv2D', 'Input shape: (None, 28, 28, 1)', 'Output shape: (None, 26, 26, 64)')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RANKDIRS = ("TB", "BT", "LR", "RL")
FONT_SIZE = 10.0
ROW_HEIGHT = 16.0   # points per text row
PAD = 8.0           # points of text padding inside a box
RANK_GAP = 36.0     # points between ranks
ORDER_GAP = 18.0    # points between boxes of one rank
BEND_EXTENT = 6.0   # room a bending edge takes in a rank it passes
MARGIN = 12.0
Point = tuple[float, float]


@dataclass(frozen=True)
class PlotBox:
    """One box: a layer (or a nested model drawn whole), its text rows (the header first),
    its centre (x, y) and size in points (y up), the nested models it lies in, and whether its
    weights train (None: it has none, or it was not asked)."""

    name: str
    kind: str
    lines: tuple[str, ...]
    x: float
    y: float
    width: float
    height: float
    scope: tuple[str, ...] = ()
    trainable: bool | None = None


@dataclass(frozen=True)
class PlotEdge:
    """`source`'s output read by `target`, drawn through `points` (first at the source's side)."""

    source: str
    target: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class PlotFrame:
    """The dashed frame of an expanded nested model: its name, kind and corners (points)."""

    name: str
    kind: str
    left: float
    bottom: float
    right: float
    top: float


@dataclass(frozen=True)
class ModelLayout:
    """Everything `plot_model` draws, in points on a `width` x `height` page (origin bottom left)."""

    boxes: list[PlotBox]
    edges: list[PlotEdge]
    frames: list[PlotFrame]
    rankdir: str
    width: float
    height: float

    def box(self, name: str) -> PlotBox:
        """The box called `name` (a layer's node name, "model/layer" inside an expanded model)."""
        for box in self.boxes:
            if box.name == name:
                return box
        raise ValueError(f"plot_model: no box {name!r}; boxes: {', '.join(box.name for box in self.boxes)}.")


@dataclass
class _Item:
    """A box before layout: the layer (or nested model) behind it and what it reads."""

    name: str
    kind: str
    layer: Any
    reads: list[str]                  # box names
    input_shapes: list[Any]
    output_shapes: list[Any]
    dtype: str
    scope: tuple[str, ...]


def model_layout(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = False,
                 rankdir: str = "TB", expand_nested: bool = False, show_layer_activations: bool = False,
                 show_trainable: bool = False) -> ModelLayout:
    """The boxes, edges and frames `plot_model` draws for `model` (arguments as there).

    Raises:
        ValueError: for a model that is not built or an unknown `rankdir`.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"plot_model: rankdir must be one of {', '.join(map(repr, RANKDIRS))} ('TB' top to "
                         f"bottom, 'LR' left to right); got {rankdir!r}.")
    if not getattr(model, "built", True):
        raise ValueError(f"plot_model: model {getattr(model, 'name', '')!r} has not been built, so its layers "
                         "have no shapes. Fix: give its input shape (Input((28, 28, 1)) first, or input_shape= on "
                         "the first layer), or call model.build((None, 28, 28, 1)).")
    from convscope.explain.graph import model_graph

    graph = model_graph(model)
    items = _items(model, graph, expand_nested)
    options = {"show_shapes": show_shapes, "show_dtype": show_dtype, "show_layer_names": show_layer_names,
               "show_layer_activations": show_layer_activations, "show_trainable": show_trainable}
    rows = {item.name: _rows(item, expand_nested, **options) for item in items}
    sizes = {name: _box_size(lines) for name, (lines, _) in rows.items()}
    centres, routes = _place(items, sizes, rankdir)
    boxes = [PlotBox(item.name, item.kind, rows[item.name][0], *centres[item.name], *sizes[item.name], item.scope,
                     rows[item.name][1]) for item in items]
    edges = [PlotEdge(source, target, points) for (source, target), points in routes.items()]
    frames = _frames(graph.groups, boxes) if expand_nested else []
    return _shifted(boxes, edges, frames, rankdir)


def _items(model: Any, graph: Any, expand_nested: bool) -> list[_Item]:
    """One item per box, in computing order: a node, or a nested model's nodes drawn as one."""
    shapes = {node.name: (None, *node.shape) for node in graph.nodes}
    layers = _layer_table(model)
    dtypes = _dtypes(graph, layers)
    chain_input = [node.name for node in graph.nodes if node.index < 0]  # a Sequential's input: no box
    readers: dict[str, set[str]] = {}
    for edge in graph.edges:
        readers.setdefault(edge.source, set()).add(edge.target)

    scope_of = {node.name: node.scope for node in graph.nodes}

    def box_of(name: str) -> str:  # a nested model drawn whole is one box, named as the model
        node_scope = scope_of.get(name, ())
        return node_scope[0] if node_scope and not expand_nested else name

    items: dict[str, _Item] = {}
    taken: dict[str, set[str]] = {}  # what a nested model drawn whole reads from outside it
    for node in graph.nodes:
        if node.name in chain_input:
            continue
        box = box_of(node.name)
        if box not in items:
            kind = next(group.kind for group in graph.groups if group.name == box) if box != node.name else node.kind
            items[box] = _Item(box, kind, layers.get(_plain_path(box)), [], [], [], dtypes[node.name],
                               node.scope if box == node.name else ())
            taken[box] = set()
        item = items[box]
        for name in node.inputs:  # a layer reading a tensor twice shows it twice, as Keras does
            if box_of(name) == box or (box != node.name and name in taken[box]):
                continue
            taken[box].add(name)
            item.input_shapes.append(shapes[name])
            if name not in chain_input and box_of(name) not in item.reads:
                item.reads.append(box_of(name))
        leaves = readers.get(node.name, set())
        if box == node.name or not leaves or any(box_of(reader) != box for reader in leaves):
            item.output_shapes.append(shapes[node.name])
            item.dtype = dtypes[node.name]
    return list(items.values())


def _plain_path(name: str) -> str:
    """"block[1]/conv" -> "block/conv": the layer behind a shared layer's later call."""
    return re.sub(r"\[\d+\](?=/|$)", "", name)


def _layer_table(model: Any, prefix: str = "") -> dict[str, Any]:
    """Layer objects by node name ("model/layer" inside nested models), from the `.layers` lists."""
    table: dict[str, Any] = {}
    for layer in getattr(model, "layers", model if isinstance(model, list) else []):
        name = prefix + str(getattr(layer, "name", ""))
        table[name] = layer
        if hasattr(layer, "layers"):
            table.update(_layer_table(layer, name + "/"))
    return table


def _dtypes(graph: Any, layers: dict[str, Any]) -> dict[str, str]:
    """Each node's output dtype: its weights' (a layer with weights computes in them), else its
    first input's; an input's is its declared dtype."""
    dtypes: dict[str, str] = {}
    for node in graph.nodes:
        layer: Any = layers.get(_plain_path(node.name))
        weights = list(layer.parameters()) if hasattr(layer, "parameters") else []
        if weights:
            dtypes[node.name] = str(weights[0].dtype).removeprefix("torch.")
        elif node.inputs:
            dtypes[node.name] = dtypes.get(node.inputs[0], "float32")
        else:
            dtypes[node.name] = str(getattr(layer, "dtype", None) or "float32")
    return dtypes


def _shapes_text(shapes: list[Any]) -> str:
    """Keras's text: one shape as "(None, 26, 26, 64)", several as a list."""
    if not shapes:
        return "?"
    return str(shapes[0]) if len(shapes) == 1 else str(shapes)


def _activation_name(layer: Any) -> str | None:
    function = getattr(layer, "activation", None)
    if function is None:
        return None
    from convscope import activations

    try:
        return activations.name_of(function)
    except ValueError:
        return str(getattr(function, "__name__", function))


def _rows(item: _Item, expand_nested: bool, *, show_shapes: bool, show_dtype: bool, show_layer_names: bool,
          show_layer_activations: bool, show_trainable: bool) -> tuple[tuple[str, ...], bool | None]:
    """The box's text rows (header first) and its trainable flag when asked and it has weights."""
    name = item.name.rsplit("/", 1)[-1] if expand_nested else item.name
    lines = [f"{name} ({item.kind})" if show_layer_names else item.kind]
    activation = _activation_name(item.layer) if show_layer_activations else None
    if activation is not None:
        lines.append(f"Activation: {activation}")
    if show_shapes:
        if item.kind != "InputLayer":
            lines.append(f"Input shape: {_shapes_text(item.input_shapes)}")
        lines.append(f"Output shape: {_shapes_text(item.output_shapes)}")
    if show_dtype:
        lines.append(f"Output dtype: {item.dtype}")
    trainable = None
    has_weights = hasattr(item.layer, "parameters") and any(True for _ in item.layer.parameters())
    if show_trainable and has_weights:
        trainable = bool(getattr(item.layer, "trainable", True))
        lines.append("Trainable" if trainable else "Non-trainable")
    return tuple(lines), trainable


def _text_width(text: str, bold: bool = False) -> float:
    """The width of `text` in points at FONT_SIZE, as matplotlib will draw it."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    properties = FontProperties(size=FONT_SIZE, weight="bold" if bold else "normal")
    width, _, _ = TextToPath().get_text_width_height_descent(text, properties, ismath=False)
    return float(width)


def _box_size(lines: tuple[str, ...]) -> tuple[float, float]:
    width = max(_text_width(line, bold=index == 0) for index, line in enumerate(lines)) + 2 * PAD
    return width, ROW_HEIGHT * len(lines) + 4.0


def _place(items: list[_Item], sizes: dict[str, tuple[float, float]],
           rankdir: str) -> tuple[dict[str, Point], dict[tuple[str, str], tuple[Point, ...]]]:
    """Box centres and edge routes (see the module text), before the page is shifted into view."""
    across = rankdir in ("LR", "RL")  # ranks run along x
    along = {name: (height if across else width) for name, (width, height) in sizes.items()}  # extent in a rank
    deep = {name: (width if across else height) for name, (width, height) in sizes.items()}   # extent across ranks
    rank: dict[str, int] = {}
    parents: dict[str, list[str]] = {}
    chains: dict[tuple[str, str], list[str]] = {}
    for item in items:
        rank[item.name] = 1 + max((rank[source] for source in item.reads), default=-1)
        parents[item.name] = []
        for source in item.reads:
            chain = [source]
            for step in range(rank[source] + 1, rank[item.name]):  # a bend in each rank passed
                bend = f"{source}->{item.name}@{step}"
                rank[bend], parents[bend], along[bend], deep[bend] = step, [chain[-1]], BEND_EXTENT, 0.0
                chain.append(bend)
            parents[item.name].append(chain[-1])
            chains[(source, item.name)] = [*chain, item.name]
    ranks: list[list[str]] = [[] for _ in range(max(rank.values()) + 1)]
    for name in rank:  # items first, then bends, each in order made
        ranks[rank[name]].append(name)
    offset = _order_offsets(ranks, parents, along)
    thickness = [max((deep[name] for name in names), default=0.0) for names in ranks]
    depth_at = [sum(thickness[:r]) + RANK_GAP * r + thickness[r] / 2 for r in range(len(ranks))]
    flip = -1.0 if rankdir in ("TB", "RL") else 1.0

    def centre(name: str) -> Point:
        level = flip * depth_at[rank[name]]
        return (level, -offset[name]) if across else (offset[name], level)

    centres = {name: centre(name) for name in rank}
    routes = {}
    for (source, target), chain in chains.items():  # a bend runs straight through its rank's band
        bends = [point for name in chain[1:-1]
                 for point in (_side(centres[name], -thickness[rank[name]] / 2, flip, across),
                               _side(centres[name], thickness[rank[name]] / 2, flip, across))]
        routes[(source, target)] = (_side(centres[source], deep[source] / 2, flip, across), *bends,
                                    _side(centres[target], -deep[target] / 2, flip, across))
    return {item.name: centres[item.name] for item in items}, routes


def _side(point: Point, distance: float, flip: float, across: bool) -> Point:
    """`point` moved `distance` towards the later ranks (a box's edge facing its readers)."""
    x, y = point
    return (x + flip * distance, y) if across else (x, y + flip * distance)


def _order(ranks: list[list[str]], parents: dict[str, list[str]]) -> None:
    """Order each rank (in place) under what it reads, then, going up, by the slot each takes
    among its readers' inputs (a merge's inputs left to right), then down again."""
    children: dict[str, list[tuple[str, float]]] = {}
    for name, read in parents.items():
        for slot, parent in enumerate(read):
            children.setdefault(parent, []).append((name, slot / len(read)))
    index = {name: position for names in ranks for position, name in enumerate(names)}

    def by_parents(name: str) -> float:
        return sum(index[p] for p in parents[name]) / len(parents[name]) if parents[name] else index[name]

    def by_children(name: str) -> float:
        below = children.get(name, [])
        return sum(index[c] + slot for c, slot in below) / len(below) if below else float(index[name])

    for key, order in ((by_parents, ranks[1:]), (by_children, ranks[-2::-1]), (by_parents, ranks[1:])):
        for names in order:
            names.sort(key=key)
            index.update((name, position) for position, name in enumerate(names))


def _order_offsets(ranks: list[list[str]], parents: dict[str, list[str]],
                   along: dict[str, float]) -> dict[str, float]:
    """Each name's position within its rank: ordered by, and placed under, what it reads."""
    _order(ranks, parents)
    offset: dict[str, float] = {}
    for names in ranks:
        wanted = [sum(offset[p] for p in parents[name]) / len(parents[name]) if parents[name] else 0.0
                  for name in names]
        placed: list[float] = []
        for position, name in enumerate(names):
            low = placed[-1] + (along[names[position - 1]] + along[name]) / 2 + ORDER_GAP if placed else -1e18
            placed.append(max(wanted[position], low))
        shift = sum(w - p for w, p in zip(wanted, placed, strict=True)) / len(names)
        for position, name in enumerate(names):
            offset[name] = placed[position] + shift
    return offset


def _frames(groups: list[Any], boxes: list[PlotBox]) -> list[PlotFrame]:
    """A frame around each nested model's boxes, wider for the outer of nested frames."""
    frames = []
    for group in groups:
        members = [box for box in boxes if group.name in box.scope]
        if not members:
            continue
        levels = max(len(box.scope) for box in members) - (group.name.count("/") + 1)  # frames inside this one
        pad = PAD * (1 + levels)
        frames.append(PlotFrame(
            group.name, group.kind, min(box.x - box.width / 2 for box in members) - pad,
            min(box.y - box.height / 2 for box in members) - pad, max(box.x + box.width / 2 for box in members) + pad,
            max(box.y + box.height / 2 for box in members) + pad + ROW_HEIGHT))
    return frames


def _shifted(boxes: list[PlotBox], edges: list[PlotEdge], frames: list[PlotFrame], rankdir: str) -> ModelLayout:
    """The layout moved so its lowest, leftmost point lies MARGIN points inside the page."""
    xs = [x for box in boxes for x in (box.x - box.width / 2, box.x + box.width / 2)]
    ys = [y for box in boxes for y in (box.y - box.height / 2, box.y + box.height / 2)]
    xs += [frame.left for frame in frames] + [frame.right for frame in frames]
    ys += [frame.bottom for frame in frames] + [frame.top for frame in frames]
    xs += [x for edge in edges for x, _ in edge.points]
    ys += [y for edge in edges for _, y in edge.points]
    dx, dy = MARGIN - min(xs), MARGIN - min(ys)
    return ModelLayout(
        [PlotBox(box.name, box.kind, box.lines, box.x + dx, box.y + dy, box.width, box.height, box.scope,
                 box.trainable) for box in boxes],
        [PlotEdge(edge.source, edge.target, tuple((x + dx, y + dy) for x, y in edge.points)) for edge in edges],
        [PlotFrame(frame.name, frame.kind, frame.left + dx, frame.bottom + dy, frame.right + dx, frame.top + dy)
         for frame in frames],
        rankdir, max(xs) + dx + MARGIN, max(ys) + dy + MARGIN)

