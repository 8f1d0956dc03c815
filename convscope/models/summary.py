"""Model summaries as data, then rendered: plain text (Keras's layout), a rich table on a
terminal, or HTML in a notebook. Nothing here runs the model.

Keras's arguments apply to each rendering: `expand_nested` lists a nested model's layers under
its row, marked "└ " and indented as Keras 3 marks them; `show_trainable` adds a "Trainable"
column (Y, N, or - for a layer without weights); `layer_range` prints the top-level layers from
the first matching its first name to the last matching its second, both included (the totals
stay the whole model's); `line_length` and `positions` size the columns of the text and rich
tables.
"""

from __future__ import annotations

import html
import math
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from typing import Any

from convscope.layers import Conv1D, Conv2D, Dense
from convscope.layers.multi_output import MultiOutputLayer
from convscope.layers.pooling import Pooling
from convscope.models import graph as graph_module
from convscope.models.nested import ModelLayer
from convscope.models.protocol import LayeredModel

WIDTHS = (29, 26, 10)
TRAINABLE_WIDTH = 11  # "Trainable" and two spaces, as Keras's plain table adds it
NESTED_MARK = "└ "


def format_shape(shape: tuple[int | None, ...] | None) -> str:
    return "?" if shape is None else "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def several_output_shapes(layer: Any) -> list[list[int | None]] | None:
    """Each output's shape for a layer that returns several tensors (an RNN with return_state,
    Bidirectional with merge_mode=None); None for a layer with one output."""
    if not isinstance(layer, MultiOutputLayer) or layer.input_shape is None:
        return None
    shapes = layer.output_shapes(layer.input_shape)
    return [list(shape) for shape in shapes] if len(shapes) > 1 else None


def shape_cell(row: dict[str, Any]) -> str:
    """The "Output Shape" cell as Keras prints it: "(None, 5, 8)", or the list of shapes of a
    layer returning several tensors, "[(None, 4), (None, 4), (None, 4)]"."""
    if row.get("output_shapes"):
        return "[" + ", ".join(format_shape(tuple(shape)) for shape in row["output_shapes"]) + "]"
    return format_shape(None if row["output_shape"] is None else tuple(row["output_shape"]))


def layer_macs(layer: Any) -> int:
    """Multiply-accumulates for one sample: conv = out positions x filters x kernel x in / groups.

    0 for layers without a kernel, unbuilt layers, and sizes left unknown (None) by the input;
    a model used as a layer counts its own layers'.
    """
    if isinstance(layer, ModelLayer):
        return sum(layer_macs(inner) for inner in layer.layers)
    if isinstance(layer, (Conv1D, Conv2D)) and layer.input_shape is not None and layer.output_shape is not None:
        _, channels = layer.spatial_and_channels(layer.input_shape)
        out_spatial, _ = layer.spatial_and_channels(layer.output_shape)
        if channels is None or None in out_spatial:
            return 0
        positions = math.prod(size for size in out_spatial if size is not None)
        return positions * layer.filters * math.prod(layer.kernel_size) * int(channels) // layer.groups
    if isinstance(layer, Dense) and layer.input_shape is not None and layer.input_shape[-1] is not None:
        return int(layer.input_shape[-1]) * layer.units
    return 0


def layer_details(layer: Any) -> str:
    """Kernel, stride and padding, e.g. 'k3x3 s1 valid'."""
    if isinstance(layer, (Conv1D, Conv2D)):
        return f"k{'x'.join(map(str, layer.kernel_size))} s{'x'.join(map(str, layer.strides))} {layer.padding}"
    if isinstance(layer, Pooling):
        return f"p{'x'.join(map(str, layer.pool_size))} s{'x'.join(map(str, layer.strides))} {layer.padding}"
    return ""


def trainable_mark(layer: Any) -> str:
    """Keras's "Trainable" cell: Y or N for a layer with weights, - for one without."""
    if sum(layer.param_counts()) == 0:
        return "-"
    return "Y" if layer.trainable else "N"


def connections(model: LayeredModel) -> dict[int, str] | None:
    """Each layer's "Connected to" cell (by layer id) for a functional model that is not a plain
    chain; None when the summary has no such column (Keras's rule, `graph.sequential_like`)."""
    graph = getattr(model, "graph", None)
    if not isinstance(graph, graph_module.Graph) or graph_module.sequential_like(graph):
        return None
    return {id(layer): graph_module.connections(graph, layer) for layer in graph.layers}


