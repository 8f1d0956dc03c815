"""TorchScript export by tracing the inference graph (channels-last input, any batch size).

Load it without convscope: `torch.jit.load("model.pt")(x)` with x of shape (N, H, W, C).
Upstream PyTorch has deprecated `torch.jit`; ONNX is the better long-term target.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from convscope._atomic import atomic_path
from convscope.export.graph import InferenceGraph, example_input, inference_mode_of

if TYPE_CHECKING:
    from convscope.models.model import Model


def export_torchscript(model: Model, path: str | os.PathLike[str]) -> Path:
    """Trace `model` and save it as a TorchScript archive; returns the path."""
    path = Path(path)
    with atomic_path(path, suffix=".pt") as temp, inference_mode_of(model), warnings.catch_warnings():
        # The layers' input-shape checks compare sizes in Python; tracing flags each one,
        # but they only guard the non-batch axes, which the traced graph fixes anyway.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.trace.* is deprecated")
        traced = torch.jit.trace(InferenceGraph(model), example_input(model), check_trace=False)
        traced.save(str(temp))
    return path
