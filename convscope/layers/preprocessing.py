"""Rescaling and Resizing: the preprocessing layers an image model starts with, so the model
takes raw pixels (0-255, any size) the way Keras tutorials feed them.

Resizing follows TensorFlow's `tf.image.resize`: half-pixel centres, bilinear or nearest.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from convscope.layers.base import Layer
from convscope.layers.conv_utils import normalize_data_format
from convscope.layers.input_spec import Shape


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


class Rescaling(Layer):
    """x * scale + offset, e.g. Rescaling(1/255) maps pixels 0-255 to [0, 1] and
    Rescaling(1/127.5, offset=-1) to [-1, 1]. `scale` and `offset` may also be one number per
    channel (the last axis). Any shape in, the same shape out.

    >>> Rescaling(1.0 / 255)
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, scale: float | list[float], offset: float | list[float] = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "Rescaling" if self.auto_named else self.label
        for argument, value in (("scale", scale), ("offset", offset)):
            values = list(value) if isinstance(value, (list, tuple)) else [value]
            if not values or not all(_finite(v) for v in values):
                raise ValueError(f"{owner}: {argument} must be a finite number or a list of them (one per "
                                 f"channel); got {value!r}.")
        self.scale = [float(v) for v in scale] if isinstance(scale, (list, tuple)) else float(scale)
        self.offset = [float(v) for v in offset] if isinstance(offset, (list, tuple)) else float(offset)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        channels = input_shape[-1]
        for argument, value in (("scale", self.scale), ("offset", self.offset)):
            if isinstance(value, list) and len(value) != 1 and channels is not None and len(value) != channels:
                raise ValueError(f"{self.label}: {argument} has {len(value)} values, one per channel, but the channel "
                                 f"axis of input {tuple(input_shape)} has size {channels}. Give one value, or one "
                                 "per channel.")
        return tuple(input_shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if isinstance(self.scale, list) or isinstance(self.offset, list):
            self.compute_output_shape(tuple(inputs.shape))  # channels unknown when built are checked now
        dtype = inputs.dtype if inputs.is_floating_point() else torch.float32
        scale = torch.as_tensor(self.scale, dtype=dtype, device=inputs.device)
        offset = torch.as_tensor(self.offset, dtype=dtype, device=inputs.device)
        return inputs.to(dtype) * scale + offset

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}


class Resizing(Layer):
    """Resizes images to (height, width): (batch, h, w, c) -> (batch, height, width, c).

    `crop_to_aspect_ratio=True` first crops the centre to the target's aspect ratio (no
    distortion); `pad_to_aspect_ratio=True` pads it with `fill_value` instead. `antialias`
    applies to bilinear downsizing.

    >>> Resizing(32, 32)
    """

    input_rank = 4
    INTERPOLATIONS = {"bilinear": "bilinear", "nearest": "nearest-exact"}  # TF's rule -> torch's mode

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "Resizing" if self.auto_named else self.label
        for argument, value in (("height", height), ("width", width)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{owner}: {argument} must be a positive integer; got {value!r}.")
        if not isinstance(interpolation, str) or interpolation not in self.INTERPOLATIONS:
            raise ValueError(f"{owner}: interpolation must be one of {', '.join(self.INTERPOLATIONS)}; "
                             f"got {interpolation!r}.")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError(f"{owner}: only one of crop_to_aspect_ratio and pad_to_aspect_ratio can be True.")
        if fill_mode != "constant":
            raise ValueError(f"{owner}: fill_mode must be 'constant' (the only one Keras offers); got {fill_mode!r}.")
        if not _finite(fill_value):
            raise ValueError(f"{owner}: fill_value must be a finite number; got {fill_value!r}.")
        self.data_format = normalize_data_format(data_format, owner)
        self.height, self.width, self.interpolation = height, width, interpolation
        self.crop_to_aspect_ratio, self.pad_to_aspect_ratio = bool(crop_to_aspect_ratio), bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value, self.antialias = fill_mode, float(fill_value), bool(antialias)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.data_format == "channels_first":
            return (input_shape[0], input_shape[1], self.height, self.width)
        return (input_shape[0], self.height, self.width, input_shape[3])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if self.data_format == "channels_first" else inputs.movedim(-1, 1)  # (N, C, H, W)
        if not x.is_floating_point():
            x = x.float()
        if self.crop_to_aspect_ratio:
            x = self.crop(x)
        elif self.pad_to_aspect_ratio:
            x = self.pad(x)
        antialias = self.antialias and self.interpolation == "bilinear"
        x = F.interpolate(x, size=(self.height, self.width), mode=self.INTERPOLATIONS[self.interpolation],
                          antialias=antialias, **({"align_corners": False} if self.interpolation == "bilinear" else {}))
        return x if self.data_format == "channels_first" else x.movedim(1, -1)

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        """The centre of (N, C, H, W) images with the target's aspect ratio (TensorFlow's rounding)."""
        height, width = x.shape[2], x.shape[3]
        crop_height = max(min(height, int(width * self.height / self.width)), 1)
        crop_width = max(min(width, int(height * self.width / self.height)), 1)
        top, left = (height - crop_height) // 2, (width - crop_width) // 2
        return x[:, :, top:top + crop_height, left:left + crop_width]

    def pad(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) images padded with fill_value on both sides to the target's aspect ratio."""
        height, width = x.shape[2], x.shape[3]
        rows = (max(height, int(width * self.height / self.width)) - height) // 2
        columns = (max(width, int(height * self.width / self.height)) - width) // 2
        return F.pad(x, [columns, columns, rows, rows], value=self.fill_value)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias}