def layer_range_bounds(model: LayeredModel, layer_range: Sequence[str] | None) -> tuple[int, int]:
    """The slice of `model.layers` that `layer_range` (first and last name, both included)
    selects, as Keras selects it: each name matches from the start of a layer's name and may be
    a regular expression; the range runs from the first match of one to the last of the other.

    Raises ValueError for anything but two strings, or a name that matches no layer.
    """
    names = [layer.name for layer in model.layers]
    if layer_range is None:
        return 0, len(names)
    if isinstance(layer_range, str) or len(layer_range) != 2 or not all(isinstance(n, str) for n in layer_range):
        raise ValueError(f"summary: layer_range is the first and the last layer to print, two names "
                         f"(e.g. ['conv2d', 'flatten']); got {layer_range!r}")
    first = [index for index, name in enumerate(names) if re.match(layer_range[0], name)]
    last = [index for index, name in enumerate(names) if re.match(layer_range[1], name)]
    for pattern, matches in ((layer_range[0], first), (layer_range[1], last)):
        if not matches:
            raise ValueError(f'summary: layer_range names {pattern!r}, but model "{model.name}" has no layer '
                             f'of that name; its layers are {", ".join(names)}')
    if min(first) > max(last):  # given last to first, as Keras allows
        return min(last), max(first) + 1
    return min(first), max(last) + 1


def layer_rows(layer: Any, links: dict[int, str] | None, depth: int, expand_nested: bool) -> list[dict[str, Any]]:
    """The layer's row, then (with `expand_nested`) its own layers' rows one level deeper."""
    layer_trainable, layer_frozen = layer.param_counts()
    row = {
        "name": layer.name, "type": type(layer).__name__,
        "output_shape": None if layer.output_shape is None else list(layer.output_shape),
        "params": layer_trainable + layer_frozen, "macs": layer_macs(layer), "details": layer_details(layer),
        "trainable": trainable_mark(layer), "depth": depth,
    }
    shapes = several_output_shapes(layer)
    if shapes is not None:  # "output_shape" stays the first output's
        row["output_shapes"] = shapes
    if links is not None:  # a nested model's layers are not nodes of this graph: "-", as in Keras
        row["connected_to"] = links[id(layer)] if depth == 0 else "-"
    rows = [row]
    if expand_nested and isinstance(layer, ModelLayer):
        for inner in layer.layers:
            rows += layer_rows(inner, links, depth + 1, expand_nested)
    return rows


def summary_data(model: LayeredModel, *, expand_nested: bool = False,
                 layer_range: Sequence[str] | None = None) -> dict[str, Any]:
    """Rows (name, type, output shape, params, MACs, details, trainable "Y"/"N"/"-", depth: 0,
    or 1 and more for a nested model's layers, and for a branching functional model the layers
    each reads, "connected_to"; for a layer returning several tensors, "output_shapes", all of
    them) and totals, always the whole model's.

    Raises ValueError for a `layer_range` that names no layer (see `layer_range_bounds`).
    """
    links = connections(model)
    start, stop = layer_range_bounds(model, layer_range)
    rows = []
    for layer in list(model.layers)[start:stop]:
        rows += layer_rows(layer, links, 0, expand_nested)
    trainable = non_trainable = 0
    for layer in model.layers:
        layer_trainable, layer_frozen = layer.param_counts()
        trainable, non_trainable = trainable + layer_trainable, non_trainable + layer_frozen
    return {
        "name": model.name, "input_shape": None if model.input_shape is None else list(model.input_shape),
        "rows": rows, "total_params": trainable + non_trainable, "trainable_params": trainable,
        "non_trainable_params": non_trainable, "total_macs": sum(layer_macs(layer) for layer in model.layers),
    }


def row_name(row: dict[str, Any]) -> str:
    """'conv2d (Conv2D)', or for a nested model's layer '   └ conv2d (Conv2D)' (Keras's mark)."""
    mark = "   " * row["depth"] + NESTED_MARK if row["depth"] else ""
    return f'{mark}{row["name"]} ({row["type"]})'


