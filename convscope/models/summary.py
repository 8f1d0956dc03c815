"""Model summaries as data, then rendered: plain text (Keras's layout), a rich table on a
terminal, or HTML in a notebook. Nothing here runs the model."""

from __future__ import annotations

import html
import math
import sys
from collections.abc import Callable
from typing import Any

from convscope.layers import Conv1D, Conv2D, Dense
from convscope.layers.pooling import Pooling
from convscope.models import graph as graph_module
from convscope.models.nested import ModelLayer
from convscope.models.protocol import LayeredModel

WIDTHS = (29, 26, 10)


def format_shape(shape: tuple[int | None, ...] | None) -> str:
    return "?" if shape is None else "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


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


def connections(model: LayeredModel) -> dict[int, str] | None:
    """Each layer's "Connected to" cell (by layer id) for a functional model that is not a plain
    chain; None when the summary has no such column (Keras's rule, `graph.sequential_like`)."""
    graph = getattr(model, "graph", None)
    if not isinstance(graph, graph_module.Graph) or graph_module.sequential_like(graph):
        return None
    return {id(layer): graph_module.connections(graph, layer) for layer in graph.layers}


def summary_data(model: LayeredModel) -> dict[str, Any]:
    """Rows (name, type, output shape, params, MACs, details, and for a branching functional
    model the layers each reads, "connected_to") and totals."""
    links = connections(model)
    rows = []
    trainable = non_trainable = 0
    for layer in model.layers:
        layer_trainable, layer_frozen = layer.param_counts()
        trainable, non_trainable = trainable + layer_trainable, non_trainable + layer_frozen
        rows.append({
            "name": layer.name, "type": type(layer).__name__,
            "output_shape": None if layer.output_shape is None else list(layer.output_shape),
            "params": layer_trainable + layer_frozen, "macs": layer_macs(layer), "details": layer_details(layer),
        })
        if links is not None:
            rows[-1]["connected_to"] = links[id(layer)]
    return {
        "name": model.name, "input_shape": None if model.input_shape is None else list(model.input_shape),
        "rows": rows, "total_params": trainable + non_trainable, "trainable_params": trainable,
        "non_trainable_params": non_trainable, "total_macs": sum(row["macs"] for row in rows),
    }


def summary_text(model: LayeredModel, *, show_details: bool = False, show_macs: bool = False) -> str:
    """Keras's plain-text table (the layout its users know)."""
    data = summary_data(model)
    first = max([WIDTHS[0], *(len(f'{row["name"]} ({row["type"]})') + 2 for row in data["rows"])])
    columns = [("Layer (type)", first), ("Output Shape", WIDTHS[1]), ("Param #", WIDTHS[2])]
    if show_details:
        columns.append(("Kernel/Stride/Pad", 20))
    if show_macs:
        columns.append(("MACs", 14))
    connected = any("connected_to" in row for row in data["rows"])
    if connected:
        columns.append(("Connected to", max(len(row["connected_to"]) for row in data["rows"]) + 2))
    width = sum(w for _, w in columns) + 2

    def line(cells: list[str]) -> str:
        return (" " + "".join(cell.ljust(w) for cell, (_, w) in zip(cells, columns))).rstrip()

    out = [f'Model: "{data["name"]}"', "_" * width, line([title for title, _ in columns]), "=" * width]
    for row in data["rows"]:
        shape = tuple(row["output_shape"]) if row["output_shape"] is not None else None
        cells = [f'{row["name"]} ({row["type"]})', format_shape(shape), f'{row["params"]:,}']
        if show_details:
            cells.append(row["details"])
        if show_macs:
            cells.append(f'{row["macs"]:,}')
        if connected:
            cells.append(row["connected_to"])
        out.append(line(cells))
    out.append("=" * width)
    out += [f'Total params: {data["total_params"]:,}', f'Trainable params: {data["trainable_params"]:,}',
            f'Non-trainable params: {data["non_trainable_params"]:,}']
    if show_macs:
        out.append(f'Total MACs per sample: {data["total_macs"]:,}')
    out.append("_" * width)
    return "\n".join(out)


def print_summary(model: LayeredModel, *, print_fn: Callable[[str], Any] | None = None,
                  show_details: bool = False, show_macs: bool = False) -> None:
    """Rich table on an interactive terminal; Keras's plain text otherwise or with `print_fn`."""
    if print_fn is None and sys.stdout.isatty():
        from rich.console import Console

        Console().print(summary_rich(model, show_details=show_details, show_macs=show_macs))
        return
    text = summary_text(model, show_details=show_details, show_macs=show_macs)
    (print_fn or print)(text)


def summary_rich(model: LayeredModel, *, show_details: bool = False, show_macs: bool = False) -> Any:
    from rich.table import Table

    data = summary_data(model)
    caption = (f'Total params: {data["total_params"]:,}  Trainable: {data["trainable_params"]:,}  '
               f'Non-trainable: {data["non_trainable_params"]:,}')
    table = Table(title=f'Model: "{data["name"]}"', caption=caption)
    table.add_column("Layer (type)")
    table.add_column("Output Shape")
    table.add_column("Param #", justify="right")
    if show_details:
        table.add_column("Kernel/Stride/Pad")
    if show_macs:
        table.add_column("MACs", justify="right")
    connected = any("connected_to" in row for row in data["rows"])
    if connected:
        table.add_column("Connected to")
    for row in data["rows"]:
        cells = [f'{row["name"]} ({row["type"]})', format_shape(tuple(row["output_shape"] or ())), f'{row["params"]:,}']
        cells += [row["details"]] if show_details else []
        cells += [f'{row["macs"]:,}'] if show_macs else []
        cells += [row["connected_to"]] if connected else []
        table.add_row(*cells)
    return table


def summary_html(model: LayeredModel) -> str:
    data = summary_data(model)
    connected = any("connected_to" in row for row in data["rows"])
    rows = "".join(
        f'<tr><td>{html.escape(row["name"])} ({row["type"]})</td>'
        f'<td>{format_shape(tuple(row["output_shape"] or ()))}</td><td style="text-align:right">{row["params"]:,}</td>'
        + (f'<td>{html.escape(row["connected_to"])}</td>' if connected else "") + "</tr>"
        for row in data["rows"])
    connected_header = "<th>Connected to</th>" if connected else ""
    return (f'<b>Model: "{html.escape(data["name"])}"</b><table><thead><tr><th>Layer (type)</th>'
            f'<th>Output Shape</th><th>Param #</th>{connected_header}</tr></thead><tbody>{rows}</tbody></table>'
            f'<p>Total params: {data["total_params"]:,} (trainable {data["trainable_params"]:,}, '
            f'non-trainable {data["non_trainable_params"]:,})</p>')
