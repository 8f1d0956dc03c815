"""ONNX export through `torch.onnx.export(..., dynamo=True)` (torch.export + onnxscript).

The TorchScript-based exporter (`dynamo=False`) cannot translate the channels-last <-> channels-
first `movedim` the convolution layers use (ONNX Transpose rejects negative axes), so the
dynamo exporter is the one used; it runs offline and needs the `onnx` and `onnxscript` packages.

The graph's input is named "inputs" with shape ("batch", *input_shape[1:]), channels-last, and
its output "outputs" with shape ("batch", *output_shape[1:]).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from convscope._atomic import atomic_path
from convscope.export.graph import InferenceGraph, example_input, inference_mode_of

if TYPE_CHECKING:
    from convscope.models.model import Model

INPUT_NAME, OUTPUT_NAME, BATCH_AXIS = "inputs", "outputs", "batch"


def require(package: str) -> Any:
    """Import an optional export dependency or explain how to install it."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError as error:
        raise ValueError(f"export: the '{package}' package is needed for ONNX; install it with "
                         "pip install 'convscope[export]'.") from error


def export_onnx(model: Model, path: str | os.PathLike[str], *, opset: int | None = None) -> Path:
    """Write `model` as an ONNX file checked by `onnx.checker`; returns the path."""
    onnx = require("onnx")
    require("onnxscript")
    path = Path(path)
    try:
        with atomic_path(path, suffix=".onnx") as temp, inference_mode_of(model):
            graph = InferenceGraph(model)
            batch = torch.export.Dim(BATCH_AXIS)
            options: dict[str, Any] = {} if opset is None else {"opset_version": opset}
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), quiet_registry():
                warnings.simplefilter("ignore")  # the exporter's progress notes, not user mistakes
                torch.onnx.export(graph, (example_input(model),), str(temp), input_names=[INPUT_NAME],
                                  output_names=[OUTPUT_NAME], dynamic_shapes={"inputs": {0: batch}},
                                  dynamo=True, external_data=False, verbose=False, **options)
            onnx.checker.check_model(onnx.load(str(temp)), full_check=True)
    except Exception as error:
        if isinstance(error, ValueError):
            raise
        raise ValueError(f"export: ONNX export of model '{model.name}' to {path} failed "
                         f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}).") from error
    return path


@contextlib.contextmanager
def quiet_registry() -> Any:
    """Hide the exporter's notes about optional torchvision operators it skips."""
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def session(path: str | os.PathLike[str], threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session for an exported file."""
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_predict(path: str | os.PathLike[str] | Any, x: Any, *, batch_size: int = 256) -> np.ndarray:
    """Outputs of an exported model (a path or an open session) for channels-last `x`."""
    runner: Any = path if hasattr(path, "run") else session(path)
    array = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    expected = runner.get_inputs()[0].shape
    if array.ndim != len(expected):
        raise ValueError(f"onnx_predict: the model takes {len(expected)}-D input {tuple(expected)}; "
                         f"got shape {array.shape}.")
    outputs = [runner.run([OUTPUT_NAME], {INPUT_NAME: array[start:start + batch_size]})[0]
               for start in range(0, len(array), batch_size)]
    return np.concatenate(outputs) if outputs else np.zeros((0,), dtype=np.float32)
