"""GaussianNoise and GaussianDropout: regularisation by random noise, only while training
(`fit`, or `layer.train()`); in inference they pass inputs through, as Dropout does.

With a `seed`, a layer draws the same sequence of noise on every run; without one it draws
from torch's global generator (`keras.utils.set_random_seed` seeds that).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from convscope.layers.base import Layer


class NoiseLayer(Layer):
    """Base: one argument in [0, 1], the seed, and normal draws during training."""

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    argument = "stddev"
    upper_open = False  # whether the argument must stay below 1

    def __init__(self, value: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        valid = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1 \
            and not (self.upper_open and value == 1)
        if not valid:
            raise ValueError(f"{owner}: {self.argument} must be a number in [0, {'1)' if self.upper_open else '1]'}; "
                             f"got {value!r}.")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"{owner}: seed must be an integer or None; got {seed!r}.")
        self.value, self.seed = value, seed
        self.generator: torch.Generator | None = None

    def normal(self, like: torch.Tensor) -> torch.Tensor:
        """Standard normal draws shaped like `like`, from the layer's seeded generator when seeded."""
        if self.seed is None:
            return torch.randn(like.shape, dtype=like.dtype).to(like.device)
        if self.generator is None:
            self.generator = torch.Generator().manual_seed(self.seed)
        return torch.randn(like.shape, dtype=like.dtype, generator=self.generator).to(like.device)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), self.argument: self.value, "seed": self.seed}


class GaussianNoise(NoiseLayer):
    """Adds zero-mean normal noise of standard deviation `stddev` while training. Any shape.

    >>> GaussianNoise(0.1)
    """

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(stddev, seed, **kwargs)
        self.stddev = self.value

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.training or self.stddev == 0:
            return inputs
        return inputs + self.stddev * self.normal(inputs)


class GaussianDropout(NoiseLayer):
    """Multiplies inputs by normal noise of mean 1 and standard deviation
    sqrt(rate / (1 - rate)) while training. Any shape.

    >>> GaussianDropout(0.2)
    """

    argument = "rate"
    upper_open = True  # rate 1 means infinite noise (Keras divides by 1 - rate)

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed, **kwargs)
        self.rate = self.value

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return inputs
        return inputs * (1.0 + math.sqrt(self.rate / (1.0 - self.rate)) * self.normal(inputs))
