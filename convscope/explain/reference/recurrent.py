"""Reference recurrent cells (SimpleRNN, LSTM, GRU) and a whole-sequence run; pure NumPy.

The equations and the weight layout are Keras's. For `units` = u and `features` = n:
kernel W (n, gates * u), recurrent_kernel U (u, gates * u), bias b (gates * u,), the gate
blocks side by side along the last axis (LSTM: i, f, c, o; GRU: z, r, h). Column
`g * u + j` of W and U, and entry `g * u + j` of b, belong to unit j of gate g.

SimpleRNN::

    h_t = activation(x_t W + h_{t-1} U + b)

LSTM (sigma = recurrent_activation, sigmoid by default; activation tanh by default)::

    i = sigma(x_t W_i + h_{t-1} U_i + b_i)      input gate
    f = sigma(x_t W_f + h_{t-1} U_f + b_f)      forget gate
    g = activation(x_t W_c + h_{t-1} U_c + b_c) candidate cell value
    o = sigma(x_t W_o + h_{t-1} U_o + b_o)      output gate
    c_t = f * c_{t-1} + i * g
    h_t = o * activation(c_t)

GRU with reset_after=True (Keras's default; bias (2, 3u): row 0 the input bias, row 1 the
recurrent bias)::

    z = sigma(x_t W_z + b0_z + h_{t-1} U_z + b1_z)     update gate
    r = sigma(x_t W_r + b0_r + h_{t-1} U_r + b1_r)     reset gate
    candidate = activation(x_t W_h + b0_h + r * (h_{t-1} U_h + b1_h))
    h_t = z * h_{t-1} + (1 - z) * candidate

GRU with reset_after=False (bias (3u,)): z and r as above with one bias, and
candidate = activation(x_t W_h + b_h + (r * h_{t-1}) U_h).

Every sequence starts from zero states. With go_backwards the steps are read last to first and
the outputs stay in the order they were computed (Keras does not reverse them back).

Example:
    >>> simple_rnn_step([1.0], [0.5], [[2.0]], [[1.0]], [0.0], activation="linear")
    array([2.5])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Activation = str | Callable[[np.ndarray], np.ndarray]
GATES = {"SimpleRNN": ("h",), "LSTM": ("i", "f", "c", "o"), "GRU": ("z", "r", "h")}


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x / 6.0 + 0.5, 0.0, 1.0)  # Keras 3: relu6(x + 3) / 6


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "hard_sigmoid": _hard_sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "linear": lambda x: x,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
}


def activation_function(activation: Activation) -> Callable[[np.ndarray], np.ndarray]:
    """A NumPy activation by Keras name (tanh, sigmoid, hard_sigmoid, relu, linear, softsign),
    or the callable itself.

    Raises:
        ValueError: for a name not listed.
    """
    if callable(activation):
        return activation
    if activation not in ACTIVATIONS:
        raise ValueError(f"recurrent reference: activation {activation!r} is not one of "
                         f"{', '.join(ACTIVATIONS)}. Fix: pass one of them or a NumPy function.")
    return ACTIVATIONS[activation]


def _array(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def check_weights(kind: str, x: np.ndarray, kernel: np.ndarray, recurrent_kernel: np.ndarray) -> int:
    """units, after checking that the weights fit x (..., features) and the kind's gates.

    Raises:
        ValueError: naming the shapes expected and got.
    """
    gates = len(GATES[kind])
    units = recurrent_kernel.shape[0] if recurrent_kernel.ndim == 2 else -1
    if kernel.ndim != 2 or kernel.shape != (x.shape[-1], gates * units) or recurrent_kernel.shape != (units, gates * units):
        raise ValueError(f"{kind} reference: expected kernel (features, {gates} * units) and recurrent_kernel "
                         f"(units, {gates} * units) for x with {x.shape[-1]} features; got kernel {kernel.shape}, "
                         f"recurrent_kernel {recurrent_kernel.shape}.")
    return int(units)


def simple_rnn_step(x: object, h: object, kernel: object, recurrent_kernel: object, bias: object | None = None,
                    activation: Activation = "tanh") -> np.ndarray:
    """One SimpleRNN step: activation(x W + h U + b). x (features,), h (units,) -> (units,)."""
    x, h, kernel, recurrent_kernel = _array(x), _array(h), _array(kernel), _array(recurrent_kernel)
    check_weights("SimpleRNN", x, kernel, recurrent_kernel)
    total = x @ kernel + h @ recurrent_kernel
    return activation_function(activation)(total if bias is None else total + _array(bias))


def lstm_step(x: object, h: object, c: object, kernel: object, recurrent_kernel: object, bias: object | None = None,
              activation: Activation = "tanh",
              recurrent_activation: Activation = "sigmoid") -> tuple[np.ndarray, np.ndarray]:
    """One LSTM step, gates i, f, c, o: x (features,), h and c (units,) -> (h_t, c_t)."""
    x, h, c, kernel, recurrent_kernel = _array(x), _array(h), _array(c), _array(kernel), _array(recurrent_kernel)
    check_weights("LSTM", x, kernel, recurrent_kernel)
    act, sigma = activation_function(activation), activation_function(recurrent_activation)
    total = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        total = total + _array(bias)
    i, f, g, o = np.split(total, 4)
    c_new = sigma(f) * c + sigma(i) * act(g)
    return sigma(o) * act(c_new), c_new


def gru_step(x: object, h: object, kernel: object, recurrent_kernel: object, bias: object | None = None,
             activation: Activation = "tanh", recurrent_activation: Activation = "sigmoid",
             reset_after: bool = True) -> np.ndarray:
    """One GRU step, gates z, r, h: x (features,), h (units,) -> h_t (units,). With reset_after
    the bias is (2, 3 * units) (input row, recurrent row), else (3 * units,)."""
    x, h, kernel, recurrent_kernel = _array(x), _array(h), _array(kernel), _array(recurrent_kernel)
    units = check_weights("GRU", x, kernel, recurrent_kernel)
    act, sigma = activation_function(activation), activation_function(recurrent_activation)
    zeros = np.zeros(3 * units)
    if bias is None:
        input_bias, recurrent_bias = zeros, zeros
    elif reset_after:
        input_bias, recurrent_bias = _array(bias)[0], _array(bias)[1]
    else:
        input_bias, recurrent_bias = _array(bias), zeros
    x_z, x_r, x_h = np.split(x @ kernel + input_bias, 3)
    kernel_z, kernel_r, kernel_h = np.split(recurrent_kernel, 3, axis=1)
    if reset_after:
        inner_z, inner_r, inner_h = np.split(h @ recurrent_kernel + recurrent_bias, 3)
        z, r = sigma(x_z + inner_z), sigma(x_r + inner_r)
        candidate = act(x_h + r * inner_h)
    else:
        z, r = sigma(x_z + h @ kernel_z), sigma(x_r + h @ kernel_r)
        candidate = act(x_h + (r * h) @ kernel_h)
    return z * h + (1 - z) * candidate


def recurrent_run(kind: str, sequence: object, kernel: object, recurrent_kernel: object,
                  bias: object | None = None, *, activation: Activation = "tanh",
                  recurrent_activation: Activation = "sigmoid", reset_after: bool = True,
                  go_backwards: bool = False) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run a SimpleRNN, LSTM or GRU over one sequence (steps, features) from zero states.

    Returns:
        (outputs, states): h after every step (steps, units), in the order computed (with
        go_backwards, row 0 is the step that read the last input); the last states [h] or, for
        an LSTM, [h, c]. Keras's return_sequences=True output is `outputs`, False `outputs[-1]`.

    Raises:
        ValueError: for an unknown kind or weights that do not fit the sequence.

    >>> outputs, [h] = recurrent_run("SimpleRNN", [[1.0], [1.0]], [[1.0]], [[0.5]], activation="linear")
    >>> outputs[:, 0]
    array([1. , 1.5])
    """
    if kind not in GATES:
        raise ValueError(f"recurrent_run: kind must be one of {', '.join(GATES)}; got {kind!r}.")
    sequence = _array(sequence)
    if sequence.ndim != 2:
        raise ValueError(f"recurrent_run: expected one sequence (steps, features); got shape {sequence.shape}.")
    units = _array(recurrent_kernel).shape[0]
    h, c = np.zeros(units), np.zeros(units)
    outputs = []
    for x in sequence[::-1] if go_backwards else sequence:
        if kind == "SimpleRNN":
            h = simple_rnn_step(x, h, kernel, recurrent_kernel, bias, activation)
        elif kind == "LSTM":
            h, c = lstm_step(x, h, c, kernel, recurrent_kernel, bias, activation, recurrent_activation)
        else:
            h = gru_step(x, h, kernel, recurrent_kernel, bias, activation, recurrent_activation, reset_after)
        outputs.append(h)
    return np.stack(outputs) if outputs else np.zeros((0, units)), [h, c] if kind == "LSTM" else [h]
