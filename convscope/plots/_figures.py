"""Shared figure plumbing: a headless backend, grids, and atomic PNG writes."""

from __future__ import annotations

import math
import os
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