def table_cells(data: dict[str, Any], *, show_details: bool, show_macs: bool,
                show_trainable: bool) -> tuple[list[tuple[str, int]], list[list[str]]]:
    """The columns (title, natural width: the widest name fits) and each row's cells."""
    columns = [("Layer (type)", max([WIDTHS[0], *(len(row_name(row)) + 2 for row in data["rows"])])),
               ("Output Shape", WIDTHS[1]), ("Param #", WIDTHS[2])]
    columns += [("Kernel/Stride/Pad", 20)] if show_details else []
    columns += [("MACs", 14)] if show_macs else []
    connected = any("connected_to" in row for row in data["rows"])
    if connected:
        columns.append(("Connected to", max(len(row["connected_to"]) for row in data["rows"]) + 2))
    columns += [("Trainable", TRAINABLE_WIDTH)] if show_trainable else []
    rows = []
    for row in data["rows"]:
        cells = [row_name(row), shape_cell(row), f'{row["params"]:,}']
        cells += [row["details"]] if show_details else []
        cells += [f'{row["macs"]:,}'] if show_macs else []
        cells += [row["connected_to"]] if connected else []
        cells += [row["trainable"]] if show_trainable else []
        rows.append(cells)
    return columns, rows


def column_widths(columns: list[tuple[str, int]], *, line_length: int | None, positions: Sequence[float] | None,
                  show_trainable: bool) -> list[int]:
    """Each column's width. By default the natural widths; `line_length` alone scales them to
    fill a line that long; `positions` are where the columns end, as fractions of the line
    (`line_length`, or the natural table's) or, when the last is over 1, in characters. Without
    an entry for the Trainable column, it takes the last tenth of the line, as in Keras 3.

    Raises ValueError for fewer positions than columns or a column under 4 characters.
    """
    natural = [width for _, width in columns]
    if line_length is None and positions is None:
        return natural
    line = (line_length or sum(natural) + 2) - 2  # a rule is two longer than the cells
    if positions is None:
        ends = [int(line * sum(natural[: i + 1]) / sum(natural)) for i in range(len(natural))]
    else:
        ends = column_ends(columns, list(positions), line, show_trainable)
    widths = [end - start for start, end in zip([0, *ends], ends)]
    for (title, _), width in zip(columns, widths):
        if width < 4:
            raise ValueError(f"summary: column {title!r} would be {width} characters wide (line_length "
                             f"{line_length}, positions {positions}); make the line longer or the positions "
                             f"further apart")
    return widths


def column_ends(columns: list[tuple[str, int]], positions: list[float], line: int, show_trainable: bool) -> list[int]:
    """Where each column ends, in characters, from Keras's `positions` (see `column_widths`)."""
    given = len(columns) - 1 if show_trainable and len(positions) == len(columns) - 1 else len(columns)
    if len(positions) < given:
        titles = ", ".join(title for title, _ in columns[:given])
        raise ValueError(f"summary: positions gives where each column ends, one per column ({titles}); "
                         f"got {len(positions)}: {positions}")
    ends = positions[:given]
    if given < len(columns):  # the Trainable column after them, in the last tenth
        ends = [*ends, ends[-1] + TRAINABLE_WIDTH] if ends[-1] > 1 else [*(p * 0.9 for p in ends), 1.0]
    return [int(end) if ends[-1] > 1 else int(end * line) for end in ends]


def table_line(cells: list[str], widths: list[int]) -> list[str]:
    """One row as printed lines: each cell left in its column, a cell too long for its column
    wrapped onto further lines (at spaces where it can), as Keras wraps it."""
    wrapped = [[cell] if len(cell) < width else textwrap.wrap(cell, width - 1) or [""]
               for cell, width in zip(cells, widths)]
    return [(" " + "".join((parts[i] if i < len(parts) else "").ljust(width)
                           for parts, width in zip(wrapped, widths))).rstrip()
            for i in range(max(len(parts) for parts in wrapped))]


