"""Max and average pooling (1-D, 2-D and 3-D), and their global forms.

Window pooling output size per spatial axis (n input, p pool size, s stride):
    valid: floor((n - p) / s) + 1        same: ceil(n / s)
With 'same', padded cells never win a max and are not counted in an average (Keras's rule).
2-D max pooling runs through `convscope.ops.max_pool2d`, which picks its fastest path.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from convscope.layers.base import Layer
from convscope.layers.conv import to_channels_first, to_channels_last
from convscope.layers.conv_utils import (
    conv_output_length,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
    same_padding,
)
from convscope.layers.input_spec import Shape
from convscope.ops import max_pool2d


class Pooling(Layer):
    """Sliding-window pooling; leaves fix the rank and the reduction."""

    rank = 2
    reduction = "max"

    def __init__(self, pool_size: int | tuple[int, ...] = 2, strides: int | tuple[int, ...] | None = None,
                 padding: str = "valid", data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size", owner)
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides", owner)
        self.padding = normalize_padding(padding, owner)
        self.data_format = normalize_data_format(data_format, owner)
        self.input_rank = self.rank + 2

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        first = self.data_format == "channels_first"
        spatial = input_shape[2:] if first else input_shape[1:-1]
        out = tuple(conv_output_length(n, p, self.padding, s) for n, p, s in zip(spatial, self.pool_size, self.strides))
        if any(length is not None and length <= 0 for length in out):
            raise ValueError(
                f"{self.label}: pool_size {'x'.join(map(str, self.pool_size))} is larger than its "
                f"{'x'.join(map(str, spatial))} input with padding='valid'. Use padding='same', a "
                "smaller pool_size, or fewer pooling layers before it."
            )
        if first:
            return (input_shape[0], input_shape[1], *out)
        return (input_shape[0], *out, input_shape[-1])

    def call(self, inputs: torch.Tensor, relu: bool = False) -> torch.Tensor:
        """Pool `inputs`, then apply relu with `relu` (in the same pass where ops can)."""
        first = self.data_format == "channels_first"
        if self.reduction == "max" and self.rank == 2:
            x = to_channels_last(inputs) if first else inputs
            outputs = max_pool2d(x, self.pool_size, self.strides, self.padding, relu=relu)
            return to_channels_first(outputs) if first else outputs
        outputs = self.pool(inputs if first else to_channels_first(inputs))
        outputs = outputs if first else to_channels_last(outputs)
        return torch.relu(outputs) if relu else outputs

    def fuses_relu(self) -> bool:
        """Whether relu then this pooling equals this pooling then relu, so a model may pool a
        relu layer's input first (`forward_relu`): true of max pooling, as max commutes with relu."""
        return self.reduction == "max"

    def forward_relu(self, inputs: torch.Tensor) -> torch.Tensor:
        """relu(self(inputs)), with the relu applied in the pooling's own pass where ops can."""
        self.check_input(inputs)
        return self.call(inputs, relu=True)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Pool a channels-first tensor."""
        pads = [(0, 0)] * self.rank
        if self.padding == "same":
            pads = [same_padding(n, p, s) for n, p, s in zip(x.shape[2:], self.pool_size, self.strides)]
        flat_pads = [side for pair in reversed(pads) for side in pair]
        padded = any(flat_pads)
        if self.reduction == "max":
            max_pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[self.rank - 1]
            if padded:
                x = F.pad(x, flat_pads, value=float("-inf"))
            return max_pool(x, self.pool_size, self.strides)
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[self.rank - 1]
        if not padded:
            return pool(x, self.pool_size, self.strides)
        # Average only the real cells: pool the zero-padded sums and divide by the real counts.
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        sums = pool(F.pad(x, flat_pads), self.pool_size, self.strides)
        counts = pool(F.pad(ones, flat_pads), self.pool_size, self.strides)
        return sums / counts

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, pool_size={self.pool_size}, strides={self.strides}, padding={self.padding!r}"


class MaxPooling1D(Pooling):
    """Max over windows of `pool_size` steps: (batch, steps, channels) -> (batch, new_steps, channels)."""

    rank, reduction = 1, "max"


class MaxPooling2D(Pooling):
    """Max over pool_size windows: a 26x26 map with 2x2 pooling becomes 13x13."""

    rank, reduction = 2, "max"


class MaxPooling3D(Pooling):
    """Max over pool_size windows of volumes: (batch, d, h, w, channels) -> (batch, new_d, new_h,
    new_w, channels); 16x32x32 with 2x2x2 pooling becomes 8x16x16.

    >>> MaxPooling3D((1, 2, 2))  # pool each frame of a clip, not across frames
    """

    rank, reduction = 3, "max"


class AveragePooling1D(Pooling):
    """Mean over windows of `pool_size` steps."""

    rank, reduction = 1, "average"


class AveragePooling2D(Pooling):
    """Mean over pool_size windows of each feature map."""

    rank, reduction = 2, "average"


class AveragePooling3D(Pooling):
    """Mean over pool_size windows of volumes: (batch, d, h, w, channels) -> (batch, new_d, new_h,
    new_w, channels).

    >>> AveragePooling3D(2, padding="same")
    """

    rank, reduction = 3, "average"


class GlobalPooling(Layer):
    """Reduce every spatial axis: (batch, *spatial, channels) -> (batch, channels)."""

    rank = 2
    reduction = "max"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.data_format = normalize_data_format(data_format, owner)
        self.keepdims = bool(keepdims)
        self.input_rank = self.rank + 2

    def spatial_axes(self) -> list[int]:
        first = 2 if self.data_format == "channels_first" else 1
        return list(range(first, first + self.rank))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        axes = self.spatial_axes()
        if self.keepdims:
            return tuple(1 if i in axes else size for i, size in enumerate(input_shape))
        return tuple(size for i, size in enumerate(input_shape) if i not in axes)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        axes = self.spatial_axes()
        if self.reduction == "max":
            return inputs.amax(dim=axes, keepdim=self.keepdims)
        return inputs.mean(dim=axes, keepdim=self.keepdims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(GlobalPooling):
    rank, reduction = 1, "max"


class GlobalMaxPooling2D(GlobalPooling):
    rank, reduction = 2, "max"


class GlobalAveragePooling1D(GlobalPooling):
    """Mean over the steps: (batch, steps, channels) -> (batch, channels); with a mask on the
    input (Embedding(mask_zero=True), Masking), the mean over the real steps alone, as Keras's."""

    rank, reduction = 1, "average"
    supports_masking = True

    def compute_mask(self, inputs: Any, mask: Any) -> None:
        return None

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return super().call(inputs)
        steps_axis = self.spatial_axes()[0]
        real = mask.bool().unsqueeze(2 if steps_axis == 1 else 1)  # (N, T, 1) or (N, 1, T)
        kept = torch.where(real, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))
        return kept.sum(steps_axis, keepdim=self.keepdims) / real.to(inputs.dtype).sum(steps_axis, keepdim=self.keepdims)


class GlobalAveragePooling2D(GlobalPooling):
    rank, reduction = 2, "average"


class GlobalMaxPooling3D(GlobalPooling):
    """Max over depth, height and width: (batch, d, h, w, channels) -> (batch, channels)."""

    rank, reduction = 3, "max"


class GlobalAveragePooling3D(GlobalPooling):
    """Mean over depth, height and width: (batch, d, h, w, channels) -> (batch, channels)."""

    rank, reduction = 3, "average"
