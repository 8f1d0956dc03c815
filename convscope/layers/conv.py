"""Conv1D, Conv2D and Conv3D: one base class holds the logic; the leaves only fix the rank.

Inputs and outputs are channels-last, (batch, steps, channels), (batch, height, width,
channels) and (batch, depth, height, width, channels), unless `data_format="channels_first"`.
The kernel is stored in PyTorch's layout (out, in, *kernel) and shown in Keras's layout
(*kernel, in, out) by `get_weights`.

Output size along each spatial axis (n input, k kernel, s stride, d dilation):
    valid:        floor((n - d*(k-1) - 1) / s) + 1
    same, causal: ceil(n / s)

`groups=g` splits the input channels and the filters into g groups, each group of filters
seeing only its own group of channels (as Keras and PyTorch split them: the first C_in/g
channels feed the first filters/g filters, and so on). The Keras-layout kernel is then
(*kernel_size, C_in/g, filters): g times fewer weights.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch
import torch.nn.functional as F
from torch import nn

from convscope.layers.base import KernelLayer, WeightSlot
from convscope.layers.conv_utils import check_filters, conv_output_length, conv_window, same_padding
from convscope.layers.input_spec import Shape
from convscope.ops import conv_pool_fusable


class PoolingWindow(Protocol):
    """What a convolution needs to know of the pooling layer after it (a `Pooling` layer)."""

    built: bool
    reduction: str
    data_format: str
    pool_size: tuple[int, ...]
    strides: tuple[int, ...]
    padding: str


class Conv(KernelLayer):
    """N-D convolution (cross-correlation, as Keras and PyTorch compute it)."""

    rank = 2
    # The compiled convolution + pooling kernel computes this class's convolution; a subclass
    # that computes another in `pre_activation` (a transposed convolution) is never fused, and
    # takes no `groups` (Keras's transposed convolutions have none).
    fuses_with_pooling = True
    takes_groups = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "pre_activation" in vars(cls):
            cls.fuses_with_pooling = False
            cls.takes_groups = False

    def __init__(self, filters: int, kernel_size: int | tuple[int, ...], strides: int | tuple[int, ...] = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: int | tuple[int, ...] = 1, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        groups = kwargs.pop("groups", 1) if self.takes_groups else 1  # a transposed conv refuses it as unknown
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.filters = check_filters(filters, owner)
        self.groups = check_groups(groups, filters, owner)
        allowed = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        self.kernel_size, self.strides, self.padding, self.data_format, self.dilation_rate = conv_window(
            owner, self.rank, kernel_size, strides, padding, data_format, dilation_rate, allowed)
        self.set_kernel_options(owner, activation, use_bias, kernel_initializer, bias_initializer,
                                kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint)
        self.input_rank = self.rank + 2

    # -- shapes ---------------------------------------------------------------------------
    def spatial_and_channels(self, shape: Shape) -> tuple[tuple[int | None, ...], int | None]:
        if self.data_format == "channels_first":
            return tuple(shape[2:]), shape[1]
        return tuple(shape[1:-1]), shape[-1]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial, _ = self.spatial_and_channels(input_shape)
        out = tuple(
            conv_output_length(n, k, self.padding, s, d)
            for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate)
        )
        if any(length is not None and length <= 0 for length in out):
            reach = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            raise ValueError(
                f"{self.label}: kernel {'x'.join(map(str, reach))} (dilation included) is larger than "
                f"its {'x'.join(map(str, spatial))} input with padding='{self.padding}'. Use padding='same', "
                "a smaller kernel_size, or fewer pooling/strided layers before it."
            )
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters, *out)
        return (input_shape[0], *out, self.filters)

    # -- weights --------------------------------------------------------------------------
    def build_weights(self, input_shape: Shape) -> None:
        _, channels = self.spatial_and_channels(input_shape)
        if channels is None:
            raise ValueError(f"{self.label}: the channel axis of the input must be known; got {input_shape}.")
        to_torch = (self.rank + 1, self.rank, *range(self.rank))  # Keras's last two axes lead, reversed
        self.kernel = nn.Parameter(self.kernel_initializer(self.kernel_shape(channels, input_shape))
                                   .permute(*to_torch).contiguous())
        self.bias = nn.Parameter(self.bias_initializer((self.filters,))) if self.use_bias else None

    def kernel_shape(self, channels: int, input_shape: Shape) -> tuple[int, ...]:
        """The kernel in Keras's layout, (*kernel_size, channels / groups, filters), for inputs of
        `channels` channels; a ValueError when the groups do not divide them."""
        if channels % self.groups:
            raise ValueError(f"{self.label}: the number of input channels must be evenly divisible by the number "
                             f"of groups. Received groups={self.groups}, but the input has {channels} channels "
                             f"(full input shape is {tuple(input_shape)}). Use a groups value that divides both "
                             f"{channels} and filters={self.filters}.")
        return (*self.kernel_size, channels // self.groups, self.filters)

    def keras_weights(self) -> list[tuple[str, torch.Tensor, tuple[int, ...]]]:
        if not self.built:
            return []
        to_keras = (*range(2, self.rank + 2), 1, 0)
        slots: list[WeightSlot] = [("kernel", self.kernel, to_keras)]
        if self.bias is not None:
            slots.append(("bias", self.bias, (0,)))
        return slots

    # -- maths ----------------------------------------------------------------------------
    def padding_for(self, spatial: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
        """(before, after) zero padding per spatial axis."""
        if self.padding == "valid":
            return tuple((0, 0) for _ in spatial)
        if self.padding == "causal":
            return (((self.kernel_size[0] - 1) * self.dilation_rate[0], 0),)
        return tuple(same_padding(n, k, s, d) for n, k, s, d in
                     zip(spatial, self.kernel_size, self.strides, self.dilation_rate))

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if self.data_format == "channels_first" else to_channels_first(inputs)
        pads = self.padding_for(tuple(x.shape[2:]))
        if all(before == after for before, after in pads):
            symmetric = tuple(before for before, _ in pads)
        else:  # TensorFlow puts the odd padding pixel after; PyTorch can only pad symmetrically.
            x = F.pad(x, [side for pair in reversed(pads) for side in pair])
            symmetric = (0,) * self.rank
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.rank - 1]
        outputs = conv(x, self.kernel, self.bias, self.strides, symmetric, self.dilation_rate, self.groups)
        return outputs if self.data_format == "channels_first" else to_channels_last(outputs)

    def fusable_with_pool(self, pool: PoolingWindow) -> bool:
        """Whether this convolution and the max pooling `pool` after it may run as one compiled
        kernel (`convscope.ops.conv2d_max_pool`, relu included): a built channels-last 2-D
        convolution with stride 1, no dilation, one group and few input channels or a 3x3 kernel,
        then 2x2/2 pooling (the kernels convolve every channel with every filter). Fixed once both
        are built; what depends on the data, ops decides per call."""
        return (self.fuses_with_pooling and self.built and pool.built and self.rank == 2 and self.groups == 1
                and pool.reduction == "max"
                and self.data_format == pool.data_format == "channels_last"
                and conv_pool_fusable(int(self.kernel.shape[1]), self.kernel_size, self.strides, self.dilation_rate,
                                      self.padding, pool.pool_size, pool.strides, pool.padding))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            **({"groups": self.groups} if self.takes_groups else {}),
            **self.kernel_options_config(),
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}")


def check_groups(groups: Any, filters: int, owner: str) -> int:
    """`groups` as Keras accepts it: a positive int dividing `filters`; a ValueError naming `owner`."""
    if not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0:
        raise ValueError(f"{owner}: groups must be a positive integer; got {groups!r}. It is the number of groups "
                         "the input channels and the filters are split into (1 for an ordinary convolution).")
    if filters % groups:
        raise ValueError(f"{owner}: the number of filters must be evenly divisible by the number of groups. "
                         f"Received: groups={groups}, filters={filters}.")
    return groups


def to_channels_first(x: torch.Tensor) -> torch.Tensor:
    """(N, *spatial, C) -> (N, C, *spatial) as a view: a contiguous NHWC tensor becomes a
    channels_last-strided NCHW tensor, which oneDNN convolves without copying."""
    return x.movedim(-1, 1)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.movedim(1, -1)


class Conv1D(Conv):
    """1-D convolution over (batch, steps, channels), e.g. spectra or signals.

    Output (batch, new_steps, filters). `padding` may also be "causal" (left padding only).

    >>> Conv1D(16, 5, activation="relu")
    """

    rank = 1


class Conv2D(Conv):
    """2-D convolution over (batch, height, width, channels) images.

    Output (batch, new_height, new_width, filters); 28x28 with a 3x3 kernel and 'valid'
    padding gives 26x26.

    >>> Conv2D(64, (3, 3), activation="relu", input_shape=(28, 28, 1))
    >>> Conv2D(64, 3, groups=4)  # 4 groups: kernel (3, 3, C_in / 4, 64)
    """

    rank = 2


class Conv3D(Conv):
    """3-D convolution over (batch, depth, height, width, channels) volumes: CT or MRI scans,
    video clips (frames as depth).

    Output (batch, new_depth, new_height, new_width, filters); the kernel is (kD, kH, kW, C_in /
    groups, filters) in Keras's layout. 16x32x32 with a 3x3x3 kernel and 'valid' padding gives
    14x30x30.

    >>> Conv3D(8, 3, activation="relu", input_shape=(16, 32, 32, 1))
    """

    rank = 3
