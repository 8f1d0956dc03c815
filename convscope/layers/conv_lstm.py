"""Convolutional LSTMs (Shi et al., 2015): ConvLSTM1D, ConvLSTM2D and ConvLSTM3D over sequences
of signals, images or volumes. One base class holds the logic; the leaves fix the rank.

Keras's equations, an LSTM whose matrix products are convolutions (`*`):
    i, f, o = recurrent_activation(W_{i,f,o} * x_t + U_{i,f,o} * h_{t-1} + b_{i,f,o})
    c_t = f * c_{t-1} + i * activation(W_c * x_t + U_c * h_{t-1} + b_c)
    h_t = o * activation(c_t)
The input convolution takes the layer's strides, padding and dilation_rate; the recurrent one
always runs with stride 1, no dilation and padding "same" (as Keras's `recurrent_conv`), so the
states keep the input convolution's output size.

Shapes (channels_last; channels_first puts the channels before the spatial axes):
    input  (batch, time, *spatial, channels)
    output (batch, *new_spatial, filters), or (batch, time, *new_spatial, filters) with
           return_sequences; return_state adds the last h and c, each (batch, *new_spatial, filters)
new_spatial follows Conv's rule: valid floor((n - d*(k-1) - 1) / s) + 1, same ceil(n / s).

Weights, in Keras's layout and gate order i, f, c, o: kernel (*kernel_size, channels, 4 * filters),
recurrent_kernel (*kernel_size, filters, 4 * filters), bias (4 * filters,); unit_forget_bias starts
the forget gate's bias at 1. They are kept in PyTorch's layout (out, in, *kernel_size), as Conv
keeps its kernel.

dropout and recurrent_dropout draw one mask per gate and sequence, kept over the steps, as Keras's
cell keeps its four; Keras 3.15 takes each gate's mask from one sample of the batch (so it needs a
batch of at least 4), convscope draws one per sample. Masks from Masking or Embedding act as in the
other recurrent layers: a masked step keeps the states.

    >>> ConvLSTM2D(16, 3, padding="same", return_sequences=True)  # (N, T, 40, 40, 1) -> (N, T, 40, 40, 16)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from convscope import activations, constraints, initializers, regularizers
from convscope.layers.base import WeightSlot
from convscope.layers.conv_utils import check_filters, conv_output_length, conv_window, same_padding
from convscope.layers.input_spec import Shape
from convscope.layers.multi_output import MultiOutputLayer
from convscope.layers.recurrent import Recurrent, State

SPATIAL_NAMES = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}


def convolve(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, strides: tuple[int, ...],
             pads: tuple[tuple[int, int], ...], dilation: tuple[int, ...]) -> torch.Tensor:
    """An N-D convolution of channels-first `x` with TensorFlow's (before, after) zero padding."""
    if any(before != after for before, after in pads):  # the odd pixel goes after, as in TensorFlow
        x = F.pad(x, [side for pair in reversed(pads) for side in pair])
        symmetric = (0,) * len(pads)
    else:
        symmetric = tuple(before for before, _ in pads)
    conv = (F.conv1d, F.conv2d, F.conv3d)[len(pads) - 1]
    return conv(x, weight, bias, strides, symmetric, dilation)


