"""Keras's methods that look into a model: its weights (listed, read, set and counted) and its
summary table.

`Model` takes these methods from `KerasIntrospection`; they read the model's `layers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from convscope.models.protocol import LayeredModel

if TYPE_CHECKING:
    from convscope.layers import Layer


class KerasIntrospection:
    """weights, get_weights, set_weights, count_params and summary, as Keras's `Model` has them."""

    if TYPE_CHECKING:  # what a model defines
        name: str

        @property
        def layers(self) -> list[Layer]: ...

    @property
    def weights(self) -> list[torch.Tensor]:
        """Every weight tensor, layer by layer in Keras's order (in PyTorch's memory layout)."""
        return [tensor for layer in self.layers for _, tensor, _ in layer.keras_weights()]

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        """The weights the optimizer updates: parameters of trainable layers."""
        return [tensor for layer in self.layers if layer.trainable
                for _, tensor, _ in layer.keras_weights() if isinstance(tensor, nn.Parameter) and tensor.requires_grad]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        """Frozen layers' weights and running statistics (BatchNormalization's moving mean/variance)."""
        trainable = {id(tensor) for tensor in self.trainable_weights}
        return [tensor for tensor in self.weights if id(tensor) not in trainable]

    def get_weights(self) -> list[np.ndarray]:
        return [weight for layer in self.layers for weight in layer.get_weights()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        layers = self.layers
        expected = sum(len(layer.keras_weights()) for layer in layers)
        if len(weights) != expected:
            raise ValueError(f"{type(self).__name__} '{self.name}'.set_weights expects {expected} arrays; got "
                             f"{len(weights)}.")
        position = 0
        for layer in layers:
            count = len(layer.keras_weights())
            layer.set_weights(list(weights[position:position + count]))
            position += count

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    # -- summary ----------------------------------------------------------------------------
    def summary(self: LayeredModel, line_length: int | None = None, positions: Any = None,
                print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                show_trainable: bool = False, layer_range: Any = None, *, show_details: bool = False,
                show_macs: bool = False) -> None:
        """Print the layer table: name (type), output shape, parameter count, totals.

        Keras's arguments in Keras's order: `line_length` (the table's width; its columns
        widen or narrow with it) and `positions` (where each column ends, fractions of the line
        or, over 1, characters); `print_fn` takes the text (a rich table is printed on a
        terminal otherwise); `expand_nested` lists a nested model's layers under its row,
        marked "└ "; `show_trainable` adds a Trainable column (Y, N, - without weights);
        `layer_range` prints the layers from a first to a last name, both included (regular
        expressions matched from the start of each name, as in Keras). `show_details` adds
        kernel, stride and padding; `show_macs` multiply-accumulates per sample.

            model.summary(layer_range=["conv2d", "flatten"], show_trainable=True)

        Raises ValueError for a `layer_range` that names no layer or columns that cannot fit.
        """
        from convscope.models.summary import print_summary

        print_summary(self, print_fn=print_fn, show_details=show_details, show_macs=show_macs,
                      expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range,
                      line_length=line_length, positions=positions)

    def summary_data(self: LayeredModel) -> dict[str, Any]:
        """The summary as plain data: rows and totals."""
        from convscope.models.summary import summary_data

        return summary_data(self)

    def _repr_html_(self: LayeredModel) -> str:
        from convscope.models.summary import summary_html

        return summary_html(self)
