"""A small custom layer as users write them (one weight, a config argument), shared by the
tests of `run_layer_test` and of loading custom objects."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from convscope.layers import Layer


class Scale(Layer):
    """x * weight + offset, one weight per channel: a correct custom layer."""

    def __init__(self, offset: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.offset = float(offset)

    def build_weights(self, input_shape: tuple[int | None, ...]) -> None:
        self.weight = nn.Parameter(torch.linspace(0.5, 1.5, int(input_shape[-1] or 1)))

    def keras_weights(self) -> list[tuple[str, torch.Tensor, tuple[int, ...]]]:
        return [("weight", self.weight, (0,))] if self.built else []

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs * self.weight + self.offset

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "offset": self.offset}
