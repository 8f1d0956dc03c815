"""Reshape, ZeroPadding1D/2D/3D, Cropping1D/2D/3D and UpSampling1D/2D/3D: layers that move
values without weights. Inputs and outputs are channels-last, (batch, steps, channels), (batch,
height, width, channels) and (batch, depth, height, width, channels), unless
`data_format="channels_first"` where Keras offers it.

Output size along a spatial axis of n values:
    ZeroPadding: n + before + after     Cropping: n - before - after     UpSampling: n * size
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from convscope.layers.base import Layer
from convscope.layers.conv_utils import normalize_data_format, normalize_tuple
from convscope.layers.input_spec import Shape

Pairs = tuple[tuple[int, int], ...]


class Reshape(Layer):
    """(batch, *dims) -> (batch, *target_shape), in channels-last (row-major) order; one entry
    of `target_shape` may be -1 and is then inferred.

    >>> Reshape((28, 28, 1))  # (batch, 784) -> (batch, 28, 28, 1)
    """

    def __init__(self, target_shape: tuple[int, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "Reshape" if self.auto_named else self.label
        try:
            target: tuple[Any, ...] = tuple(target_shape)
        except TypeError:  # a bare size, e.g. Reshape(784)
            target = (target_shape,)
        if (not target or not all(isinstance(s, int) and not isinstance(s, bool) and (s > 0 or s == -1) for s in target)
                or target.count(-1) > 1):
            raise ValueError(f"{owner}: target_shape must be a tuple of positive ints (no batch axis), with at "
                             f"most one -1 to infer; got {target_shape!r}.")
        self.target_shape = target

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        sizes = input_shape[1:]
        known = math.prod(s for s in self.target_shape if s != -1)
        if None in sizes:
            return (input_shape[0], *(None if s == -1 else s for s in self.target_shape))
        total = math.prod(sizes)  # type: ignore[arg-type]
        if (-1 in self.target_shape and total % known) or (-1 not in self.target_shape and total != known):
            raise ValueError(f"{self.label}: cannot reshape input {tuple(input_shape)} ({total} values per "
                             f"sample) to target_shape {self.target_shape} ({known} values).")
        return (input_shape[0], *(total // known if s == -1 else s for s in self.target_shape))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        self.compute_output_shape(tuple(inputs.shape))  # sizes unknown when built are checked now
        return inputs.reshape(inputs.shape[0], *self.target_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}


def _pair(value: Any, argument: str, owner: str) -> tuple[int, int]:
    before, after = normalize_tuple(value, 2, argument, owner, allow_zero=True)
    return before, after


def _pairs(value: Any, rank: int, argument: str, owner: str) -> Pairs:
    """(before, after) per spatial axis from Keras's forms: an int (every side), `rank` ints
    (symmetric per axis), or `rank` pairs; for rank 1 also one pair (before, after)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(_pair(value, argument, owner) for _ in range(rank))
    items = list(value) if isinstance(value, (tuple, list)) else None
    if rank == 1 and items is not None and len(items) == 2 and all(isinstance(v, int) for v in items):
        return (_pair(tuple(items), argument, owner),)
    if items is None or len(items) != rank:
        raise ValueError(f"{owner}: {argument} must be an int, {rank} ints or {rank} (before, after) pairs of "
                         f"non-negative ints; got {value!r}.")
    return tuple(_pair(item, argument, owner) for item in items)


class Spatial(Layer):
    """Base of the 1-D, 2-D and 3-D spatial layers: which axes are spatial for `data_format`."""

    rank = 2
    data_format = "channels_last"

    def spatial_axes(self) -> tuple[int, ...]:
        first = 2 if self.data_format == "channels_first" else 1
        return tuple(range(first, first + self.rank))

    @property
    def owner(self) -> str:
        return type(self).__name__ if self.auto_named else self.label


