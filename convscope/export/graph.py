"""The inference graph both exporters trace: the layer stack alone, channels-last in and out.

Tracing the `Sequential` itself would also touch its Python-only attributes (compile state,
properties that raise when the model is not compiled); this small module holds just the layers,
and, for a model used as a layer, an inference graph of its own layers in its place.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import nn

from convscope.layers import Layer, masking
from convscope.models.graph import Graph
from convscope.models.graph import run as run_graph
from convscope.models.nested import ModelLayer

if TYPE_CHECKING:
    from convscope.models.model import Model

EXAMPLE_BATCH = 2  # torch.export specialises sizes 0 and 1, so the example batch must be >= 2


class InferenceGraph(nn.Module):
    """`model`'s layers applied in order, or along its graph for a functional model (residual
    and branching CNNs): (N, *input_shape[1:]) -> (N, *output_shape[1:])."""

    def __init__(self, model: Model | ModelLayer) -> None:
        super().__init__()
        self.layers = nn.ModuleList(InferenceGraph(layer) if isinstance(layer, ModelLayer) else layer
                                    for layer in model.layers)
        self.stand_ins = {id(layer): traced for layer, traced in zip(model.layers, self.layers) if traced is not layer}
        self.graph: Graph | None = getattr(model, "graph", None)
        self.masked: list[Layer] = list(model.layers) if masking.makes_masks(model.layers) else []
        if self.masked and self.stand_ins:
            raise ValueError(f"export: model '{model.name}' makes a mask (Embedding(mask_zero=True) or Masking) and "
                             "holds a model used as a layer; export does not carry masks into nested models.")
        if self.graph is not None and (len(self.graph.inputs) != 1 or len(self.graph.outputs) != 1):
            raise ValueError(f"export: model '{model.name}' has {len(self.graph.inputs)} inputs and "
                             f"{len(self.graph.outputs)} outputs; export takes models with one of each.")

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.graph is not None:
            (outputs,) = run_graph(self.graph, [inputs], stand_ins=self.stand_ins)
            return outputs
        if self.masked:  # Embedding(mask_zero=True), Masking: the mask goes along, as in predict
            return masking.run(self.masked, inputs)
        x = inputs
        for layer in self.layers:
            x = layer(x)
        return x


def example_input(model: Model) -> torch.Tensor:
    """A zero batch of the model's input shape, on the model's device."""
    input_shape = model.require_built("export")
    sample = [size for size in input_shape[1:] if size is not None]
    if len(sample) != len(input_shape) - 1:
        raise ValueError(f"export: model '{model.name}' has an input shape with unknown sizes "
                         f"{input_shape}; export needs every axis but the batch fixed. "
                         "Build it with model.build((None, 28, 28, 1)) (for example).")
    return torch.zeros((EXAMPLE_BATCH, *sample), dtype=torch.float32, device=model.device)


@contextlib.contextmanager
def inference_mode_of(model: Model) -> Iterator[None]:
    """Put the model in eval mode for the export, then restore its training flag."""
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)
