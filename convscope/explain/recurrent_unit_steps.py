"""One unit of a recurrent layer at one time step, worked out gate by gate.

For a SimpleRNN, LSTM or GRU, `recurrent_steps` shows how unit j's new state at step t is made:
each gate's input part (x_t . kernel column), recurrent part (h_{t-1} . recurrent_kernel
column), bias, pre-activation and activation, then the new cell (LSTM) and hidden values, and
the engine's own values for the same step and unit. The arithmetic is float64 NumPy
(`convscope.explain.reference.recurrent`, Keras's equations and weight layout); the previous
state comes from running those equations over the steps before t.

Example (no model needed):
    >>> steps = recurrent_steps_from_arrays("SimpleRNN", [[1.0], [2.0]], [[0.5]], [[1.0]], [0.0],
    ...                                     step=1, unit=0, activation="linear")
    >>> steps.hidden
    1.5
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from convscope.explain.numbers import count_text, number
from convscope.explain.reference import recurrent as reference
from convscope.explain.steps import TOLERANCE, agree

RECURRENT_KINDS = ("SimpleRNN", "LSTM", "GRU")
GATE_TITLES = {
    ("SimpleRNN", "h"): "the new state", ("LSTM", "i"): "input gate", ("LSTM", "f"): "forget gate",
    ("LSTM", "c"): "candidate cell value", ("LSTM", "o"): "output gate", ("GRU", "z"): "update gate",
    ("GRU", "r"): "reset gate", ("GRU", "h"): "candidate state",
}


@dataclass(frozen=True)
class GateSteps:
    """One gate of one unit: activation(input part + recurrent part + bias).

    `inputs` is x_t (features,) and `input_weights` the kernel column; `previous` is h_{t-1}
    (units,) and `recurrent_weights` the recurrent_kernel column. For a GRU's candidate with
    reset_after=True, `reset` is r_j and the recurrent part plus `recurrent_bias` is multiplied by
    it; with reset_after=False, `previous` is already r * h_{t-1}.
    """

    gate: str
    title: str
    column: int
    inputs: np.ndarray = field(repr=False)
    input_weights: np.ndarray = field(repr=False)
    previous: np.ndarray = field(repr=False)
    recurrent_weights: np.ndarray = field(repr=False)
    bias: float
    activation: str
    pre_activation: float
    value: float
    recurrent_bias: float | None = None
    reset: float | None = None
    reset_gates: np.ndarray | None = field(default=None, repr=False)  # GRU reset_after=False: r of every unit
    previous_state: np.ndarray | None = field(default=None, repr=False)  # and h_{t-1}; previous = r * h_{t-1}

    @property
    def reset_before(self) -> bool:
        return self.reset_gates is not None

    @property
    def symbol(self) -> str:
        """How the text names the gate's value: i, f, o, z, r, or c~ / h~ for a candidate."""
        return f"{self.gate}~" if self.title.startswith("candidate") else self.gate

    @property
    def input_part(self) -> float:
        return float(self.inputs @ self.input_weights)

    @property
    def recurrent_part(self) -> float:
        return float(self.previous @ self.recurrent_weights)

    def lines(self, max_terms: int) -> list[str]:
        """The gate's arithmetic, one line per part."""
        state = "(r*h_{t-1})" if self.reset_before else "h_{t-1}"
        units = len(self.previous)
        block, unit = divmod(self.column, units)
        where = f"gate block {block} x {units} units + unit {unit}" if block else f"unit {unit} (gate block 0)"
        column = f"[:, {self.column}]"
        lines = [f"Gate {self.symbol} ({self.title}): kernel column {self.column} = {where}",
                 f"  input part     = x_t . kernel{column} = {sum_text(self.input_weights, self.inputs, max_terms)}"
                 f" = {number(self.input_part)}"]
        if self.reset_gates is not None and self.previous_state is not None and self.previous.any():
            lines.append("  r*h_{t-1}      = every unit's reset gate times its previous state = " + ", ".join(
                f"{number(r)}*{number(h)}" for r, h in zip(self.reset_gates[:max_terms], self.previous_state))
                + (", ..." if len(self.reset_gates) > max_terms else ""))
        if not self.previous.any():
            lines.append(f"  recurrent part = {state} . recurrent_kernel{column} = 0 ({state} is all zeros)")
        else:
            lines.append(f"  recurrent part = {state} . recurrent_kernel{column} = "
                         f"{sum_text(self.recurrent_weights, self.previous, max_terms)} = {number(self.recurrent_part)}")
        if self.reset is None:
            bias = number(self.bias) if self.recurrent_bias is None else \
                f"{number(self.bias)} + {number(self.recurrent_bias)} (input and recurrent bias)"
            lines.append(f"  bias           = {bias}")
            lines.append(f"  pre-activation = {number(self.input_part)} + {number(self.recurrent_part)} + "
                         f"{number(self.bias + (self.recurrent_bias or 0.0))} = {number(self.pre_activation)}")
        else:
            lines.append(f"  bias           = {number(self.bias)} (input), {number(self.recurrent_bias or 0.0)} (recurrent)")
            lines.append(f"  pre-activation = input part + bias + r * (recurrent part + recurrent bias) = "
                         f"{number(self.input_part)} + {number(self.bias)} + {number(self.reset)} * "
                         f"({number(self.recurrent_part)} + {number(self.recurrent_bias or 0.0)}) = "
                         f"{number(self.pre_activation)}")
        lines.append(f"  {self.symbol} = {self.activation}({number(self.pre_activation)}) = {number(self.value)}")
        return lines


