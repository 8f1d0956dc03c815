"""Conv1DTranspose, Conv2DTranspose and Conv3DTranspose ("deconvolution"): the gradient of a
convolution, used to upsample feature maps in decoders and generators.

The kernel is (*kernel_size, filters, in_channels) in Keras's layout and (in_channels,
filters, *kernel_size) in PyTorch's. Output size along each spatial axis (n input, k kernel,
s stride, d dilation, k' = d*(k-1) + 1, p output_padding):
    valid: (n-1)*s + k' + p, with p = max(k', s) - k' when output_padding is None
    same:  n*s when output_padding is None, else (n-1)*s + k' % 2 + p
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from convscope.layers.conv import Conv, to_channels_first, to_channels_last
from convscope.layers.conv_utils import normalize_tuple
from convscope.layers.input_spec import Shape


def transpose_padding(kernel: int, stride: int, dilation: int, padding: str,
                      output_padding: int | None) -> tuple[int, int]:
    """(left, right) padding of the stride-dilated input, as Keras and TensorFlow place it."""
    reach = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(reach, stride) - reach if output_padding is None else output_padding
        return reach - 1, reach - 1 + extra
    total = stride + reach - 2 if output_padding is None else reach + reach % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, reach - 1)
    return left, total - left


class ConvTranspose(Conv):
    """N-D transposed convolution; the leaves fix the rank."""

    def __init__(self, filters: int, kernel_size: int | tuple[int, ...], strides: int | tuple[int, ...] = 1,
                 padding: str = "valid", output_padding: int | tuple[int, ...] | None = None,
                 data_format: str | None = None, dilation_rate: int | tuple[int, ...] = 1, activation: Any = None,
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, **kwargs: Any) -> None:
        if padding == "causal":
            raise ValueError(f"{type(self).__name__}: padding must be 'valid' or 'same'; got 'causal'.")
        super().__init__(filters, kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.output_padding = None if output_padding is None else \
            normalize_tuple(output_padding, self.rank, "output_padding", owner, allow_zero=True)
        for extra, stride in zip(self.output_padding or (), self.strides):
            if extra >= stride:
                raise ValueError(f"{owner}: each output_padding must be smaller than its stride; got "
                                 f"output_padding={self.output_padding}, strides={self.strides}.")

    def pads(self) -> list[tuple[int, int]]:
        extras = self.output_padding or (None,) * self.rank
        return [transpose_padding(k, s, d, self.padding, p)
                for k, s, d, p in zip(self.kernel_size, self.strides, self.dilation_rate, extras)]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        spatial, _ = self.spatial_and_channels(input_shape)
        out = tuple(None if n is None else (n - 1) * s + left + right - (k - 1) * d + 1
                    for n, s, k, d, (left, right) in
                    zip(spatial, self.strides, self.kernel_size, self.dilation_rate, self.pads()))
        if self.data_format == "channels_first":
            return (input_shape[0], self.filters, *out)
        return (input_shape[0], *out, self.filters)

    def kernel_shape(self, channels: int, input_shape: Shape) -> tuple[int, ...]:
        """The kernel in Keras's layout, (*kernel_size, filters, channels); stored as PyTorch's
        (channels, filters, *kernel_size)."""
        return (*self.kernel_size, self.filters, channels)

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        # PyTorch's transposed convolution pads symmetrically only; compute the full output
        # and crop (or zero-pad) each side to Keras's window.
        x = inputs if self.data_format == "channels_first" else to_channels_first(inputs)
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.rank - 1]
        full = conv(x, self.kernel, None, self.strides, 0, 0, 1, self.dilation_rate)
        sides = []
        for k, d, (left, right) in reversed(list(zip(self.kernel_size, self.dilation_rate, self.pads()))):
            reach = (k - 1) * d + 1
            sides += [left - (reach - 1), right - (reach - 1)]  # negative values crop
        outputs = F.pad(full, sides)
        if self.bias is not None:
            outputs = outputs + self.bias.reshape(-1, *(1,) * self.rank)
        return outputs if self.data_format == "channels_first" else to_channels_last(outputs)

    def get_config(self) -> dict[str, Any]:
        output_padding = None if self.output_padding is None else list(self.output_padding)
        return {**super().get_config(), "output_padding": output_padding}


class Conv1DTranspose(ConvTranspose):
    """Transposed 1-D convolution: (batch, steps, channels) -> (batch, new_steps, filters);
    with strides=2 and padding="same", steps double.

    >>> Conv1DTranspose(8, 3, strides=2, padding="same")
    """

    rank = 1


class Conv2DTranspose(ConvTranspose):
    """Transposed 2-D convolution: (batch, h, w, channels) -> (batch, new_h, new_w, filters);
    with strides=2 and padding="same", 7x7 becomes 14x14.

    >>> Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")
    """

    rank = 2


class Conv3DTranspose(ConvTranspose):
    """Transposed 3-D convolution: (batch, d, h, w, channels) -> (batch, new_d, new_h, new_w,
    filters), e.g. the decoder of a volumetric U-Net; with strides=2 and padding="same", every
    spatial size doubles. The kernel is (kD, kH, kW, filters, channels) in Keras's layout.

    >>> Conv3DTranspose(16, 2, strides=2)
    """

    rank = 3
