"""Recurrent layers: SimpleRNN, LSTM and GRU over (batch, steps, features) sequences.

Weights are kept in Keras's layout (kernel (features, gates * units), recurrent_kernel
(units, gates * units), bias), with Keras's gate order: LSTM i, f, c, o; GRU z, r, h. A
configuration torch's fused kernels compute exactly (tanh and sigmoid, no recurrent dropout,
GRU with reset_after=True) runs on them (`torch.lstm`, `torch.gru`, `torch.rnn_tanh`, fed views
of the same weights); any other runs a per-step loop of Keras's cell equations, as does a
call with a mask (`convscope.layers.masking`: a masked step leaves the states as they were and
outputs the previous output, or zeros with zero_output_for_mask, as Keras's loop does). A call
may give the states the first step starts from, `initial_state` (LSTM [h, c], GRU and SimpleRNN
[h], each (batch, units)), eagerly or on symbolic tensors (Keras's seq2seq encoder-decoder:
`_, h, c = LSTM(64, return_state=True)(source)`, then
`LSTM(64, return_sequences=True)(target, initial_state=[h, c])`).

    >>> LSTM(32)  # (batch, steps, features) -> (batch, 32); after Conv1D and MaxPooling1D
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from convscope import activations, constraints, initializers, regularizers
from convscope.layers.base import WeightSlot
from convscope.layers.input_spec import Shape
from convscope.layers.multi_output import MultiOutputLayer

State = list[torch.Tensor]


def positive_units(owner: str, units: Any) -> int:
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"{owner}: units must be a positive integer (the size of the hidden state); got {units!r}.")
    return units


def rate(owner: str, argument: str, value: Any) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value < 1.0:
        raise ValueError(f"{owner}: {argument} must be a fraction in [0, 1); got {value!r}.")
    return float(value)


class Recurrent(MultiOutputLayer):
    """What SimpleRNN, LSTM and GRU share: arguments, weights, the sequence loop. A leaf sets
    `gates` (blocks of `units` in the kernel), `states` (1, or 2 for LSTM) and the cell maths."""

    gates = 1
    states = 1
    supports_masking = True
    config_has_seed = True  # Keras's SimpleRNN takes a seed but leaves it out of its config

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        kwargs.pop("use_cudnn", None)  # Keras's choice of GPU kernel; convscope picks torch's fused one itself
        super().__init__(**kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.units = positive_units(owner, units)
        if stateful:
            raise ValueError(f"{owner}: stateful=True is not supported: convscope's recurrent layers start every "
                             "batch from zero states. Use stateful=False (feed whole sequences).")
        self.activation = activations.get(activation, owner=owner)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer, owner=f"{owner} kernel_initializer")
        self.recurrent_initializer = initializers.get(recurrent_initializer, owner=f"{owner} recurrent_initializer")
        self.bias_initializer = initializers.get(bias_initializer, owner=f"{owner} bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer, owner=f"{owner} kernel_regularizer")
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer, owner=f"{owner} recurrent_regularizer")
        self.bias_regularizer = regularizers.get(bias_regularizer, owner=f"{owner} bias_regularizer")
        self.kernel_constraint = constraints.get(kernel_constraint, owner=f"{owner} kernel_constraint")
        self.recurrent_constraint = constraints.get(recurrent_constraint, owner=f"{owner} recurrent_constraint")
        self.bias_constraint = constraints.get(bias_constraint, owner=f"{owner} bias_constraint")
        # `Layer.regularization_penalty` and `apply_constraints` look these up by weight name.
        self.recurrent_kernel_regularizer, self.recurrent_kernel_constraint = \
            self.recurrent_regularizer, self.recurrent_constraint
        self.dropout = rate(owner, "dropout", dropout)
        self.recurrent_dropout = rate(owner, "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), False, bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)  # a masked step outputs zeros, not the last output
        self.kernel: torch.nn.Parameter | None = None
        self.recurrent_kernel: torch.nn.Parameter | None = None
        self.bias: torch.nn.Parameter | None = None
        self.loop_warned = False

    # -- shapes and weights -------------------------------------------------------------------
    def output_shapes(self, input_shape: Shape) -> list[Shape]:
        batch, steps = input_shape[0], input_shape[1]
        output = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        return [output, *[(batch, self.units)] * (self.states if self.return_state else 0)]

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def initial_bias(self) -> torch.Tensor:
        return self.bias_initializer(self.bias_shape())

    def build_weights(self, input_shape: Shape) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{self.label}: the last axis (features) of the input must be known; got shape "
                             f"{tuple(input_shape)}.")
        self.kernel = torch.nn.Parameter(self.kernel_initializer((features, self.gates * self.units)))
        self.recurrent_kernel = torch.nn.Parameter(
            self.recurrent_initializer((self.units, self.gates * self.units)))
        self.bias = torch.nn.Parameter(self.initial_bias()) if self.use_bias else None

    def keras_weights(self) -> list[WeightSlot]:
        if self.kernel is None or self.recurrent_kernel is None:
            return []
        slots: list[WeightSlot] = [("kernel", self.kernel, (0, 1)), ("recurrent_kernel", self.recurrent_kernel, (0, 1))]
        if self.bias is not None:
            slots.append(("bias", self.bias, tuple(range(self.bias.dim()))))
        return slots

    def keras_var_groups(self) -> list[tuple[str, int]]:
        """Where Keras 3's weights file holds the weights, under the layer's group: its cell."""
        return [("cell", len(self.keras_weights()))]

    # -- the forward pass -----------------------------------------------------------------------
    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        output_mask = mask if self.return_sequences else None
        return [output_mask, *[None] * self.states] if self.return_state else output_mask

    def state_sizes(self) -> list[int]:
        return [self.units] * self.states

    def state_names(self) -> str:
        return "[h, c]" if self.states == 2 else "[h]"

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None, initial_state: State | None = None) -> Any:
        return self.sequence_call(inputs, mask, initial_state)

    def sequence_call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None,
                      initial_state: State | None = None) -> Any:
        """The whole sequence (a cell's `call` is one step)."""
        sequence = inputs.flip(1) if self.go_backwards else inputs
        if mask is not None:
            mask = (mask.flip(1) if self.go_backwards else mask).bool()  # (N, T): True where a step is real
        if self.training and self.dropout > 0:  # one mask per sequence, as Keras's cells keep it
            keep = torch.full((inputs.shape[0], 1, inputs.shape[2]), 1 - self.dropout, device=inputs.device)
            sequence = sequence * torch.bernoulli(keep) / (1 - self.dropout)
        zeros = initial_state or [inputs.new_zeros(inputs.shape[0], self.units) for _ in range(self.states)]
        if mask is None and self.fused():
            outputs, states = self.fused_call(sequence, zeros)
        else:
            if not self.loop_warned:  # once per layer: a slow path says so
                self.loop_warned = True
                why = ", ".join(self.loop_reasons() + (["a mask"] if mask is not None else [])) \
                    or "this configuration"
                warnings.warn(f"{self.label}: {why} has no fused torch kernel, so the layer runs its cell step "
                              "by step (about 2-5x slower on a CPU).", stacklevel=3)
            outputs, states = self.loop(sequence, zeros, mask)
        output = outputs if self.return_sequences else outputs[:, -1]
        return [output, *states] if self.return_state else output

    def fused(self) -> bool:
        """Whether torch's fused kernel computes this configuration exactly."""
        return not self.loop_reasons()

    def loop_reasons(self) -> list[str]:
        """What keeps this configuration off torch's fused kernel (none: it runs there)."""
        reasons = []
        if self.activation is not activations.ACTIVATIONS["tanh"]:
            reasons.append(f"activation={activations.name_of(self.activation)!r}")
        recurrent_activation = getattr(self, "recurrent_activation", None)
        if recurrent_activation is not None and recurrent_activation is not activations.ACTIVATIONS["sigmoid"]:
            reasons.append(f"recurrent_activation={activations.name_of(recurrent_activation)!r}")
        if self.training and self.recurrent_dropout > 0:
            reasons.append(f"recurrent_dropout={self.recurrent_dropout:g} in training")
        return reasons

    def fused_call(self, sequence: torch.Tensor, zeros: State) -> tuple[torch.Tensor, State]:
        raise NotImplementedError

    def project(self, sequence: torch.Tensor) -> torch.Tensor:
        """Every step's input part at once: (N, T, features) -> (N, T, gates * units)."""
        assert self.kernel is not None
        projected = sequence @ self.kernel
        return projected if self.bias is None else projected + self.bias

    def loop(self, sequence: torch.Tensor, states: State,
             steps_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, State]:
        """Keras's step loop; where `steps_mask` (N, T) is False a step keeps the states and
        outputs the previous output (zeros with zero_output_for_mask)."""
        projected = self.project(sequence)
        mask = None
        if self.training and self.recurrent_dropout > 0:  # one mask per sequence, as Keras's cells keep it
            keep = torch.full_like(states[0], 1 - self.recurrent_dropout)
            mask = torch.bernoulli(keep) / (1 - self.recurrent_dropout)
        outputs = []
        output = zeros = torch.zeros_like(states[0])
        for step in range(sequence.shape[1]):
            stepped = self.step(projected[:, step], states, mask)
            if steps_mask is None:
                states = stepped
                outputs.append(states[0])
                continue
            real = steps_mask[:, step, None]  # (N, 1)
            states = [torch.where(real, new, old) for new, old in zip(stepped, states)]
            output = torch.where(real, stepped[0], zeros if self.zero_output_for_mask else output)
            outputs.append(output)
        return torch.stack(outputs, 1), states

    def step(self, projected: torch.Tensor, states: State, mask: torch.Tensor | None) -> State:
        raise NotImplementedError

    # -- configuration --------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "return_sequences": self.return_sequences, "return_state": self.return_state,
                "go_backwards": self.go_backwards, "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                "units": self.units, "activation": activations.name_of(self.activation),
                **self.gate_config(), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                **self.bias_config(),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": constraints.serialize(self.kernel_constraint),
                "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
                "bias_constraint": constraints.serialize(self.bias_constraint),
                "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout,
                **({"seed": self.seed} if self.config_has_seed else {}), **self.cell_config()}

    def gate_config(self) -> dict[str, Any]:
        return {}

    def bias_config(self) -> dict[str, Any]:
        return {}

    def cell_config(self) -> dict[str, Any]:
        return {}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, units={self.units}, return_sequences={self.return_sequences}"