def sum_text(weights: np.ndarray, values: np.ndarray, max_terms: int) -> str:
    """(w*x)+(w*x)+...; with more than `max_terms` terms, the largest and the others' total."""
    products = weights * values
    order = np.arange(len(products))
    if len(products) > max_terms:
        order = np.sort(np.argsort(-np.abs(products), kind="stable")[:max_terms])
    text = "+".join(f"({number(weights[i])}*{number(values[i])})" for i in order)
    rest = len(products) - len(order)
    if rest:
        text += f" + (other {rest} terms: {number(float(products.sum() - products[order].sum()))})"
    return text


@dataclass(frozen=True)
class RecurrentSteps:
    """How unit `unit` of a recurrent layer gets its new state at step `step` (0-based, in the
    order the layer computes: with go_backwards step 0 reads the last input step)."""

    layer: str
    kind: str
    step: int
    steps: int
    input_step: int
    unit: int
    units: int
    features: int
    gates: list[GateSteps]
    activation: str
    previous_hidden: float
    hidden: float
    previous_cell: float | None = None
    cell: float | None = None
    go_backwards: bool = False
    reset_after: bool = True
    engine_hidden: float | None = None
    engine_cell: float | None = None

    @property
    def agrees(self) -> bool:
        """Whether the engine's hidden (and cell) value matches ours."""
        cell_agrees = self.cell is None or agree(self.cell, self.engine_cell)
        return agree(self.hidden, self.engine_hidden) and cell_agrees

    def gate(self, name: str) -> GateSteps:
        return next(gate for gate in self.gates if gate.gate == name)

    def text(self, max_terms: int = 8) -> str:
        """The step as the course notes write it; sums longer than `max_terms` terms show the
        largest terms and the total of the others."""
        backwards = ", go_backwards" if self.go_backwards else ""
        lines = [f"{self.kind} '{self.layer}', unit {self.unit} of {self.units}, step {self.step} of "
                 f"{self.steps} (reads input step {self.input_step}{backwards}; {count_text(self.features, 'feature')})",
                 _equations(self.kind, self.reset_after)]
        if self.step == 0:
            lines.append("Previous state: the first step starts from zeros (h_{t-1} = 0"
                         + (", c_{t-1} = 0)" if self.kind == "LSTM" else ")"))
        else:
            cell = "" if self.previous_cell is None else f", c_{{t-1}}[{self.unit}] = {number(self.previous_cell)}"
            lines.append(f"Previous state (after step {self.step - 1}): h_{{t-1}}[{self.unit}] = "
                         f"{number(self.previous_hidden)}{cell}")
            state = self.gates[0].previous
            if len(state) <= max_terms:  # the whole h_{t-1} the recurrent parts read
                lines.append(f"  h_{{t-1}} = ({', '.join(number(value) for value in state)})")
        for gate in self.gates:
            lines.extend(gate.lines(max_terms))
        lines.extend(self._update_lines())
        lines.extend(self._engine_lines())
        return "\n".join(lines)

    def _update_lines(self) -> list[str]:
        j = self.unit
        if self.kind == "SimpleRNN":
            return [f"New hidden: h_t[{j}] = {number(self.hidden)}"]
        if self.kind == "LSTM":
            i, f, c, o = (self.gate(name).value for name in "ifco")
            assert self.cell is not None and self.previous_cell is not None
            return [f"New cell:   c_t[{j}] = f * c_{{t-1}} + i * c~ = {number(f)} * {number(self.previous_cell)} + "
                    f"{number(i)} * {number(c)} = {number(self.cell)}",
                    f"New hidden: h_t[{j}] = o * {self.activation}(c_t) = {number(o)} * "
                    f"{self.activation}({number(self.cell)}) = {number(self.hidden)}"]
        z, candidate = self.gate("z").value, self.gate("h").value
        return [f"New hidden: h_t[{j}] = z * h_{{t-1}} + (1 - z) * h~ = {number(z)} * {number(self.previous_hidden)}"
                f" + {number(1 - z)} * {number(candidate)} = {number(self.hidden)}"]

    def _engine_lines(self) -> list[str]:
        lines = []
        for name, ours, engine in (("h_t", self.hidden, self.engine_hidden), ("c_t", self.cell, self.engine_cell)):
            if ours is not None and engine is not None:
                verdict = "agrees" if agree(ours, engine) else "DISAGREES"
                lines.append(f"Engine {name}[{self.unit}] = {engine:.7g} ({verdict}; tolerance {TOLERANCE:g})")
        return lines

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the numbers of every gate and the new state."""
        gates = [{"gate": gate.gate, "title": gate.title, "column": gate.column, "input_part": gate.input_part,
                  "recurrent_part": gate.recurrent_part, "bias": gate.bias, "recurrent_bias": gate.recurrent_bias,
                  "reset": gate.reset, "pre_activation": gate.pre_activation, "activation": gate.activation,
                  "value": gate.value} for gate in self.gates]
        return {"layer": self.layer, "kind": self.kind, "step": self.step, "steps": self.steps,
                "input_step": self.input_step, "unit": self.unit, "units": self.units, "features": self.features,
                "previous_hidden": self.previous_hidden, "previous_cell": self.previous_cell, "gates": gates,
                "cell": self.cell, "hidden": self.hidden, "engine_hidden": self.engine_hidden,
                "engine_cell": self.engine_cell, "agrees": self.agrees}


def _equations(kind: str, reset_after: bool) -> str:
    if kind == "SimpleRNN":
        return "SimpleRNN: h_t = activation(x_t . kernel + h_{t-1} . recurrent_kernel + bias)"
    if kind == "LSTM":
        return ("LSTM, gates i, f, c, o: each = activation(x_t . kernel + h_{t-1} . recurrent_kernel + bias); "
                "c_t = f * c_{t-1} + i * c~; h_t = o * activation(c_t)")
    reset = ("h~ = activation(x_t . W_h + b_h + r * (h_{t-1} . U_h + recurrent b_h)) (reset_after=True)"
             if reset_after else "h~ = activation(x_t . W_h + (r * h_{t-1}) . U_h + b_h) (reset_after=False)")
    return f"GRU, gates z, r, h: z, r = recurrent_activation(...); {reset}; h_t = z * h_{{t-1}} + (1 - z) * h~"


def _scalar(function: Callable[[np.ndarray], np.ndarray], value: float) -> float:
    return float(np.asarray(function(np.array([value], dtype=np.float64)))[0])


def _biases(kind: str, bias: Any, units: int, reset_after: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(input bias, recurrent bias or None) as flat (gates * units,) vectors."""
    gates = len(reference.GATES[kind])
    if bias is None:
        return np.zeros(gates * units), (np.zeros(gates * units) if kind == "GRU" and reset_after else None)
    bias = np.asarray(bias, dtype=np.float64)
    if kind == "GRU" and reset_after:
        return bias[0], bias[1]
    return bias, None


