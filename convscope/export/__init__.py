"""Ship a trained model: ONNX (for ONNX Runtime and friends) or TorchScript (for libtorch).

Both formats take the same input as convscope itself: a channels-last float32 batch
(N, H, W, C) or (N, L, C), with the batch axis dynamic, and return the model's outputs
(probabilities when the last layer ends in softmax). Dropout is off and BatchNormalization uses
its moving averages, as in `model.predict`.

    >>> model.export("digits.onnx")                      # format from the suffix
    >>> model.export("digits.pt", format="torchscript")
    >>> convscope.export.onnx_predict("digits.onnx", x_test)   # (N, 10) NumPy array

Raises `ValueError` for an unknown format, an unbuilt model, or a missing exporter package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from convscope.models.model import Model

FORMATS = ("onnx", "torchscript")
SUFFIXES = {".onnx": "onnx", ".pt": "torchscript", ".ts": "torchscript", ".torchscript": "torchscript"}


def resolve_format(path: str | os.PathLike[str], format: str | None) -> str:
    """The export format: `format` when given, else guessed from the file suffix."""
    if format is None:
        guessed = SUFFIXES.get(Path(path).suffix.lower())
        if guessed is None:
            raise ValueError(f"export: cannot tell the format from '{path}' (suffixes: "
                             f"{', '.join(SUFFIXES)}); pass format='onnx' or format='torchscript'.")
        return guessed
    if not isinstance(format, str) or format.lower() not in FORMATS:
        raise ValueError(f"export: unknown format {format!r}; expected one of {', '.join(FORMATS)}.")
    return format.lower()


def export_model(model: Model, path: str | os.PathLike[str], format: str | None = None,
                 *, opset: int | None = None) -> Path:
    """Write `model` to `path` as ONNX or TorchScript and return the path.

    The file is written to a temporary name and renamed into place, so a failed export
    never leaves a half-written file.
    """
    model.require_built("export")
    chosen = resolve_format(path, format)
    if chosen == "onnx":
        from convscope.export.onnx import export_onnx

        return export_onnx(model, path, opset=opset)
    if opset is not None:
        raise ValueError("export: opset applies to format='onnx' only.")
    from convscope.export.torchscript import export_torchscript

    return export_torchscript(model, path)


def onnx_predict(path: str | os.PathLike[str], x: object, batch_size: int = 256) -> object:
    """Run an exported ONNX file with ONNX Runtime on channels-last `x`; a NumPy array."""
    from convscope.export.onnx import onnx_predict as run

    return run(path, x, batch_size=batch_size)


__all__ = ["FORMATS", "export_model", "onnx_predict", "resolve_format"]
