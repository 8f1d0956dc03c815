"""DepthwiseConv1D/2D and SeparableConv1D/2D: convolutions that filter each channel on its own
(depthwise), then, for the separable ones, mix channels with a 1x1 convolution (pointwise).

Keras's layouts: depthwise kernel (*kernel_size, in, depth_multiplier), pointwise kernel
(*1s, in * depth_multiplier, filters). Output channel c * depth_multiplier + m of the depthwise
step filters input channel c. Output size along a spatial axis (n input, k kernel, s stride,
d dilation):
    valid: floor((n - d*(k-1) - 1) / s) + 1;  same: ceil(n / s)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from convscope import constraints, initializers, regularizers
from convscope.layers.base import KernelLayer, WeightSlot
from convscope.layers.conv_utils import check_filters, conv_output_length, conv_window, same_padding
from convscope.layers.input_spec import Shape

CONV = {1: F.conv1d, 2: F.conv2d}


class DepthwiseConv(KernelLayer):
    """Depthwise convolution of any rank: `depth_multiplier` filters per input channel.

    Its kernel options are Keras's `depthwise_*` arguments; the weight is called "kernel".
    """

    rank = 2

    def __init__(self, kernel_size: int | tuple[int, ...], strides: int | tuple[int, ...] = 1,
                 padding: str = "valid", depth_multiplier: int = 1, data_format: str | None = None,
                 dilation_rate: int | tuple[int, ...] = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 depthwise_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 depthwise_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        if not isinstance(depth_multiplier, int) or isinstance(depth_multiplier, bool) or depth_multiplier <= 0:
            raise ValueError(f"{owner}: depth_multiplier must be a positive integer; got {depth_multiplier!r}. "
                             "It is the number of filters per input channel, usually 1.")
        self.depth_multiplier = depth_multiplier
        self.kernel_size, self.strides, self.padding, self.data_format, self.dilation_rate = conv_window(
            owner, self.rank, kernel_size, strides, padding, data_format, dilation_rate)
        self.set_kernel_options(owner, activation, use_bias, depthwise_initializer, bias_initializer,
                                depthwise_regularizer, bias_regularizer, depthwise_constraint, bias_constraint)
        self.input_rank = self.rank + 2

    # -- shapes ---------------------------------------------------------------------------
    def channels_of(self, shape: Shape) -> int | None:
        return shape[1] if self.data_format == "channels_first" else shape[-1]

    def output_channels(self, channels: int | None) -> int | None:
        return None if channels is None else channels * self.depth_multiplier

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial = input_shape[2:] if self.data_format == "channels_first" else input_shape[1:-1]
        out = tuple(conv_output_length(n, k, self.padding, s, d)
                    for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        if any(length is not None and length <= 0 for length in out):
            raise ValueError(f"{self.label}: kernel {'x'.join(map(str, self.kernel_size))} (dilation "
                             f"{self.dilation_rate}) is larger than its {'x'.join(map(str, spatial))} input with "
                             f"padding='{self.padding}'. Use padding='same' or a smaller kernel_size.")
        channels = self.output_channels(self.channels_of(input_shape))
        if self.data_format == "channels_first":
            return (input_shape[0], channels, *out)
        return (input_shape[0], *out, channels)

    # -- weights --------------------------------------------------------------------------
    def build_weights(self, input_shape: Shape) -> None:
        channels = self.channels_of(input_shape)
        if channels is None:
            raise ValueError(f"{self.label}: the channel axis of the input must be known; got {input_shape}.")
        self.channels = channels
        keras_shape = (*self.kernel_size, channels, self.depth_multiplier)
        # Stored (in, multiplier, *kernel): a free reshape to PyTorch's grouped (in*m, 1, *kernel).
        to_torch = (self.rank, self.rank + 1, *range(self.rank))
        self.kernel = nn.Parameter(self.kernel_initializer(keras_shape).permute(*to_torch).contiguous())
        bias_size = self.output_channels(channels)
        assert bias_size is not None  # the channels are known here
        self.bias = nn.Parameter(self.bias_initializer((bias_size,))) if self.use_bias else None

    def keras_weights(self) -> list[WeightSlot]:
        if not self.built:
            return []
        slots: list[WeightSlot] = [("kernel", self.kernel, (*range(2, self.rank + 2), 0, 1))]
        if self.bias is not None:
            slots.append(("bias", self.bias, (0,)))
        return slots

    # -- maths ----------------------------------------------------------------------------
    def depthwise(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, *spatial) -> (N, C * depth_multiplier, *new_spatial), without bias."""
        if self.padding == "same":  # TensorFlow puts the odd padding pixel after
            pads = [same_padding(n, k, s, d) for n, k, s, d in
                    zip(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate)]
            x = F.pad(x, [side for pair in reversed(pads) for side in pair])
        weight = self.kernel.reshape(-1, 1, *self.kernel_size)
        return CONV[self.rank](x, weight, None, self.strides, 0, self.dilation_rate, groups=self.channels)

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if self.data_format == "channels_first" else inputs.movedim(-1, 1)
        outputs = self.mix(self.depthwise(x))
        if self.bias is not None:
            outputs = outputs + self.bias.reshape(-1, *(1,) * self.rank)
        return outputs if self.data_format == "channels_first" else outputs.movedim(1, -1)

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        """What follows the depthwise step (nothing here; the pointwise step in SeparableConv)."""
        return x

    def get_config(self) -> dict[str, Any]:
        options = self.kernel_options_config()
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            **{key.replace("kernel_", "depthwise_"): value for key, value in options.items()},
        }