def recurrent_steps_from_arrays(
    kind: str, sequence: Any, kernel: Any, recurrent_kernel: Any, bias: Any = None, *, step: int | None = None,
    unit: int = 0, activation: reference.Activation = "tanh", recurrent_activation: reference.Activation = "sigmoid",
    reset_after: bool = True, go_backwards: bool = False, layer: str = "", activation_names: tuple[str, str] | None = None,
) -> RecurrentSteps:
    """Work out unit `unit` of a SimpleRNN, LSTM or GRU at `step` (default the last) for one
    sequence (steps, features), with Keras's weights: kernel (features, gates * units),
    recurrent_kernel (units, gates * units), bias (gates * units,) or, for a GRU with
    reset_after, (2, 3 * units).

    Raises:
        ValueError: for an unknown kind, a step or unit out of range, or weights that do not fit.
    """
    if kind not in RECURRENT_KINDS:
        raise ValueError(f"recurrent_steps: kind must be one of {', '.join(RECURRENT_KINDS)}; got {kind!r}.")
    seq = np.asarray(sequence, dtype=np.float64)
    kernel, recurrent_kernel = np.asarray(kernel, np.float64), np.asarray(recurrent_kernel, np.float64)
    if seq.ndim != 2:
        raise ValueError(f"recurrent_steps: expected one sequence (steps, features); got shape {seq.shape}.")
    total, units = seq.shape[0], recurrent_kernel.shape[0]
    step = total - 1 if step is None else int(step)
    if not 0 <= step < total:
        raise ValueError(f"recurrent_steps: step {step} does not exist; the sequence has {total} steps "
                         f"(0..{total - 1}).")
    if not 0 <= unit < units:
        raise ValueError(f"recurrent_steps: unit {unit} does not exist; the layer has {units} units "
                         f"(0..{units - 1}).")
    act, sigma = reference.activation_function(activation), reference.activation_function(recurrent_activation)
    names = activation_names or (str(activation), str(recurrent_activation))
    processed = seq[::-1] if go_backwards else seq
    reference.check_weights(kind, seq, kernel, recurrent_kernel)
    h_prev, c_prev = np.zeros(units), np.zeros(units)
    if step > 0:  # the state the steps before leave
        _, states = reference.recurrent_run(kind, processed[:step], kernel, recurrent_kernel, bias, activation=act,
                                            recurrent_activation=sigma, reset_after=reset_after)
        h_prev, c_prev = states[0], states[-1]
    x = processed[step]
    input_bias, recurrent_bias = _biases(kind, bias, units, reset_after)
    gates: list[GateSteps] = []
    for index, gate in enumerate(reference.GATES[kind]):
        column = index * units + unit
        candidate = kind == "SimpleRNN" or gate in ("c", "h")
        function, name = (act, names[0]) if candidate else (sigma, names[1])
        previous, reset, r_all = h_prev, None, None
        if kind == "GRU" and gate == "h" and not reset_after:  # r of every unit scales h_{t-1} first
            r_all = sigma(x @ kernel[:, units:2 * units] + input_bias[units:2 * units]
                          + h_prev @ recurrent_kernel[:, units:2 * units])
            previous = r_all * h_prev
        recurrent = float(previous @ recurrent_kernel[:, column])
        if kind == "GRU" and gate == "h" and reset_after:
            assert recurrent_bias is not None
            reset = gates[1].value
            pre = float(x @ kernel[:, column]) + input_bias[column] + reset * (recurrent + recurrent_bias[column])
        else:
            extra = 0.0 if recurrent_bias is None else recurrent_bias[column]
            pre = float(x @ kernel[:, column]) + input_bias[column] + recurrent + extra
        gates.append(GateSteps(
            gate=gate, title=GATE_TITLES[(kind, gate)], column=column, inputs=x, input_weights=kernel[:, column],
            previous=previous, recurrent_weights=recurrent_kernel[:, column], bias=float(input_bias[column]),
            activation=name, pre_activation=float(pre), value=_scalar(function, float(pre)),
            recurrent_bias=None if recurrent_bias is None else float(recurrent_bias[column]), reset=reset,
            **({"reset_gates": r_all, "previous_state": h_prev} if previous is not h_prev else {})))
    values = {gate.gate: gate.value for gate in gates}
    cell = None
    if kind == "SimpleRNN":
        hidden = values["h"]
    elif kind == "LSTM":
        cell = values["f"] * float(c_prev[unit]) + values["i"] * values["c"]
        hidden = values["o"] * _scalar(act, cell)
    else:
        hidden = values["z"] * float(h_prev[unit]) + (1 - values["z"]) * values["h"]
    return RecurrentSteps(
        layer=layer, kind=kind, step=step, steps=total, input_step=total - 1 - step if go_backwards else step,
        unit=int(unit), units=units, features=seq.shape[1], gates=gates, activation=names[0],
        previous_hidden=float(h_prev[unit]), hidden=float(hidden),
        previous_cell=float(c_prev[unit]) if kind == "LSTM" else None, cell=cell,
        go_backwards=go_backwards, reset_after=reset_after)