def summary_text(model: LayeredModel, *, show_details: bool = False, show_macs: bool = False,
                 expand_nested: bool = False, show_trainable: bool = False, layer_range: Sequence[str] | None = None,
                 line_length: int | None = None, positions: Sequence[float] | None = None) -> str:
    """Keras's plain-text table (the layout its users know); the arguments are Keras's (see the
    module text and `column_widths`).

    Raises ValueError for a `layer_range` naming no layer or columns that cannot fit.
    """
    data = summary_data(model, expand_nested=expand_nested, layer_range=layer_range)
    columns, rows = table_cells(data, show_details=show_details, show_macs=show_macs, show_trainable=show_trainable)
    widths = column_widths(columns, line_length=line_length, positions=positions, show_trainable=show_trainable)
    width = line_length or sum(widths) + 2
    titles = [title if len(title) < w else title[: w - 2] + "…" for (title, _), w in zip(columns, widths)]  # as Keras cuts them
    out = [f'Model: "{data["name"]}"', "_" * width, *table_line(titles, widths), "=" * width]
    for cells in rows:
        out += table_line(cells, widths)
    out.append("=" * width)
    out += [f'Total params: {data["total_params"]:,}', f'Trainable params: {data["trainable_params"]:,}',
            f'Non-trainable params: {data["non_trainable_params"]:,}']
    if show_macs:
        out.append(f'Total MACs per sample: {data["total_macs"]:,}')
    out.append("_" * width)
    return "\n".join(out)


def print_summary(model: LayeredModel, *, print_fn: Callable[[str], Any] | None = None, **options: Any) -> None:
    """Rich table on an interactive terminal; Keras's plain text otherwise or with `print_fn`.
    `options` are `summary_text`'s."""
    if print_fn is None and sys.stdout.isatty():
        from rich.console import Console

        Console().print(summary_rich(model, **options))
        return
    (print_fn or print)(summary_text(model, **options))


def summary_rich(model: LayeredModel, *, show_details: bool = False, show_macs: bool = False,
                 expand_nested: bool = False, show_trainable: bool = False, layer_range: Sequence[str] | None = None,
                 line_length: int | None = None, positions: Sequence[float] | None = None) -> Any:
    """The table for a terminal (rich), with `summary_text`'s arguments; `line_length` is the
    table's width and `positions` its columns' (as Keras 3 sizes its rich table)."""
    from rich.table import Table

    data = summary_data(model, expand_nested=expand_nested, layer_range=layer_range)
    columns, rows = table_cells(data, show_details=show_details, show_macs=show_macs, show_trainable=show_trainable)
    sized = line_length is not None or positions is not None
    widths = column_widths(columns, line_length=line_length, positions=positions, show_trainable=show_trainable)
    caption = (f'Total params: {data["total_params"]:,}  Trainable: {data["trainable_params"]:,}  '
               f'Non-trainable: {data["non_trainable_params"]:,}')
    table = Table(title=f'Model: "{data["name"]}"', caption=caption, width=line_length)
    justify = {"Param #": "right", "MACs": "right", "Trainable": "center"}
    for (title, _), width in zip(columns, widths):
        table.add_column(title, justify=justify.get(title, "left"), width=width if sized else None)  # type: ignore[arg-type]
    for cells in rows:
        table.add_row(*cells)
    return table


def summary_html(model: LayeredModel, *, expand_nested: bool = False, show_trainable: bool = False,
                 layer_range: Sequence[str] | None = None) -> str:
    """The table for a notebook, with Keras's row arguments (column widths are the browser's)."""
    data = summary_data(model, expand_nested=expand_nested, layer_range=layer_range)
    connected = any("connected_to" in row for row in data["rows"])
    rows = "".join(
        f'<tr><td style="padding-left:{1.5 * row["depth"]}em">{html.escape(row_name(row).lstrip())}</td>'
        f'<td>{shape_cell(row)}</td><td style="text-align:right">{row["params"]:,}</td>'
        + (f'<td>{html.escape(row["connected_to"])}</td>' if connected else "")
        + (f'<td style="text-align:center">{row["trainable"]}</td>' if show_trainable else "") + "</tr>"
        for row in data["rows"])
    headers = "".join(f"<th>{title}</th>" for title in ["Layer (type)", "Output Shape", "Param #"]
                      + ["Connected to"] * connected + ["Trainable"] * show_trainable)
    return (f'<b>Model: "{html.escape(data["name"])}"</b><table><thead><tr>{headers}</tr></thead>'
            f'<tbody>{rows}</tbody></table>'
            f'<p>Total params: {data["total_params"]:,} (trainable {data["trainable_params"]:,}, '
            f'non-trainable {data["non_trainable_params"]:,})</p>')
