"""Affine image warps as Keras's random image layers compute them (TensorFlow's
ImageProjectiveTransformV3): each output pixel reads the input at a transformed position.

A transform is 8 numbers [a0, a1, a2, b0, b1, b2, c0, c1] per image, mapping an output pixel
(x, y) to the input position
    x_in = (a0*x + a1*y + a2) / k,   y_in = (b0*x + b1*y + b2) / k,   k = c0*x + c1*y + 1.
Positions outside the image are folded back by `fill_mode`:
    reflect  (d c b a | a b c d | d c b a)     wrap     (a b c d | a b c d | a b c d)
    nearest  (a a a a | a b c d | d d d d)     constant (k k k k | a b c d | k k k k), k = fill_value
"""

from __future__ import annotations

from collections.abc import Callable

import torch

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def fold(coordinate: torch.Tensor, size: int, fill_mode: str) -> torch.Tensor:
    """Positions along an axis of `size` pixels folded into it as TensorFlow does."""
    if fill_mode == "constant":
        return coordinate
    if size <= 1:
        return torch.zeros_like(coordinate)
    c = coordinate
    if fill_mode == "reflect":
        period = 2 * size
        low = period * torch.trunc(-c / period) + c
        low = torch.where(low < -size, low + period, -low - 1)
        high = c - period * torch.trunc(c / period)
        high = torch.where(high >= size, period - high - 1, high)
        c = torch.where(c < 0, low, torch.where(c > size - 1, high, c))
    elif fill_mode == "wrap":
        span = size - 1
        low = c + size * (torch.trunc(-c / span) + 1)
        high = c - size * torch.trunc(c / span)
        c = torch.where(c < 0, low, torch.where(c > size - 1, high, c))
    return c.clamp(0, size - 1)


def _reader(images: torch.Tensor, fill_value: float) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """read(y, x): pixels at integer positions (N, H, W) -> (N, H, W, C), fill_value outside."""
    batch, height, width, channels = images.shape
    flat = images.reshape(batch, height * width, channels)

    def read(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
        index = (y.clamp(0, height - 1) * width + x.clamp(0, width - 1)).long().reshape(batch, -1, 1)
        values = flat.gather(1, index.expand(-1, -1, channels)).reshape(*y.shape, channels)
        return torch.where(inside.unsqueeze(-1), values, torch.full_like(values, fill_value))

    return read


def affine_transform(images: torch.Tensor, transforms: torch.Tensor, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0.0) -> torch.Tensor:
    """Warp channels-last `images` (N, H, W, C) by `transforms` (N, 8); same shape out."""
    batch, height, width, _ = images.shape
    t = transforms.to(images.device, torch.float32).reshape(batch, 8, 1, 1).unbind(1)
    y, x = torch.meshgrid(torch.arange(height, dtype=torch.float32, device=images.device),
                          torch.arange(width, dtype=torch.float32, device=images.device), indexing="ij")
    projection = t[6] * x + t[7] * y + 1
    x_in = fold((t[0] * x + t[1] * y + t[2]) / projection, width, fill_mode)
    y_in = fold((t[3] * x + t[4] * y + t[5]) / projection, height, fill_mode)
    read = _reader(images.float(), fill_value)
    if interpolation == "nearest":  # std::round: halves away from zero
        return read(torch.sign(y_in) * torch.floor(y_in.abs() + 0.5),
                    torch.sign(x_in) * torch.floor(x_in.abs() + 0.5)).to(images.dtype)
    y0, x0 = torch.floor(y_in), torch.floor(x_in)
    y1, x1 = y0 + 1, x0 + 1
    wx0, wx1 = (x1 - x_in).unsqueeze(-1), (x_in - x0).unsqueeze(-1)
    top = wx0 * read(y0, x0) + wx1 * read(y0, x1)
    bottom = wx0 * read(y1, x0) + wx1 * read(y1, x1)
    outputs = (y1 - y_in).unsqueeze(-1) * top + (y_in - y0).unsqueeze(-1) * bottom
    return outputs.to(images.dtype)