def _torch_function(function: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A layer's torch activation applied to float64 NumPy values."""
    import torch

    def apply(values: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return function(torch.from_numpy(np.asarray(values, dtype=np.float64))).numpy()

    return apply


def engine_state(layer: Any, sequence: Any, step: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The engine's h (and an LSTM's c) after `step` + 1 steps of `sequence` (1, steps, features):
    a copy of the layer (same config and weights, return_state=True) run on the steps read so far."""
    import torch

    config = {**layer.get_config(), "return_state": True, "return_sequences": False}
    copy = type(layer).from_config(config)
    copy.build((None, None, sequence.shape[-1]))  # any number of steps
    copy.set_weights(layer.get_weights())
    copy.eval()
    total = sequence.shape[1]
    read = sequence[:, total - 1 - step:] if config.get("go_backwards") else sequence[:, :step + 1]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a slow-path warning is the layer's own to give, not its copy's
        _, *states = copy(read)
    h = states[0][0].double().numpy()
    return h, states[1][0].double().numpy() if len(states) > 1 else None


def _refuse_masked_steps(model: Any, example: Any, node: Any) -> None:
    """Refuse an example whose padding a Masking or Embedding(mask_zero=True) layer before the
    recurrent layer masks: a masked step keeps the previous state, which these steps do not show."""
    from convscope.explain import _model

    for before in _model.graph_nodes(model)[:node.index]:
        if not getattr(before.layer, "makes_masks", False):
            continue
        inputs, _ = _model.layer_input(model, example, before.index)
        mask = before.layer.compute_mask(inputs, None)
        if mask is not None and not bool(mask.all()):
            masked = [int(step) for step in np.flatnonzero(~mask[0].numpy())]
            raise ValueError(
                f"recurrent_steps: {node.kind} {node.name!r} reads a mask from {before.kind} {before.name!r}, and "
                f"this example's steps {', '.join(map(str, masked))} are masked (padding); a masked step keeps the "
                "previous state, which these steps do not work out. Fix: explain an example without padding, or "
                "its real steps alone (x[:n]) with a model built for any number of steps.")


def recurrent_steps(model: Any, example: Any, *, layer: Any = None, step: int | None = None,
                    unit: int = 0) -> RecurrentSteps:
    """Work out one unit of a model's SimpleRNN, LSTM or GRU layer (default the first) at one
    time step (default the last) for one example, from the layer's real input and weights.

    Args:
        model: a Sequential, a functional Model or a list of layers.
        example: one input, e.g. (steps, features) (a batch of one also works).
        layer: name, index or layer object.
        step: 0-based, in the order the layer computes (with go_backwards, step 0 reads the last
            input step).
        unit: which unit of the hidden state.

    Returns:
        RecurrentSteps with `engine_hidden` (and `engine_cell` for an LSTM) set to what the
        layer itself computes after that step.

    Raises:
        ValueError: for a missing layer, a step or unit out of range, or an example with steps
            masked by a Masking or Embedding(mask_zero=True) layer before the recurrent layer.
    """
    from convscope.explain import _model

    node = _model.find_node(model, layer, RECURRENT_KINDS)
    rnn = node.layer
    config = _model.config_of(rnn)
    _model.eval_mode(model)
    _refuse_masked_steps(model, example, node)
    inputs, _ = _model.layer_input(model, example, node.index)
    weights = [np.asarray(weight, np.float64) for weight in rnn.get_weights()]
    recurrent_activation = getattr(rnn, "recurrent_activation", None)
    steps = recurrent_steps_from_arrays(
        node.kind, inputs[0].numpy(), weights[0], weights[1], weights[2] if len(weights) > 2 else None,
        step=step, unit=unit, activation=_torch_function(rnn.activation),
        recurrent_activation=_torch_function(recurrent_activation) if recurrent_activation else "sigmoid",
        reset_after=bool(config.get("reset_after", True)), go_backwards=bool(config.get("go_backwards")),
        layer=node.name,
        activation_names=(str(config.get("activation", "tanh")), str(config.get("recurrent_activation", "sigmoid"))),
    )
    h, c = engine_state(rnn, inputs, steps.step)
    return replace(steps, engine_hidden=float(h[unit]), engine_cell=None if c is None else float(c[unit]))
