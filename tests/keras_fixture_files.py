"""Models saved by real Keras for the tests to compare with: how the fixture writers
(tests/keras/make_keras_*_fixtures.py, under benchmarks/.keras-env) save them, and how the tests
read them back. NumPy only, so both sides import it.

For a model NAME, tests/keras/fixtures/ holds NAME.keras and NAME.h5 as Keras saves them,
NAME.npz with the inputs x0.. (one per model input), Keras's predictions y0.. (one per output)
and the weights w0.. in `model.get_weights()` order, and NAME_summary.txt, `model.summary()`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

FIXTURES = Path(__file__).parent / "keras" / "fixtures"
KERAS_PYTHON = Path(__file__).parents[1] / "benchmarks" / ".keras-env" / "bin" / "python"
DROPPED_KEYS = {"dtype"}  # Keras's dtype policy: convscope layers are float32


# -- writing, under real Keras ---------------------------------------------------------------------
def summary_text(model: Any) -> str:
    """`model.summary()` printed wide enough that no cell wraps (with COLUMNS=250 set before
    Keras is imported: rich sizes the table to the console)."""
    lines: list[str] = []
    model.summary(line_length=240, print_fn=lines.append)
    return "\n".join(lines)


def write_model_files(folder: Path, name: str, model: Any, x: list[np.ndarray],
                      predictions: list[np.ndarray]) -> None:
    """NAME.keras, NAME.h5, NAME.npz (inputs `x`, `predictions` and the model's weights) and
    NAME_summary.txt under `folder`."""
    model.save(folder / f"{name}.keras")
    model.save(folder / f"{name}.h5")
    arrays = {f"x{i}": value for i, value in enumerate(x)}
    arrays.update({f"y{i}": value for i, value in enumerate(predictions)})
    arrays.update({f"w{i}": value for i, value in enumerate(model.get_weights())})
    np.savez(folder / f"{name}.npz", **arrays)
    (folder / f"{name}_summary.txt").write_text(summary_text(model) + "\n")


def record_layer(arrays: dict[str, np.ndarray], described: dict[str, dict], case: str, layer: Any,
                 shape: tuple[int, ...], x: np.ndarray, y: np.ndarray, weights: list[np.ndarray]) -> None:
    """A layer case as the layer tests read it: its input CASE/x, output CASE/y and weights
    CASE/w0.. into `arrays`; its config (less Keras's dtype policy), output shape for `shape`,
    parameter count and number of weights into `described[case]`."""
    arrays[f"{case}/x"], arrays[f"{case}/y"] = x, y
    for number, weight in enumerate(weights):
        arrays[f"{case}/w{number}"] = weight
    config = {key: value for key, value in layer.get_config().items() if key not in DROPPED_KEYS}
    described[case] = {"config": config, "output_shape": list(layer.compute_output_shape(shape)),
                       "params": layer.count_params(), "weights": len(weights)}


def write_layer_files(folder: Path, name: str, arrays: dict[str, np.ndarray], described: dict[str, dict]) -> None:
    """NAME.npz (`arrays`) and NAME.json (`described`) under `folder`."""
    np.savez_compressed(folder / f"{name}.npz", **arrays)
    (folder / f"{name}.json").write_text(json.dumps(described, indent=1, sort_keys=True, default=str) + "\n")


# -- reading, under convscope ----------------------------------------------------------------------
def saved_arrays(name: str) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """(inputs, Keras's predictions, Keras's weights) saved in NAME.npz, each a list."""
    arrays = np.load(FIXTURES / f"{name}.npz")

    def numbered(prefix: str) -> list[np.ndarray]:
        return [arrays[f"{prefix}{i}"] for i in range(sum(key.startswith(prefix) for key in arrays))]

    return numbered("x"), numbered("y"), numbered("w")


def keras_summary(name: str) -> tuple[list[list[str]], dict[str, int]]:
    """The rows of Keras's printed summary in NAME_summary.txt (the cells of a row that wrapped
    joined) and its counts ({"Total params": ..., "Trainable params": ..., ...})."""
    rows: list[list[str]] = []
    current: list[list[str]] | None = None
    counts: dict[str, int] = {}
    for line in (FIXTURES / f"{name}_summary.txt").read_text().splitlines():
        if line.startswith("│"):
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            if current is None:
                current = [[cell] for cell in cells]
            else:
                for parts, cell in zip(current, cells):
                    parts.append(cell)
        elif line.startswith(("├", "└")) and current is not None:
            rows.append([" ".join(part for part in parts if part) for parts in current])
            current = None
        elif "params:" in line:
            label, value = line.split(":")
            counts[label.strip()] = int(value.split("(")[0].replace(",", ""))
    return rows, counts


def predictions(model: Any, x: list[np.ndarray]) -> list[np.ndarray]:
    """`model.predict` on the inputs `x` (one array for a one-input model), as a list of outputs."""
    result = model.predict(x if len(x) > 1 else x[0])
    return result if isinstance(result, list) else [result]


def assert_predicts_as_keras(model: Any, name: str) -> None:
    """`model`, given the weights Keras saved for NAME, predicts what Keras predicted (its weights
    have Keras's shapes, in Keras's order)."""
    x, expected, weights = saved_arrays(name)
    assert [weight.shape for weight in model.get_weights()] == [weight.shape for weight in weights]
    model.set_weights(weights)
    for ours, theirs in zip(predictions(model, x), expected, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
