"""RandomFlip, RandomRotation, RandomZoom, RandomTranslation, RandomCrop, RandomContrast and
RandomBrightness: data augmentation inside the model, as Keras tutorials put it. Each changes
images only while the model trains (`fit`, or `layer.train()`); in inference (`predict`,
`evaluate`, `layer.eval()`) it passes them through, except RandomCrop, which then takes the
centre, as CenterCrop (here too) always does.

Images are (batch, height, width, channels), or channels-first with `data_format`. With a
`seed`, a layer draws the same sequence of transformations on every run; without one it
draws from torch's global generator (`keras.utils.set_random_seed` seeds that).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from convscope.layers.affine import FILL_MODES, INTERPOLATIONS, affine_transform
from convscope.layers.base import Layer
from convscope.layers.conv_utils import normalize_data_format
from convscope.layers.input_spec import Shape


def factor_range(factor: Any, argument: str, owner: str, *, lowest: float = -1.0) -> tuple[float, float]:
    """(lower, upper) from a number f (meaning (-f, f)) or a pair, each in [lowest, 1]."""
    values = list(factor) if isinstance(factor, (list, tuple)) else [factor]
    valid = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    if not valid or len(values) not in ((2,) if isinstance(factor, (list, tuple)) else (1,)):
        raise ValueError(f"{owner}: {argument} must be a number or a pair (lower, upper); got {factor!r}.")
    lower, upper = (-abs(values[0]), abs(values[0])) if len(values) == 1 else sorted(values)
    if lower < lowest or upper > 1:
        raise ValueError(f"{owner}: {argument} must lie in [{lowest:g}, 1]; got {factor!r}.")
    return float(lower), float(upper)


class RandomImageLayer(Layer):
    """Base: the training switch, the seeded generator and the image axes."""

    input_rank = 4

    def __init__(self, seed: int | None = None, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ValueError(f"{self.owner}: seed must be an integer or None; got {seed!r}.")
        self.seed = seed
        self.data_format = normalize_data_format(data_format, self.owner)
        self.generator: torch.Generator | None = None

    @property
    def owner(self) -> str:
        return type(self).__name__ if self.auto_named else self.label

    def uniform(self, count: int, lower: float, upper: float, device: torch.device) -> torch.Tensor:
        """`count` draws from U[lower, upper), from the layer's seeded generator when it has a seed."""
        if self.seed is not None and self.generator is None:
            self.generator = torch.Generator().manual_seed(self.seed)
        draws = torch.rand(count, generator=self.generator) if self.seed is not None else torch.rand(count)
        return (lower + (upper - lower) * draws).to(device)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return inputs
        images = inputs.movedim(1, -1) if self.data_format == "channels_first" else inputs
        outputs = self.augment(images)
        return outputs.movedim(-1, 1) if self.data_format == "channels_first" else outputs

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """Transform a training batch of channels-last images."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "seed": self.seed}


class RandomFlip(RandomImageLayer):
    """Flips each image with probability 1/2: left-right ("horizontal"), upside down
    ("vertical"), or both at once ("horizontal_and_vertical", Keras's default).

    >>> RandomFlip("horizontal", seed=0)
    """

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(seed, data_format, **kwargs)
        if mode not in self.MODES:
            raise ValueError(f"{self.owner}: mode must be one of {', '.join(self.MODES)}; got {mode!r}.")
        self.mode = mode

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        flip = (self.uniform(len(images), 0.0, 1.0, images.device) <= 0.5).reshape(-1, 1, 1, 1)
        axes = {"horizontal": [2], "vertical": [1], "horizontal_and_vertical": [1, 2]}[self.mode]
        return torch.where(flip, images.flip(axes), images)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


class AffineImageLayer(RandomImageLayer):
    """Base of the layers that warp images: fill mode, interpolation and fill value."""

    def __init__(self, fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(seed, data_format, **kwargs)
        if fill_mode not in FILL_MODES:
            raise ValueError(f"{self.owner}: fill_mode must be one of {', '.join(FILL_MODES)}; got {fill_mode!r}.")
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f"{self.owner}: interpolation must be one of {', '.join(INTERPOLATIONS)}; "
                             f"got {interpolation!r}.")
        if not isinstance(fill_value, (int, float)) or isinstance(fill_value, bool):
            raise ValueError(f"{self.owner}: fill_value must be a number; got {fill_value!r}.")
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, float(fill_value)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        transforms = self.transforms(len(images), images.shape[1], images.shape[2], images.device)
        return affine_transform(images, transforms, self.interpolation, self.fill_mode, self.fill_value)

    def transforms(self, count: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        """(count, 8) transforms from output pixels to input positions (see layers.affine)."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation}


def _rows(*columns: torch.Tensor) -> torch.Tensor:
    return torch.stack(columns, dim=1)


class RandomRotation(AffineImageLayer):
    """Rotates each image about its centre by an angle drawn from `factor` (fractions of a full
    turn: 0.1 means up to +-36 degrees; (lower, upper) for an asymmetric range).

    >>> RandomRotation(0.1, fill_mode="constant")
    """

    def __init__(self, factor: float | tuple[float, float], fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor_range(factor, "factor", self.owner)

    def transforms(self, count: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        angle = self.uniform(count, self.factor[0] * 360.0, self.factor[1] * 360.0, device) * (math.pi / 180.0)
        cos, sin = torch.cos(angle), torch.sin(angle)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        zeros = torch.zeros_like(angle)
        return _rows(cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, zeros, zeros)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": list(self.factor)}


class RandomZoom(AffineImageLayer):
    """Zooms each image by a factor drawn from `height_factor` (and `width_factor`, or the same
    zoom for both when None): negative values zoom in (-0.3: up to 30% larger), positive values
    zoom out.

    >>> RandomZoom(0.2, fill_mode="constant")
    """

    def __init__(self, height_factor: float | tuple[float, float], width_factor: Any = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_range = factor_range(height_factor, "height_factor", self.owner, lowest=-1.0 + 1e-7)
        self.width_range = None if width_factor is None else \
            factor_range(width_factor, "width_factor", self.owner, lowest=-1.0 + 1e-7)

    def transforms(self, count: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        zoom_y = self.uniform(count, 1.0 + self.height_range[0], 1.0 + self.height_range[1], device)
        zoom_x = zoom_y if self.width_range is None else \
            self.uniform(count, 1.0 + self.width_range[0], 1.0 + self.width_range[1], device)
        zeros = torch.zeros_like(zoom_x)
        return _rows(zoom_x, zeros, (width - 1) / 2.0 * (1.0 - zoom_x),
                     zeros, zoom_y, (height - 1) / 2.0 * (1.0 - zoom_y), zeros, zeros)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": _plain(self.height_factor),
                "width_factor": _plain(self.width_factor)}


class RandomTranslation(AffineImageLayer):
    """Shifts each image by fractions of its size drawn from `height_factor` (down when
    positive) and `width_factor` (right when positive).

    >>> RandomTranslation(0.1, 0.1)
    """

    def __init__(self, height_factor: float | tuple[float, float], width_factor: float | tuple[float, float],
                 fill_mode: str = "reflect", interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self.height_range = factor_range(height_factor, "height_factor", self.owner)
        self.width_range = factor_range(width_factor, "width_factor", self.owner)

    def transforms(self, count: int, height: int, width: int, device: torch.device) -> torch.Tensor:
        shift_y = self.uniform(count, *self.height_range, device) * height
        shift_x = self.uniform(count, *self.width_range, device) * width
        ones, zeros = torch.ones_like(shift_x), torch.zeros_like(shift_x)
        return _rows(ones, zeros, -shift_x, zeros, ones, -shift_y, zeros, zeros)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": _plain(self.height_factor),
                "width_factor": _plain(self.width_factor)}


def _plain(factor: Any) -> Any:
    """A factor as JSON keeps it: a pair becomes a list."""
    return list(factor) if isinstance(factor, tuple) else factor


# -- crops and colour: CenterCrop (always), RandomCrop, RandomContrast, RandomBrightness ----------

def _size(value: Any, argument: str, owner: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {argument} must be a positive integer; got {value!r}.")
    return value


def keras_factor(factor: Any, argument: str, owner: str, bounds: tuple[float, float]) -> tuple[float, float]:
    """Keras 3's factor rule for colour layers: a number f in `bounds` means
    (max(-|f|, bounds[0]), |f|); a pair is sorted, its lower end at most bounds[1] and its upper
    end at least bounds[0]."""
    values = list(factor) if isinstance(factor, (list, tuple)) else [factor]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values)
    if numbers and isinstance(factor, (list, tuple)) and len(values) == 2:
        lower, upper = sorted(values)
        if values[0] <= bounds[1] and values[1] >= bounds[0]:
            return float(lower), float(upper)
    elif numbers and len(values) == 1 and bounds[0] <= values[0] <= bounds[1]:
        return float(max(-abs(values[0]), bounds[0])), float(abs(values[0]))
    raise ValueError(f"{owner}: {argument} must be a number or a pair of numbers in [{bounds[0]:g}, {bounds[1]:g}]; "
                     f"got {factor!r}.")


def value_range_of(value_range: Any, owner: str) -> list[float]:
    values = list(value_range) if isinstance(value_range, (list, tuple)) else []
    if len(values) != 2 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{owner}: value_range must be a pair (lowest, highest) of pixel values, e.g. (0, 255) or "
                         f"(0, 1); got {value_range!r}.")
    return values


def center_resize(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Keras's smart_resize of channels-last images: the largest centred crop with the target's
    aspect ratio, resized (bilinear, half-pixel centres) to (height, width)."""
    in_height, in_width = images.shape[1], images.shape[2]
    crop_height = max(min(in_height, int(float(in_width * height) / width)), 1)
    crop_width = max(min(in_width, int(float(in_height * width) / height)), 1)
    top, left = int(float(in_height - crop_height) / 2), int(float(in_width - crop_width) / 2)
    cropped = images[:, top:top + crop_height, left:left + crop_width, :]
    return resize(cropped, height, width)


def resize(images: torch.Tensor, height: int, width: int) -> torch.Tensor:
    if tuple(images.shape[1:3]) == (height, width):
        return images
    x = images.movedim(-1, 1)
    x = x if x.is_floating_point() else x.float()
    return F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False).movedim(1, -1)


class CropLayer(RandomImageLayer):
    """Base of CenterCrop and RandomCrop: the target size and its output shape."""

    def __init__(self, height: int, width: int, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(seed, data_format, **kwargs)
        self.height, self.width = _size(height, "height", self.owner), _size(width, "width", self.owner)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if self.data_format == "channels_first":
            return (input_shape[0], input_shape[1], self.height, self.width)
        return (input_shape[0], self.height, self.width, input_shape[3])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        images = inputs.movedim(1, -1) if self.data_format == "channels_first" else inputs
        outputs = self.augment(images) if self.training else self.center(images)
        return outputs.movedim(-1, 1) if self.data_format == "channels_first" else outputs

    def center(self, images: torch.Tensor) -> torch.Tensor:
        """The centre (height, width) window, or Keras's smart resize when the image is smaller."""
        images = images if images.is_floating_point() else images.float()
        top, left = images.shape[1] - self.height, images.shape[2] - self.width
        if top >= 0 and left >= 0:
            return images[:, top // 2:top // 2 + self.height, left // 2:left // 2 + self.width, :]
        return center_resize(images, self.height, self.width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}


class CenterCrop(CropLayer):
    """Crops the centre (height, width) of each image, in training and inference alike; an
    image smaller than that is centre-cropped to the target's aspect ratio and resized, as
    Keras does. (batch, h, w, c) -> (batch, height, width, c).

    >>> CenterCrop(24, 24)
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(height, width, None, data_format, **kwargs)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        return self.center(images)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["seed"]
        return config


class RandomCrop(CropLayer):
    """In training, crops one random (height, width) window, the same for the whole batch (as
    Keras draws it); in inference, the centre window (Keras's documented behaviour: the
    largest centred crop of the target's aspect ratio, resized when the image is smaller).
    (batch, h, w, c) -> (batch, height, width, c).

    >>> RandomCrop(24, 24, seed=0)
    """

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        images = images if images.is_floating_point() else images.float()
        in_height, in_width = images.shape[1], images.shape[2]
        if in_height > self.height and in_width > self.width:
            top = int(self.uniform(1, 0.0, float(in_height - self.height + 1), images.device).item())
            left = int(self.uniform(1, 0.0, float(in_width - self.width + 1), images.device).item())
        else:  # Keras's training rule for a small image: the aspect crop's corner, then a resize
            crop_height = max(min(in_height, int(float(in_width * self.height) / self.width)), 1)
            crop_width = max(min(in_width, int(float(in_height * self.width) / self.height)), 1)
            top, left = int(float(in_height - crop_height) / 2), int(float(in_width - crop_width) / 2)
        window = images[:, top:top + self.height, left:left + self.width, :]
        return resize(window, self.height, self.width)


class ColorLayer(RandomImageLayer):
    """Base of RandomContrast and RandomBrightness: factor, value range, one draw per image."""

    bounds = (-1.0, 1.0)

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(seed, kwargs.pop("data_format", None), **kwargs)
        self.factor = keras_factor(factor, "factor", self.owner, self.bounds)
        self.value_range = value_range_of(value_range, self.owner)

    def draws(self, images: torch.Tensor, lower: float, upper: float) -> torch.Tensor:
        """One draw from U[lower, upper) per image, shaped (batch, 1, 1, 1)."""
        return self.uniform(len(images), lower, upper, images.device).to(images.dtype).reshape(-1, 1, 1, 1)

    def clip(self, images: torch.Tensor) -> torch.Tensor:
        return images.clamp(min(self.value_range), max(self.value_range))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": list(self.factor), "value_range": list(self.value_range)}


class RandomContrast(ColorLayer):
    """In training, scales each image's deviation from its per-channel mean by a factor drawn
    from [1 - lower, 1 + upper], then clips to `value_range`. Keras 3's factor rule: a number f
    in [0, 1] means (0, f), so factors from 1 to 1 + f; a pair, sorted to (lower, upper), gives [1 - lower, 1 + upper].

    >>> RandomContrast(0.2)
    """

    bounds = (0.0, 1.0)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        images = images if images.is_floating_point() else images.float()
        contrast = self.draws(images, 1.0 - self.factor[0], 1.0 + self.factor[1])
        mean = images.mean(dim=(1, 2), keepdim=True)
        return self.clip((images - mean) * contrast + mean)


class RandomBrightness(ColorLayer):
    """In training, adds to each image a delta drawn from factor * (highest - lowest) of
    `value_range` (factor f means (-f, f)), then clips to `value_range`.

    >>> RandomBrightness(0.2, value_range=(0, 1))
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(factor, value_range, seed, **kwargs)
        self.value_range = sorted(self.value_range)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        images = images if images.is_floating_point() else images.float()
        delta = self.draws(images, *self.factor) * (self.value_range[1] - self.value_range[0])
        return self.clip(images + delta)
