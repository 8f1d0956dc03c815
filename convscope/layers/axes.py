"""Permute and RepeatVector: layers that rearrange or repeat axes without computing anything."""

from __future__ import annotations

from typing import Any

import torch

from convscope.layers.base import Layer
from convscope.layers.input_spec import Shape


class Permute(Layer):
    """Reorders the non-batch axes: `dims` is a permutation of 1..rank-1 (Keras counts from 1,
    the batch axis being 0). (batch, 28, 1) with dims (2, 1) -> (batch, 1, 28).

    >>> Permute((2, 1))

    Raises:
        ValueError: when `dims` is not a permutation of 1..n, or the input has another rank.
    """

    def __init__(self, dims: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "Permute" if self.auto_named else self.label
        values = tuple(dims) if isinstance(dims, (list, tuple)) else None
        if not values or not all(isinstance(d, int) and not isinstance(d, bool) for d in values) \
                or sorted(values) != list(range(1, len(values) + 1)):
            raise ValueError(f"{owner}: dims must be a permutation of 1..n, one entry per non-batch axis (Keras "
                             f"counts axes from 1), e.g. (2, 1); got {dims!r}.")
        self.dims: tuple[int, ...] = values

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != len(self.dims) + 1:
            raise ValueError(f"{self.label}: dims {self.dims} reorder {len(self.dims)} axes, so it expects "
                             f"{len(self.dims) + 1}-D input (batch axis included); got shape {tuple(input_shape)}.")
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.permute(0, *self.dims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeats each sample's vector `n` times: (batch, features) -> (batch, n, features).

    >>> RepeatVector(3)
    """

    input_rank = 2

    def __init__(self, n: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "RepeatVector" if self.auto_named else self.label
        if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"{owner}: n must be a positive integer (how many times to repeat); got {n!r}.")
        self.n = n

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.unsqueeze(1).expand(-1, self.n, -1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}