class SimpleRNN(Recurrent):
    """A fully connected RNN: h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias).

    (batch, steps, features) -> (batch, units), or (batch, steps, units) with
    return_sequences; return_state adds the last state. 3 weights: kernel (features, units),
    recurrent_kernel (units, units), bias (units,).

    >>> SimpleRNN(16, return_sequences=True)
    """

    config_has_seed = False

    def fused_call(self, sequence: torch.Tensor, zeros: State) -> tuple[torch.Tensor, State]:
        assert self.kernel is not None and self.recurrent_kernel is not None
        weights = [self.kernel.T, self.recurrent_kernel.T]
        if self.bias is not None:
            weights += [self.bias, torch.zeros_like(self.bias)]
        outputs, last = torch.rnn_tanh(sequence, zeros[0][None], weights, self.bias is not None, 1, 0.0,
                                       False, False, True)
        return outputs, [last[0]]

    def step(self, projected: torch.Tensor, states: State, mask: torch.Tensor | None) -> State:
        assert self.recurrent_kernel is not None
        previous = states[0] if mask is None else states[0] * mask
        return [self.activation(projected + previous @ self.recurrent_kernel)]


class LSTM(Recurrent):
    """Long short-term memory (Hochreiter and Schmidhuber, 1997), Keras's equations:
    i, f, o = recurrent_activation(...), c_t = f * c_{t-1} + i * activation(...),
    h_t = o * activation(c_t).

    (batch, steps, features) -> (batch, units), or (batch, steps, units) with
    return_sequences; return_state adds the last h and c. 3 weights, gates i, f, c, o:
    kernel (features, 4 * units), recurrent_kernel (units, 4 * units), bias (4 * units,);
    unit_forget_bias starts the forget gate's bias at 1.

    >>> LSTM(64)  # the usual head of a Conv1D feature extractor
    """

    gates, states = 4, 2

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, activation, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.recurrent_activation = activations.get(recurrent_activation, owner=f"{owner} recurrent_activation")
        self.unit_forget_bias = bool(unit_forget_bias)

    def initial_bias(self) -> torch.Tensor:
        if not self.unit_forget_bias:
            return super().initial_bias()
        units = self.units
        return torch.cat([self.bias_initializer((units,)), torch.ones(units), self.bias_initializer((2 * units,))])

    def fused_call(self, sequence: torch.Tensor, zeros: State) -> tuple[torch.Tensor, State]:
        assert self.kernel is not None and self.recurrent_kernel is not None
        weights = [self.kernel.T, self.recurrent_kernel.T]  # torch's gate order is Keras's: i, f, g, o
        if self.bias is not None:
            weights += [self.bias, torch.zeros_like(self.bias)]
        outputs, h, c = torch.lstm(sequence, (zeros[0][None], zeros[1][None]), weights, self.bias is not None, 1,
                                   0.0, False, False, True)
        return outputs, [h[0], c[0]]

    def step(self, projected: torch.Tensor, states: State, mask: torch.Tensor | None) -> State:
        assert self.recurrent_kernel is not None
        h, c = states
        previous = h if mask is None else h * mask
        i, f, g, o = (projected + previous @ self.recurrent_kernel).chunk(4, dim=-1)
        c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(g)
        return [self.recurrent_activation(o) * self.activation(c), c]

    def gate_config(self) -> dict[str, Any]:
        return {"recurrent_activation": activations.name_of(self.recurrent_activation)}

    def bias_config(self) -> dict[str, Any]:
        return {"unit_forget_bias": self.unit_forget_bias}


