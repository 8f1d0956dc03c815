"""The inference graph both exporters trace: the layer stack alone, channels-last in and out.

Tracing the `Sequential` itself would also touch its Python-only attributes (compile state,
properties that raise when the model is not compiled); this small module holds just the layers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from convscope.models.sequential import Sequential

EXAMPLE_BATCH = 2  # torch.export specialises sizes 0 and 1, so the example batch must be >= 2


class InferenceGraph(nn.Module):
    """`model`'s layers applied in order: (N, *input_shape[1:]) -> (N, *output_shape[1:])."""

    def __init__(self, model: Sequential) -> None:
        super().__init__()
        self.layers = nn.ModuleList(model.layers)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x


def example_input(model: Sequential) -> torch.Tensor:
    """A zero batch of the model's input shape, on the model's device."""
    input_shape = model.require_built("export")
    sample = [size for size in input_shape[1:] if size is not None]
    if len(sample) != len(input_shape) - 1:
        raise ValueError(f"export: model '{model.name}' has an input shape with unknown sizes "
                         f"{input_shape}; export needs every axis but the batch fixed. "
                         "Build it with model.build((None, 28, 28, 1)) (for example).")
    return torch.zeros((EXAMPLE_BATCH, *sample), dtype=torch.float32, device=model.device)


@contextlib.contextmanager
def inference_mode_of(model: Sequential) -> Iterator[None]:
    """Put the model in eval mode for the export, then restore its training flag."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
