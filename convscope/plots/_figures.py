"""Shared figure plumbing: a headless backend, grids, colour bars, captions, atomic PNG writes."""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import Any

from convscope._atomic import atomic_path


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported on first use, never shown on screen)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def grid_shape(count: int, max_columns: int = 8) -> tuple[int, int]:
    """(rows, columns) for `count` panels, at most `max_columns` wide."""
    columns = max(1, min(count, max_columns))
    return max(1, math.ceil(count / columns)), columns


def save_figure(figure: Any, path: str | os.PathLike[str], dpi: int = 100) -> Path:
    """Write `figure` as a PNG to `path` atomically (temporary file, then rename) and close it.

    Returns:
        the path written.
    """
    target = Path(path)
    try:
        with atomic_path(target, suffix=".png") as temporary:
            figure.savefig(temporary, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        pyplot().close(figure)
    return target


def set_title(figure: Any, text: str, fontsize: int = 10) -> None:
    """Lay the panels out, then put the figure title above them (never over a panel title)."""
    figure.tight_layout()
    figure.suptitle(text, fontsize=fontsize, y=1.0, va="bottom")


def hide_axes(axes: Any) -> None:
    axes.set_xticks([])
    axes.set_yticks([])


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure on an Agg canvas with constrained layout, outside pyplot's global state
    (safe from threads, nothing to close)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def describe(figure: Any, title: str, caption: str | None = None, width: int = 110) -> None:
    """A title above the panels and, when given, a caption in words below them."""
    figure.suptitle(title, fontsize=10)
    if caption:
        figure.supxlabel(textwrap.fill(caption, width), fontsize=8, color="#333333")


def image_style(scale: Any) -> dict[str, Any]:
    """imshow arguments for a `ColorScale`: red/blue centred on zero for signed values, dark-to-
    bright viridis from zero for non-negative ones."""
    return {"cmap": "RdBu_r" if scale.diverging else "viridis", "vmin": scale.low, "vmax": scale.high}


def add_colorbar(figure: Any, image: Any, axes: Any, label: str, scale: Any = None) -> Any:
    """A colour bar beside `axes` (one axes or a list sharing it); arrows when `scale` clipped."""
    extend = "neither"
    if scale is not None and scale.clipped > 0:
        extend = "both" if scale.diverging else "max"
    bar = figure.colorbar(image, ax=axes, shrink=0.85, extend=extend)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return bar


def colour_words(scale: Any) -> str:
    """What the colours of `image_style(scale)` mean, in words."""
    if scale.diverging:
        return "red = positive, blue = negative, white = 0"
    more = " or more" if scale.clipped else ""
    return f"dark purple = {scale.low:.3g} (no response), yellow = {scale.high:.3g}{more}"