class GRU(Recurrent):
    """Gated recurrent unit (Cho et al., 2014), Keras's equations: z, r =
    recurrent_activation(...), candidate = activation(x @ W_h + r * (h @ U_h + b_rh)) with
    reset_after=True (the default, torch's and cuDNN's form) or activation(x @ W_h + (r * h) @ U_h)
    with reset_after=False; h_t = z * h_{t-1} + (1 - z) * candidate.

    (batch, steps, features) -> (batch, units), or (batch, steps, units) with
    return_sequences; return_state adds the last state. 3 weights, gates z, r, h: kernel
    (features, 3 * units), recurrent_kernel (units, 3 * units), bias (2, 3 * units) with
    reset_after (input and recurrent biases), else (3 * units,).

    >>> GRU(32, return_sequences=True)
    """

    gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 reset_after: bool = True, **kwargs: Any) -> None:
        super().__init__(units, activation, **kwargs)
        owner = type(self).__name__ if self.auto_named else self.label
        self.recurrent_activation = activations.get(recurrent_activation, owner=f"{owner} recurrent_activation")
        self.reset_after = bool(reset_after)

    def bias_shape(self) -> tuple[int, ...]:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def loop_reasons(self) -> list[str]:
        return super().loop_reasons() + ([] if self.reset_after else ["reset_after=False"])

    def torch_order(self, weight: torch.Tensor) -> torch.Tensor:
        """Keras's gate blocks z, r, h along the last axis as torch's r, z, n."""
        z, r, h = weight.chunk(3, dim=-1)
        return torch.cat([r, z, h], dim=-1)

    def fused_call(self, sequence: torch.Tensor, zeros: State) -> tuple[torch.Tensor, State]:
        assert self.kernel is not None and self.recurrent_kernel is not None
        weights = [self.torch_order(self.kernel).T, self.torch_order(self.recurrent_kernel).T]
        if self.bias is not None:
            weights += [self.torch_order(self.bias[0]), self.torch_order(self.bias[1])]
        outputs, last = torch.gru(sequence, zeros[0][None], weights, self.bias is not None, 1, 0.0, False, False, True)
        return outputs, [last[0]]

    def project(self, sequence: torch.Tensor) -> torch.Tensor:
        assert self.kernel is not None
        projected = sequence @ self.kernel
        if self.bias is None:
            return projected
        return projected + (self.bias[0] if self.reset_after else self.bias)  # reset_after: the input bias

    def step(self, projected: torch.Tensor, states: State, mask: torch.Tensor | None) -> State:
        assert self.recurrent_kernel is not None
        h = states[0]
        previous = h if mask is None else h * mask
        x_z, x_r, x_h = projected.chunk(3, dim=-1)
        kernel_z, kernel_r, kernel_h = self.recurrent_kernel.chunk(3, dim=-1)
        if self.reset_after:
            inner = previous @ self.recurrent_kernel
            if self.bias is not None:
                inner = inner + self.bias[1]
            inner_z, inner_r, inner_h = inner.chunk(3, dim=-1)
            z, r = self.recurrent_activation(x_z + inner_z), self.recurrent_activation(x_r + inner_r)
            candidate = self.activation(x_h + r * inner_h)
        else:
            z = self.recurrent_activation(x_z + previous @ kernel_z)
            r = self.recurrent_activation(x_r + previous @ kernel_r)
            candidate = self.activation(x_h + (r * previous) @ kernel_h)
        return [z * h + (1 - z) * candidate]

    def gate_config(self) -> dict[str, Any]:
        return {"recurrent_activation": activations.name_of(self.recurrent_activation)}

    def cell_config(self) -> dict[str, Any]:
        return {"reset_after": self.reset_after}
