"""SpatialDropout1D, SpatialDropout2D and SpatialDropout3D: dropout of whole feature maps.

Neighbouring values in a feature map are strongly correlated, so zeroing single values (Dropout)
regularises convolutions little; these zero a whole channel of a sample at once and rescale
the rest by 1 / (1 - rate). Only in training; in inference they pass inputs through.
"""

from __future__ import annotations

from typing import Any

import torch

from convscope.layers.base import Layer
from convscope.layers.conv_utils import normalize_data_format


class SpatialDropout(Layer):
    """Zeroes each (sample, channel) map with probability `rate` during training."""

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    rank = 1

    def __init__(self, rate: float, seed: int | None = None, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ValueError(f"{owner}: rate must be in [0, 1); got {rate!r}.")
        self.rate, self.seed = float(rate), seed
        self.data_format = normalize_data_format(data_format, owner)
        self.input_rank = self.rank + 2

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return inputs
        channel_axis = 1 if self.data_format == "channels_first" else inputs.dim() - 1
        mask_shape = [1] * inputs.dim()
        mask_shape[0], mask_shape[channel_axis] = inputs.shape[0], inputs.shape[channel_axis]
        keep = torch.rand(mask_shape, device=inputs.device) >= self.rate  # (N, 1.., C) or (N, C, 1..)
        return inputs * keep.to(inputs.dtype) / (1.0 - self.rate)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "rate": self.rate, "seed": self.seed}
        del config["trainable"]  # Keras's SpatialDropout takes no `trainable`, so its files must not carry one
        return config


class SpatialDropout1D(SpatialDropout):
    """Drops whole channels of (batch, steps, channels) inputs: same shape out.

    >>> SpatialDropout1D(0.2)
    """

    rank = 1

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed, **kwargs)


class SpatialDropout2D(SpatialDropout):
    """Drops whole feature maps of (batch, height, width, channels) inputs: same shape out.

    >>> SpatialDropout2D(0.25)
    """

    rank = 2

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(SpatialDropout):
    """Drops whole feature volumes of (batch, depth, height, width, channels) inputs: same shape
    out. The arguments come in Keras's order: rate, data_format, seed.

    >>> SpatialDropout3D(0.2)
    """

    rank = 3

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, seed, data_format, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}
