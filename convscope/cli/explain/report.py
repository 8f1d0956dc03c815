"""How `convscope explain` reports: printed steps and matrices, files written under --out."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any


def out_folder(args: argparse.Namespace) -> Path | None:
    return Path(args.out) if getattr(args, "out", None) else None


def show_steps(steps: Any, args: argparse.Namespace, write: Callable[[Any, Path], list[Path]]) -> int:
    """Print the steps; with --out, make the folder, `write(steps, out)` their files and name each.
    Exit status 0 when the steps' result equals the layer's own output, 1 otherwise."""
    print(steps.text())
    out = out_folder(args)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for path in write(steps, out):
            print(f"wrote {path}")
    return 0 if steps.agrees else 1


def format_matrix(values: Any) -> str:
    """A small array as aligned rows; larger ones are summarised."""
    import numpy as np

    array = np.atleast_2d(np.asarray(values, dtype=np.float64))
    if array.ndim > 2 or array.size > 400:
        return f"  array {np.shape(values)} (too large to print)"
    cells = [[f"{v:.4g}" for v in row] for row in array]
    width = max(len(c) for row in cells for c in row)
    return "\n".join("  [" + " ".join(c.rjust(width) for c in row) + "]" for row in cells)