class ZeroPadding(Spatial):
    """Adds zeros before and after each spatial axis."""

    def __init__(self, padding: Any = 1, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.padding: Pairs = _pairs(padding, self.rank, "padding", self.owner)
        self.data_format = normalize_data_format(data_format, self.owner)
        self.input_rank = self.rank + 2

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = list(input_shape)
        for axis, (before, after) in zip(self.spatial_axes(), self.padding):
            size = shape[axis]
            shape[axis] = None if size is None else size + before + after
        return tuple(shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        sides = [0, 0] * (inputs.dim() - 1 - self.spatial_axes()[-1])  # F.pad lists the last axis first
        for before, after in reversed(self.padding):
            sides += [before, after]
        return F.pad(inputs, sides)

    def get_config(self) -> dict[str, Any]:
        padding = list(self.padding[0]) if self.rank == 1 else [list(pair) for pair in self.padding]
        return {**super().get_config(), "padding": padding, "data_format": self.data_format}


class ZeroPadding1D(ZeroPadding):
    """Zeros at the start and end of the steps: (batch, steps, channels) ->
    (batch, steps + before + after, channels). `padding`: an int or (before, after).

    >>> ZeroPadding1D(2)
    """

    rank = 1


class ZeroPadding2D(ZeroPadding):
    """Zeros around images: (batch, h, w, c) -> (batch, h + top + bottom, w + left + right, c).
    `padding`: an int, (symmetric_height, symmetric_width) or ((top, bottom), (left, right)).

    >>> ZeroPadding2D(((1, 0), (1, 0)))
    """

    rank = 2


class ZeroPadding3D(ZeroPadding):
    """Zeros around volumes: (batch, d, h, w, c) -> (batch, d + front + back, h + top + bottom,
    w + left + right, c). `padding`: an int, 3 ints (symmetric per axis) or 3 (before, after) pairs.

    >>> ZeroPadding3D(((1, 1), (2, 2), (0, 1)))
    """

    rank = 3

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(padding, data_format, **kwargs)


class Cropping(Spatial):
    """Removes values before and after each spatial axis."""

    def __init__(self, cropping: Any, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cropping: Pairs = _pairs(cropping, self.rank, "cropping", self.owner)
        self.data_format = normalize_data_format(data_format, self.owner)
        self.input_rank = self.rank + 2

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = list(input_shape)
        for axis, (before, after) in zip(self.spatial_axes(), self.cropping):
            size = shape[axis]
            if size is not None and before + after >= size:
                raise ValueError(f"{self.label}: cropping {before} + {after} removes every value of an axis of "
                                 f"size {size} (input shape {tuple(input_shape)}); crop less.")
            shape[axis] = None if size is None else size - before - after
        return tuple(shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        index: list[slice] = [slice(None)] * inputs.dim()
        for axis, (before, after) in zip(self.spatial_axes(), self.cropping):
            index[axis] = slice(before, inputs.shape[axis] - after)
        return inputs[tuple(index)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": [list(pair) for pair in self.cropping],
                "data_format": self.data_format}


class Cropping1D(Cropping):
    """Removes steps at the start and end: (batch, steps, channels) -> (batch, steps - before
    - after, channels). `cropping`: an int or (before, after).

    >>> Cropping1D((2, 1))
    """

    rank = 1

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(cropping, **kwargs)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["data_format"]  # Keras's Cropping1D is channels-last only
        return {**config, "cropping": list(self.cropping[0])}


class Cropping2D(Cropping):
    """Removes rows and columns at the borders: (batch, h, w, c) -> (batch, h - top - bottom,
    w - left - right, c). `cropping`: an int, (symmetric_height, symmetric_width) or
    ((top, bottom), (left, right)).

    >>> Cropping2D(((2, 2), (4, 4)))
    """

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(Cropping):
    """Removes slices at the borders of volumes: (batch, d, h, w, c) -> (batch, d - front -
    back, h - top - bottom, w - left - right, c). `cropping`: an int, 3 ints (symmetric per axis)
    or 3 (before, after) pairs.

    >>> Cropping3D(((1, 1), (2, 2), (2, 2)))
    """

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(cropping, data_format, **kwargs)


class UpSampling1D(Spatial):
    """Repeats each step `size` times: (batch, steps, channels) -> (batch, steps * size, channels).

    >>> UpSampling1D(2)
    """

    rank, input_rank = 1, 3

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 1, "size", self.owner)[0]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps * self.size, input_shape[2])

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.repeat_interleave(self.size, dim=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


class UpSampling(Spatial):
    """Base of UpSampling2D and UpSampling3D: each spatial axis grows by its factor in `size`."""

    def __init__(self, size: int | tuple[int, ...], data_format: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, self.rank, "size", self.owner)
        self.data_format = normalize_data_format(data_format, self.owner)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        shape = list(input_shape)
        for axis, factor in zip(self.spatial_axes(), self.size):
            size = shape[axis]
            shape[axis] = None if size is None else size * factor
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format}


class UpSampling2D(UpSampling):
    """Enlarges images by `size` = (rows, columns): (batch, h, w, c) -> (batch, h * rows,
    w * columns, c), repeating pixels ("nearest") or interpolating them ("bilinear", with
    half-pixel centres as Keras and TensorFlow do).

    >>> UpSampling2D((2, 2), interpolation="bilinear")
    """

    rank, input_rank = 2, 4
    INTERPOLATIONS = ("nearest", "bilinear")

    def __init__(self, size: int | tuple[int, int] = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        super().__init__(size, data_format, **kwargs)
        if interpolation not in self.INTERPOLATIONS:
            raise ValueError(f"{self.owner}: interpolation must be one of {', '.join(self.INTERPOLATIONS)}; "
                             f"got {interpolation!r}.")
        self.interpolation = interpolation

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if self.data_format == "channels_first" else inputs.movedim(-1, 1)
        if self.interpolation == "nearest":
            x = x.repeat_interleave(self.size[0], dim=2).repeat_interleave(self.size[1], dim=3)
        else:
            x = F.interpolate(x, scale_factor=self.size, mode="bilinear", align_corners=False)
        return x if self.data_format == "channels_first" else x.movedim(1, -1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(UpSampling):
    """Enlarges volumes by repeating voxels `size` = (depth, rows, columns) times: (batch, d, h,
    w, c) -> (batch, d * size[0], h * size[1], w * size[2], c) ("nearest", Keras's only mode).

    >>> UpSampling3D((1, 2, 2))  # frames of a clip twice as large, as many frames
    """

    rank, input_rank = 3, 5

    def __init__(self, size: int | tuple[int, int, int] = (2, 2, 2), data_format: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(size, data_format, **kwargs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = inputs
        for axis, factor in zip(self.spatial_axes(), self.size):
            outputs = outputs.repeat_interleave(factor, dim=axis)
        return outputs
