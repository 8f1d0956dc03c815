"""Keras's `plot_model` without pydot or Graphviz: a model's graph drawn with matplotlib.

`plot_model` draws `convscope.plots.model_layout.model_layout` (boxes in Keras's look: the
header white on black, the other rows black on white) and writes it as PNG, SVG, PDF, EPS or PS,
by the file's extension, through a temporary file and a rename.

    >>> plot = plot_model(model, "model.png", show_shapes=True)      # doctest: +SKIP
    >>> [box.name for box in plot.layout.boxes][:2]                   # doctest: +SKIP
    ['conv2d', 'max_pooling2d']
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convscope._atomic import atomic_path
from convscope.plots.model_layout import (
    FONT_SIZE,
    PAD,
    ROW_HEIGHT,
    ModelLayout,
    PlotBox,
    model_layout,
)

FORMATS = ("png", "svg", "pdf", "eps", "ps")
SPLINES = ("ortho", "curved", "polyline", "spline", "line")


@dataclass(frozen=True)
class ModelPlot:
    """What `plot_model` returns: the file written, its format and the layout drawn. In a
    notebook it shows itself inline (PNG and SVG), as Keras's IPython `Image` does."""

    path: Path
    format: str
    layout: ModelLayout

    @property
    def filename(self) -> str:
        return str(self.path)

    @property
    def data(self) -> bytes:
        """The file's bytes."""
        return self.path.read_bytes()

    def _repr_png_(self) -> bytes | None:
        return self.data if self.format == "png" else None

    def _repr_svg_(self) -> str | None:
        return self.data.decode("utf-8") if self.format == "svg" else None


def plot_model(model: Any, to_file: str | os.PathLike[str] = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = False, rankdir: str = "TB",
               expand_nested: bool = False, dpi: float = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, splines: str = "ortho", **kwargs: Any) -> ModelPlot:
    """Draw `model`'s graph and write it to `to_file` (Keras's `keras.utils.plot_model`).

    The file's extension picks the format: .png (also when there is none, as in Keras), .svg,
    .pdf, .eps or .ps. The file is written whole or not at all (a temporary, then a rename).
    Edges are drawn as straight segments whatever `splines` says (accepted for Keras scripts).

    Args:
        model: a Sequential or functional model (built: its input shape known).
        show_shapes: add "Input shape: (None, 28, 28, 1)" and "Output shape: ..." rows.
        show_dtype: add an "Output dtype: float32" row.
        show_layer_names: head each box "name (Class)" instead of "Class" (Keras 3's default
            is False).
        rankdir: "TB" top to bottom, "LR" left to right ("BT", "RL" reversed).
        expand_nested: draw a nested model's layers inside a frame instead of one box.
        dpi: dots per inch of a PNG.
        show_layer_activations: add "Activation: relu" to layers with an activation.
        show_trainable: add "Trainable" / "Non-trainable" to layers with weights.

    Returns:
        a `ModelPlot` (path, format, layout); a notebook shows it inline, as Keras's `Image`.

    Raises:
        ValueError: for an unknown extension, rankdir or splines, an unbuilt model, or
            Keras's removed `layer_range`.

    >>> plot_model(model, "model.png", show_shapes=True)     # doctest: +SKIP
    """
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("plot_model: layer_range is no longer supported (Keras 3 removed it). Fix: build a "
                         "Model(inputs, layer.output) of the part to draw.")
    if kwargs:
        raise ValueError(f"plot_model: unknown argument(s) {', '.join(sorted(kwargs))}.")
    path = Path(to_file)
    file_format = path.suffix[1:].lower() or "png"
    if file_format not in FORMATS:
        raise ValueError(f"plot_model: cannot write {str(path)!r}: the extension {path.suffix!r} is not one of "
                         f"{', '.join('.' + name for name in FORMATS)}. Fix: name the file e.g. 'model.png'.")
    if splines not in SPLINES:
        raise ValueError(f"plot_model: splines must be one of {', '.join(map(repr, SPLINES))}; got {splines!r}.")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"plot_model: dpi must be a positive number; got {dpi!r}.")
    layout = model_layout(model, show_shapes, show_dtype, show_layer_names, rankdir, expand_nested,
                          show_layer_activations, show_trainable)
    figure = draw_layout(layout)
    with atomic_path(path, suffix="." + file_format) as temporary:
        figure.savefig(temporary, format=file_format, dpi=dpi)
    return ModelPlot(path, file_format, layout)


def draw_layout(layout: ModelLayout) -> Any:
    """A matplotlib Figure of `layout`, one point of layout per point of page."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, Rectangle

    figure = Figure(figsize=(layout.width / 72, layout.height / 72))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.0, 0.0, 1.0, 1.0))
    axes.set_xlim(0, layout.width)
    axes.set_ylim(0, layout.height)
    axes.set_axis_off()
    for frame in layout.frames:
        axes.add_patch(Rectangle((frame.left, frame.bottom), frame.right - frame.left, frame.top - frame.bottom,
                                 fill=False, linestyle="--", edgecolor="#555555", linewidth=1.0, zorder=0))
        axes.text(frame.left + PAD / 2, frame.top - ROW_HEIGHT / 2, f"{frame.name} ({frame.kind})",
                  fontsize=FONT_SIZE, va="center", ha="left", color="#333333", parse_math=False)
    for edge in layout.edges:
        xs, ys = zip(*edge.points, strict=True)
        axes.plot(xs[:-1], ys[:-1], color="black", linewidth=1.2, zorder=1)
        axes.add_patch(FancyArrowPatch(edge.points[-2], edge.points[-1], arrowstyle="-|>", mutation_scale=10,
                                       color="black", linewidth=1.2, shrinkA=0, shrinkB=0, zorder=1))
    for box in layout.boxes:
        _draw_box(axes, box)
    return figure


def _draw_box(axes: Any, box: PlotBox) -> None:
    """Keras's look: the header white on black, the other rows black on white, the trainable
    row white on green (red when frozen)."""
    from matplotlib.patches import Rectangle

    left, top = box.x - box.width / 2, box.y + box.height / 2
    header = ROW_HEIGHT + 4.0
    axes.add_patch(Rectangle((left, box.y - box.height / 2), box.width, box.height, facecolor="white",
                             edgecolor="black", linewidth=1.0, zorder=2))
    axes.add_patch(Rectangle((left, top - header), box.width, header, facecolor="black", zorder=2))
    axes.text(box.x, top - header / 2, box.lines[0], color="white", fontsize=FONT_SIZE, fontweight="bold",
              ha="center", va="center", zorder=3, parse_math=False)
    for row, line in enumerate(box.lines[1:]):
        middle = top - header - ROW_HEIGHT * (row + 0.5)
        colour = "black"
        if box.trainable is not None and line in ("Trainable", "Non-trainable"):
            axes.add_patch(Rectangle((left, middle - ROW_HEIGHT / 2), box.width, ROW_HEIGHT, zorder=2,
                                     facecolor="forestgreen" if box.trainable else "firebrick"))
            colour = "white"
        axes.text(box.x, middle, line, color=colour, fontsize=FONT_SIZE, ha="center", va="center", zorder=3,
                  parse_math=False)