class ConvLSTM(Recurrent):
    """What ConvLSTM1D, 2D and 3D share; a leaf sets `rank`."""

    rank = 2
    gates, states = 4, 2

    def __init__(self, filters: int, kernel_size: int | tuple[int, ...], strides: int | tuple[int, ...] = 1,
                 padding: str = "valid", data_format: str | None = None, dilation_rate: int | tuple[int, ...] = 1,
                 activation: Any = "tanh", recurrent_activation: Any = "sigmoid", unit_forget_bias: bool = True,
                 **kwargs: Any) -> None:
        owner = f"{type(self).__name__} {kwargs['name']!r}" if kwargs.get("name") else type(self).__name__
        filters = check_filters(filters, owner)
        window = conv_window(owner, self.rank, kernel_size, strides, padding, data_format, dilation_rate)
        super().__init__(filters, activation, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.filters = filters
        self.kernel_size, self.strides, self.padding, self.data_format, self.dilation_rate = window
        self.recurrent_activation = activations.get(recurrent_activation, owner=f"{owner} recurrent_activation")
        self.unit_forget_bias = bool(unit_forget_bias)
        self.input_rank = self.rank + 3
        self.state_shape: tuple[int | None, ...] | None = None  # (*new_spatial, filters), channels_last

    # -- shapes ---------------------------------------------------------------------------
    def split_step(self, shape: Shape) -> tuple[tuple[int | None, ...], int | None]:
        """(spatial sizes, channels) of one step of a (batch, time, ...) input shape."""
        if self.data_format == "channels_first":
            return tuple(shape[3:]), shape[2]
        return tuple(shape[2:-1]), shape[-1]

    def new_spatial(self, input_shape: Shape) -> tuple[int | None, ...]:
        spatial, _ = self.split_step(input_shape)
        sizes = tuple(conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                      zip(spatial, self.kernel_size, self.strides, self.dilation_rate))
        if any(size is not None and size <= 0 for size in sizes):
            reach = tuple((k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate))
            raise ValueError(f"{self.label}: kernel {'x'.join(map(str, reach))} (dilation included) is larger than "
                             f"each frame, {'x'.join(map(str, spatial))}, with padding='{self.padding}'. Use "
                             "padding='same' or a smaller kernel_size.")
        return sizes

    def output_shapes(self, input_shape: Shape) -> list[Shape]:
        batch, steps = input_shape[0], input_shape[1]
        spatial = self.new_spatial(input_shape)
        frame = (self.filters, *spatial) if self.data_format == "channels_first" else (*spatial, self.filters)
        output = (batch, steps, *frame) if self.return_sequences else (batch, *frame)
        return [output, *[(batch, *frame)] * (self.states if self.return_state else 0)]

    @property
    def output_count(self) -> int:
        return 1 + (self.states if self.return_state else 0)

    def build(self, input_shape: Shape) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) != self.input_rank:
            axes = "channels, " + SPATIAL_NAMES[self.rank] if self.data_format == "channels_first" \
                else SPATIAL_NAMES[self.rank] + ", channels"
            raise ValueError(f"{self.label} expects {self.input_rank}-D input (batch, time, {axes}); got shape "
                             f"{input_shape}. A single sequence needs a batch axis (x[None]); frames without a "
                             "channel axis need one (x[..., None]).")
        spatial, channels = self.split_step(input_shape)
        if None in spatial or channels is None:
            raise ValueError(f"{self.label}: the frame size and channels of the input must be known (ConvLSTM "
                             f"layers only take static frame shapes, as in Keras); got shape {input_shape}.")
        super().build(input_shape)

    # -- weights --------------------------------------------------------------------------
    def build_weights(self, input_shape: Shape) -> None:
        _, channels = self.split_step(input_shape)
        assert channels is not None
        to_torch = (self.rank + 1, self.rank, *range(self.rank))  # Keras's (*k, in, out) as (out, in, *k)
        gates = self.gates * self.filters
        kernel = self.kernel_initializer((*self.kernel_size, channels, gates))
        recurrent = self.recurrent_initializer((*self.kernel_size, self.filters, gates))
        self.kernel = torch.nn.Parameter(kernel.permute(*to_torch).contiguous())
        self.recurrent_kernel = torch.nn.Parameter(recurrent.permute(*to_torch).contiguous())
        self.bias = torch.nn.Parameter(self.initial_bias()) if self.use_bias else None
        self.state_shape = (*self.new_spatial(input_shape), self.filters)

    def initial_bias(self) -> torch.Tensor:
        if not self.unit_forget_bias:
            return self.bias_initializer((self.gates * self.filters,))
        filters = self.filters
        return torch.cat([self.bias_initializer((filters,)), torch.ones(filters),
                          self.bias_initializer((2 * filters,))])

    def keras_weights(self) -> list[WeightSlot]:
        if self.kernel is None or self.recurrent_kernel is None:
            return []
        to_keras = (*range(2, self.rank + 2), 1, 0)
        slots: list[WeightSlot] = [("kernel", self.kernel, to_keras),
                                   ("recurrent_kernel", self.recurrent_kernel, to_keras)]
        if self.bias is not None:
            slots.append(("bias", self.bias, (0,)))
        return slots

    # -- states ---------------------------------------------------------------------------
    def state_names(self) -> str:
        return "[h, c]"

    def frame_shape(self) -> tuple[int | None, ...]:
        assert self.state_shape is not None
        if self.data_format == "channels_first":
            return (self.state_shape[-1], *self.state_shape[:-1])
        return self.state_shape

    def initial_states(self, initial_state: Any, batch: int | None) -> list[Any]:
        """`initial_state` as a list [h, c], each (batch, *new_spatial, filters) (channels_last).

        Raises:
            ValueError: naming the layer, for a wrong count or shape.
        """
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self.states:
            raise ValueError(f"{self.label}: initial_state takes 2 tensors, [h, c]; got {len(states)}.")
        frame = self.frame_shape()
        for index, state in enumerate(states):
            shape = tuple(getattr(state, "shape", ()))
            if len(shape) != 1 + len(frame) or tuple(shape[1:]) != frame or \
                    None not in (batch, shape[0]) and shape[0] != batch:
                raise ValueError(f"{self.label}: initial_state[{index}] must have shape "
                                 f"({batch or 'batch'}, {', '.join(map(str, frame))}); got {shape}. Pass the "
                                 "states of a ConvLSTM layer with the same filters and frame size.")
        return states

    # -- the forward pass -----------------------------------------------------------------
    def sequence_call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None,
                      initial_state: State | None = None) -> Any:
        assert self.kernel is not None and self.recurrent_kernel is not None
        last = self.data_format == "channels_last"
        sequence = inputs.movedim(-1, 2) if last else inputs  # (N, T, C, *spatial)
        if self.go_backwards:
            sequence = sequence.flip(1)
            mask = None if mask is None else mask.flip(1)
        projected = self.project_sequence(sequence)  # (N, T, 4F, *new_spatial)
        if initial_state is None:
            zeros = projected.new_zeros(projected.shape[0], self.filters, *projected.shape[3:])
            states = [zeros, zeros]
        else:
            states = [state.movedim(-1, 1) if last else state for state in initial_state]
        outputs, states = self.conv_loop(projected, states, None if mask is None else mask.bool())
        if last:
            outputs, states = outputs.movedim(2, -1), [state.movedim(1, -1) for state in states]
        output = outputs if self.return_sequences else outputs[:, -1]
        return [output, *states] if self.return_state else output

    def gate_masks(self, like: torch.Tensor, rate: float) -> torch.Tensor | None:
        """In training, one dropout mask per gate and sequence, (4, *like.shape); else None."""
        if not (self.training and rate > 0):
            return None
        keep = torch.full((self.gates, *like.shape), 1 - rate, device=like.device, dtype=like.dtype)
        return torch.bernoulli(keep) / (1 - rate)

    def project_sequence(self, sequence: torch.Tensor) -> torch.Tensor:
        """Every step's input convolution at once: (N, T, C, *spatial) -> (N, T, 4F, *new_spatial)."""
        assert self.kernel is not None
        batch, steps = sequence.shape[:2]
        frames = sequence.reshape(batch * steps, *sequence.shape[2:])
        pads = tuple((0, 0) for _ in self.kernel_size) if self.padding == "valid" else tuple(
            same_padding(n, k, s, d) for n, k, s, d in
            zip(frames.shape[2:], self.kernel_size, self.strides, self.dilation_rate))
        masks = self.gate_masks(frames[:batch], self.dropout)
        if masks is None:
            projected = convolve(frames, self.kernel, self.bias, self.strides, pads, self.dilation_rate)
        else:  # each gate sees the input through its own mask, the same at every step (as Keras's cells keep it)
            kernels = self.kernel.chunk(self.gates)
            biases = [None] * self.gates if self.bias is None else list(self.bias.chunk(self.gates))
            projected = torch.cat([convolve(frames * masks[gate].repeat_interleave(steps, dim=0),
                                            kernels[gate], biases[gate], self.strides, pads, self.dilation_rate)
                                   for gate in range(self.gates)], dim=1)
        return projected.reshape(batch, steps, *projected.shape[1:])

    def recurrent_conv(self, h: torch.Tensor, masks: torch.Tensor | None) -> torch.Tensor:
        """U * h_{t-1}: stride 1, padding "same", no dilation, as Keras's recurrent convolution."""
        assert self.recurrent_kernel is not None
        pads = tuple(same_padding(n, k, 1) for n, k in zip(h.shape[2:], self.kernel_size))
        ones = (1,) * self.rank
        if masks is None:
            return convolve(h, self.recurrent_kernel, None, ones, pads, ones)
        kernels = self.recurrent_kernel.chunk(self.gates)
        return torch.cat([convolve(h * masks[gate], kernels[gate], None, ones, pads, ones)
                          for gate in range(self.gates)], dim=1)

    def conv_loop(self, projected: torch.Tensor, states: State,
                  steps_mask: torch.Tensor | None) -> tuple[torch.Tensor, State]:
        """Keras's step loop; where `steps_mask` (N, T) is False a step keeps the states and
        outputs the previous output (zeros with zero_output_for_mask)."""
        h, c = states
        masks = self.gate_masks(h, self.recurrent_dropout)
        outputs = []
        output = zeros = torch.zeros_like(h)
        for step in range(projected.shape[1]):
            i, f, g, o = (projected[:, step] + self.recurrent_conv(h, masks)).chunk(self.gates, dim=1)
            new_c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
            new_h = self.recurrent_activation(o) * self.activation(new_c)
            if steps_mask is None:
                h, c = new_h, new_c
                outputs.append(h)
                continue
            real = steps_mask[:, step].view(-1, *[1] * (h.dim() - 1))  # (N, 1, ...)
            h, c = torch.where(real, new_h, h), torch.where(real, new_c, c)
            output = torch.where(real, new_h, zeros if self.zero_output_for_mask else output)
            outputs.append(output)
        return torch.stack(outputs, 1), [h, c]

    # -- configuration --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = MultiOutputLayer.get_config(self)
        activity = config.pop("activity_regularizer", None)
        return {**config, "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                "filters": self.filters, "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate),
                "activation": activations.name_of(self.activation),
                "recurrent_activation": activations.name_of(self.recurrent_activation),
                "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias,
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": activity,
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"return_sequences={self.return_sequences}")


class ConvLSTM1D(ConvLSTM):
    """Convolutional LSTM over sequences of 1-D signals, (batch, time, steps, channels).

    Output (batch, new_steps, filters), or (batch, time, new_steps, filters) with return_sequences.

    >>> ConvLSTM1D(8, 3, padding="same")
    """

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """Convolutional LSTM over sequences of images (video frames), (batch, time, rows, cols,
    channels). Output (batch, new_rows, new_cols, filters), or (batch, time, new_rows, new_cols,
    filters) with return_sequences.

    >>> ConvLSTM2D(64, (5, 5), padding="same", return_sequences=True)  # next-frame prediction
    """

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """Convolutional LSTM over sequences of volumes, (batch, time, depth, rows, cols, channels).
    Output (batch, new_depth, new_rows, new_cols, filters), with return_sequences the time axis too.

    >>> ConvLSTM3D(4, 3, padding="same")
    """

    rank = 3