class DepthwiseConv1D(DepthwiseConv):
    """Depthwise 1-D convolution: (batch, steps, channels) -> (batch, new_steps, channels *
    depth_multiplier).

    >>> DepthwiseConv1D(5, depth_multiplier=2)
    """

    rank = 1


class DepthwiseConv2D(DepthwiseConv):
    """Depthwise 2-D convolution: (batch, h, w, channels) -> (batch, new_h, new_w, channels *
    depth_multiplier); each channel is filtered by its own kernels (MobileNet's building block).

    >>> DepthwiseConv2D(3, padding="same")
    """

    rank = 2


class SeparableConv(DepthwiseConv):
    """Depthwise convolution followed by a pointwise (1x1) one to `filters` channels, then the
    bias and activation. Weights: depthwise_kernel, pointwise_kernel, bias."""

    def __init__(self, filters: int, kernel_size: int | tuple[int, ...], strides: int | tuple[int, ...] = 1,
                 padding: str = "valid", data_format: str | None = None, dilation_rate: int | tuple[int, ...] = 1,
                 depth_multiplier: int = 1, activation: Any = None, use_bias: bool = True,
                 depthwise_initializer: Any = "glorot_uniform", pointwise_initializer: Any = "glorot_uniform",
                 bias_initializer: Any = "zeros", depthwise_regularizer: Any = None, pointwise_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, depthwise_constraint: Any = None,
                 pointwise_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        super().__init__(kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.filters = check_filters(filters, owner)
        self.pointwise_initializer = initializers.get(pointwise_initializer, owner=f"{owner} pointwise_initializer")
        # Named after the weights, as Layer.regularization_penalty and apply_constraints look them up.
        self.pointwise_kernel_regularizer = regularizers.get(pointwise_regularizer,
                                                             owner=f"{owner} pointwise_regularizer")
        self.pointwise_kernel_constraint = constraints.get(pointwise_constraint, owner=f"{owner} pointwise_constraint")

    @property
    def depthwise_kernel_regularizer(self) -> Any:
        return self.kernel_regularizer

    @property
    def depthwise_kernel_constraint(self) -> Any:
        return self.kernel_constraint

    def output_channels(self, channels: int | None) -> int | None:
        return self.filters

    def build_weights(self, input_shape: Shape) -> None:
        super().build_weights(input_shape)
        keras_shape = (*(1,) * self.rank, self.channels * self.depth_multiplier, self.filters)
        to_torch = (self.rank + 1, self.rank, *range(self.rank))
        self.pointwise_kernel = nn.Parameter(self.pointwise_initializer(keras_shape).permute(*to_torch).contiguous())

    def keras_weights(self) -> list[WeightSlot]:
        if not self.built:
            return []
        slots: list[WeightSlot] = [
            ("depthwise_kernel", self.kernel, (*range(2, self.rank + 2), 0, 1)),
            ("pointwise_kernel", self.pointwise_kernel, (*range(2, self.rank + 2), 1, 0)),
        ]
        if self.bias is not None:
            slots.append(("bias", self.bias, (0,)))
        return slots

    def mix(self, x: torch.Tensor) -> torch.Tensor:
        return CONV[self.rank](x, self.pointwise_kernel)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "pointwise_initializer": initializers.serialize(self.pointwise_initializer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_kernel_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_kernel_constraint),
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, filters={self.filters}, kernel_size={self.kernel_size}"


class SeparableConv1D(SeparableConv):
    """Separable 1-D convolution: (batch, steps, channels) -> (batch, new_steps, filters).

    >>> SeparableConv1D(32, 5, padding="same", activation="relu")
    """

    rank = 1


class SeparableConv2D(SeparableConv):
    """Separable 2-D convolution: (batch, h, w, channels) -> (batch, new_h, new_w, filters),
    with far fewer weights than a Conv2D of the same size (Xception's building block).

    >>> SeparableConv2D(64, 3, padding="same", activation="relu")
    """

    rank = 2
