"""How the fixture writers (make_keras_*_fixtures.py, under real Keras) save a model: the files
Keras writes, its inputs, predictions and weights, and its printed summary. Keras and NumPy only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def summary_text(model: Any) -> str:
    """`model.summary()` printed wide enough that no cell wraps (with COLUMNS=250 set before
    Keras is imported: rich sizes the table to the console)."""
    lines: list[str] = []
    model.summary(line_length=240, print_fn=lines.append)
    return "\n".join(lines)


def write_model_files(folder: Path, name: str, model: Any, x: list[np.ndarray],
                      predictions: list[np.ndarray]) -> None:
    """NAME.keras and NAME.h5 as Keras saves them; NAME.npz with the inputs x0.. (one per model
    input), the predictions y0.. (one per output) and the weights w0.. in `model.get_weights()`
    order; NAME_summary.txt."""
    model.save(folder / f"{name}.keras")
    model.save(folder / f"{name}.h5")
    arrays = {f"x{i}": value for i, value in enumerate(x)}
    arrays.update({f"y{i}": value for i, value in enumerate(predictions)})
    arrays.update({f"w{i}": value for i, value in enumerate(model.get_weights())})
    np.savez(folder / f"{name}.npz", **arrays)
    (folder / f"{name}_summary.txt").write_text(summary_text(model) + "\n")
