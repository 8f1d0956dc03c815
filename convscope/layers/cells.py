"""Keras's recurrent cells and the RNN layer that runs them over a sequence.

A cell is one step: `SimpleRNNCell`, `LSTMCell` and `GRUCell` hold the same weights (kernel,
recurrent_kernel, bias, in Keras's layout and gate order) and compute the same equations as
SimpleRNN, LSTM and GRU, whose maths they share. `StackedRNNCells` chains cells: each step feeds
one cell's output to the next. `RNN(cell)` runs a cell (or a list of cells, stacked) over
(batch, steps, features) sequences with Keras's return_sequences, return_state, go_backwards,
masks and initial_state; one cell that torch's fused kernel computes exactly (as for LSTM, GRU
and SimpleRNN) runs there, anything else step by step.

    >>> RNN(LSTMCell(32))                              # the same layer as LSTM(32)
    >>> RNN([LSTMCell(32), GRUCell(16)], return_sequences=True)  # (N, T, F) -> (N, T, 16)
    >>> output, states = LSTMCell(8)(x_t, [h, c])      # one step: x_t (N, F) -> (N, 8), [h, c]
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from convscope.layers.base import Layer, WeightSlot, snake_case
from convscope.layers.input_spec import Shape
from convscope.layers.multi_output import MultiOutputLayer
from convscope.layers.recurrent import GRU, LSTM, Recurrent, SimpleRNN, State

SEQUENCE_ARGUMENTS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll",
                      "zero_output_for_mask")


class Cell(Recurrent):
    """What the three cells share: a step on (batch, features) inputs and the states, and a
    config without the sequence arguments (those belong to `RNN`)."""

    input_rank = 2
    config_has_seed = True

    def __init__(self, units: int, **kwargs: Any) -> None:
        given = sorted(set(kwargs) & set(SEQUENCE_ARGUMENTS))
        if given:
            raise ValueError(f"{type(self).__name__}: {', '.join(given)} belong to the layer that runs the cell; "
                             f"write RNN({type(self).__name__}({units}), {given[0]}=...).")
        super().__init__(units, **kwargs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], self.units)

    @property
    def output_count(self) -> int:
        return 1

    def symbolic_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"{self.label}: a cell computes one step on tensors; in a model, run it over a "
                         f"sequence with layers.RNN({type(self).__name__}(...)).")

    def forward(self, inputs: Any, states: Any = None, training: bool | None = None) -> Any:  # type: ignore[override]
        """One step: `inputs` (batch, features) and `states` (LSTM [h, c], else [h] or h; zeros
        when None) -> (output, new states), the states as they came (a list, or one tensor)."""
        inputs = torch.as_tensor(inputs, dtype=torch.float32) if not isinstance(inputs, torch.Tensor) else inputs
        if inputs.dim() != 2:
            raise ValueError(f"{self.label}: a cell takes one step, (batch, features); got shape "
                             f"{tuple(inputs.shape)}. Run sequences with layers.RNN({type(self).__name__}(...)).")
        self.check_input(inputs)
        listed = isinstance(states, (list, tuple)) or states is None
        given = [inputs.new_zeros(inputs.shape[0], self.units)] * self.states if states is None else \
            [torch.as_tensor(state, dtype=inputs.dtype) for state in self.initial_states(states, inputs.shape[0])]
        new = self.step(self.project(inputs), given, None)
        return new[0], (new if listed else new[0])

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        for key in SEQUENCE_ARGUMENTS:
            config.pop(key, None)
        return config


class SimpleRNNCell(Cell, SimpleRNN):
    """One step of SimpleRNN: h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias).

    (batch, features) and [h] -> (batch, units) and [h]. Weights as SimpleRNN's.

    >>> RNN(SimpleRNNCell(16))
    """

    config_has_seed = True


class LSTMCell(Cell, LSTM):
    """One step of LSTM (Keras's equations, gates i, f, c, o).

    (batch, features) and [h, c] -> (batch, units) and [h, c]. Weights as LSTM's.

    >>> RNN(LSTMCell(32), return_sequences=True)
    """


class GRUCell(Cell, GRU):
    """One step of GRU (Keras's equations, gates z, r, h; reset_after=True by default).

    (batch, features) and [h] -> (batch, units) and [h]. Weights as GRU's.

    >>> RNN(GRUCell(32))
    """


def cell_of(owner: str, value: Any) -> Cell:
    """`value` as a cell: a SimpleRNNCell/LSTMCell/GRUCell or its {"class_name", "config"}."""
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        kinds: dict[str, type[Cell]] = {kind.__name__: kind for kind in (SimpleRNNCell, LSTMCell, GRUCell)}
        kind = kinds.get(str(value.get("class_name")))
        if kind is None:
            raise ValueError(f"{owner}: unknown cell {value.get('class_name')!r}; convscope has SimpleRNNCell, "
                             "LSTMCell and GRUCell.")
        value = kind.from_config(dict(value["config"]))
    if not isinstance(value, Cell):
        raise ValueError(f"{owner}: a cell must be SimpleRNNCell, LSTMCell or GRUCell (or a list of them); got "
                         f"{type(value).__name__}. For a whole layer use e.g. layers.LSTM(32) instead of RNN.")
    return value


def group_names(cells: list[Cell]) -> list[str]:
    """Keras's group of each cell in a weights file: its class in snake case, numbered when repeated."""
    used: dict[str, int] = {}
    names = []
    for cell in cells:
        base = snake_case(type(cell).__name__)
        used[base] = used.get(base, -1) + 1
        names.append(base if used[base] == 0 else f"{base}_{used[base]}")
    return names


class StackedRNNCells(Layer):
    """Cells run one after another at each step: a cell's output is the next cell's input.
    The states are each cell's, in order; weights likewise.

    >>> RNN(StackedRNNCells([LSTMCell(32), LSTMCell(32)]))  # as RNN([LSTMCell(32), LSTMCell(32)])

    Raises:
        ValueError: for an empty list or an entry that is not a cell.
    """

    def __init__(self, cells: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "StackedRNNCells" if self.auto_named else self.label
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"{owner}: cells must be a non-empty list of cells, e.g. [LSTMCell(32), LSTMCell(32)].")
        self.cells = torch.nn.ModuleList([cell_of(owner, cell) for cell in cells])
        taken: set[str] = set()
        for cell in self.cell_list:  # weights are named <cell>/<weight>: one name per cell, as Keras's counters give
            if cell.name in taken:
                cell.name = next(f"{cell.name}_{number}" for number in range(1, len(taken) + 2)
                                 if f"{cell.name}_{number}" not in taken)
            taken.add(cell.name)

    @property
    def cell_list(self) -> list[Cell]:
        return list(self.cells)  # type: ignore[arg-type]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cells": [
            {"module": "keras.layers", "class_name": type(cell).__name__, "config": cell.get_config(),
             "registered_name": None} for cell in self.cell_list]}


class RNN(MultiOutputLayer):
    """Runs `cell` over (batch, steps, features) sequences, as Keras's RNN layer: the output of
    the last step (batch, units), or of every step with return_sequences (batch, steps, units);
    return_state adds the last states (LSTMCell h and c; a stack lists each cell's in order). A
    list of cells is a StackedRNNCells. Masks, go_backwards, zero_output_for_mask and a call's
    initial_state work as in SimpleRNN, LSTM and GRU.

    Weights: the cell's (each cell's in order for a stack), under the RNN's "cell" in Keras files.

    >>> RNN(LSTMCell(32))  # (N, T, F) -> (N, 32), the same as LSTM(32)

    Raises:
        ValueError: for a cell that is not SimpleRNNCell/LSTMCell/GRUCell/StackedRNNCells,
            stateful=True, or return_state with stacked cells (Keras nests those states).
    """

    supports_masking = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "RNN" if self.auto_named else self.label
        if isinstance(cell, dict) and cell.get("class_name") == "StackedRNNCells":
            cell = StackedRNNCells.from_config(dict(cell.get("config") or {}))
        elif isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        self.cell: Cell | StackedRNNCells = cell if isinstance(cell, StackedRNNCells) else cell_of(owner, cell)
        if stateful:
            raise ValueError(f"{owner}: stateful=True is not supported: convscope's recurrent layers start every "
                             "batch from zero states. Use stateful=False (feed whole sequences).")
        if return_state and isinstance(self.cell, StackedRNNCells):
            raise ValueError(f"{owner}: return_state with stacked cells is not supported (Keras returns each "
                             "cell's states as a nested list). Use one RNN per cell, each with return_state=True.")
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.stateful, self.unroll = bool(go_backwards), False, bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.loop_warned = False

    @property
    def cells(self) -> list[Cell]:
        return self.cell.cell_list if isinstance(self.cell, StackedRNNCells) else [self.cell]

    # -- shapes and weights -------------------------------------------------------------------
    def state_sizes(self) -> list[int]:
        return [size for cell in self.cells for size in cell.state_sizes()]

    def state_names(self) -> str:
        return " then ".join(f"{cell.label}'s {cell.state_names()}" for cell in self.cells)

    def output_shapes(self, input_shape: Shape) -> list[Shape]:
        batch, steps, units = input_shape[0], input_shape[1], self.cells[-1].units
        output = (batch, steps, units) if self.return_sequences else (batch, units)
        return [output, *[(batch, size) for size in self.state_sizes()]] if self.return_state else [output]

    def build_weights(self, input_shape: Shape) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{self.label}: the last axis (features) of the input must be known; got shape "
                             f"{tuple(input_shape)}.")
        for cell in self.cells:
            cell.build((input_shape[0], features))
            features = cell.units
        self.cell.built = True

    def keras_weights(self) -> list[WeightSlot]:
        prefix = f"{self.cell.name}/" if isinstance(self.cell, StackedRNNCells) else ""
        return [(f"{prefix}{cell.name}/{name}", tensor, order)
                for cell in self.cells for name, tensor, order in cell.keras_weights()]

    def keras_var_groups(self) -> list[tuple[str, int]]:
        """Where Keras 3's weights file holds the weights: cell, or cell/cells/<cell> for a stack."""
        if not isinstance(self.cell, StackedRNNCells):
            return [("cell", len(self.cell.keras_weights()))]
        return [(f"cell/cells/{group}", len(cell.keras_weights()))
                for cell, group in zip(self.cells, group_names(self.cells))]

    def regularization_penalty(self) -> torch.Tensor | None:
        terms = [term for term in (self.activity_penalty, *(cell.regularization_penalty() for cell in self.cells))
                 if term is not None]
        return sum(terms[1:], terms[0]) if terms else None

    @torch.no_grad()
    def apply_constraints(self) -> None:
        for cell in self.cells:
            cell.apply_constraints()

    # -- the forward pass -----------------------------------------------------------------------
    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        output_mask = mask if self.return_sequences else None
        return [output_mask, *[None] * len(self.state_sizes())] if self.return_state else output_mask

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None, initial_state: State | None = None) -> Any:
        cells = self.cells
        sequence = inputs.flip(1) if self.go_backwards else inputs
        if mask is not None:
            mask = (mask.flip(1) if self.go_backwards else mask).bool()  # (N, T): True where a step is real
        batch = inputs.shape[0]
        flat = initial_state or [inputs.new_zeros(batch, size) for size in self.state_sizes()]
        states, start = [], 0
        for cell in cells:  # each cell's share of the flat list
            states.append(list(flat[start:start + cell.states]))
            start += cell.states
        if len(cells) == 1 and mask is None and cells[0].fused() and not (self.training and cells[0].dropout > 0):
            outputs, last = cells[0].fused_call(sequence, states[0])
            new_states = [last]
        else:
            self.warn_loop(mask)
            outputs, new_states = self.loop(sequence, states, mask)
        output = outputs if self.return_sequences else outputs[:, -1]
        flat_states = [state for cell_states in new_states for state in cell_states]
        return [output, *flat_states] if self.return_state else output

    def warn_loop(self, mask: torch.Tensor | None) -> None:
        if self.loop_warned:
            return
        self.loop_warned = True
        reasons = ["stacked cells"] if len(self.cells) > 1 else self.cells[0].loop_reasons()
        why = ", ".join(reasons + (["a mask"] if mask is not None else [])) or "this configuration"
        warnings.warn(f"{self.label}: {why} has no fused torch kernel, so the layer runs its cells step by step "
                      "(about 2-5x slower on a CPU).", stacklevel=4)

    def dropout_masks(self, like: torch.Tensor, rate: float) -> torch.Tensor | None:
        """One mask per sequence, as Keras's cells keep it (None outside training or at rate 0)."""
        if not self.training or rate <= 0:
            return None
        return torch.bernoulli(torch.full_like(like, 1 - rate)) / (1 - rate)

    def loop(self, sequence: torch.Tensor, states: list[State],
             steps_mask: torch.Tensor | None) -> tuple[torch.Tensor, list[State]]:
        """Keras's step loop over the cells; where `steps_mask` (N, T) is False a step keeps the
        states and outputs the previous output (zeros with zero_output_for_mask)."""
        cells = self.cells
        input_masks = [self.dropout_masks(sequence[:, 0] if index == 0 else states[index - 1][0], cell.dropout)
                       for index, cell in enumerate(cells)]
        recurrent_masks = [self.dropout_masks(states[index][0], cell.recurrent_dropout)
                           for index, cell in enumerate(cells)]
        outputs = []
        output = zeros = sequence.new_zeros(sequence.shape[0], cells[-1].units)
        for step in range(sequence.shape[1]):
            value, stepped = sequence[:, step], []
            for cell, cell_states, input_mask, recurrent_mask in zip(cells, states, input_masks, recurrent_masks):
                new = cell.step(cell.project(value if input_mask is None else value * input_mask), cell_states,
                                recurrent_mask)
                stepped.append(new)
                value = new[0]
            if steps_mask is None:
                states = stepped
                outputs.append(value)
                continue
            real = steps_mask[:, step, None]  # (N, 1)
            states = [[torch.where(real, new, old) for new, old in zip(fresh, kept)]
                      for fresh, kept in zip(stepped, states)]
            output = torch.where(real, value, zeros if self.zero_output_for_mask else output)
            outputs.append(output)
        return torch.stack(outputs, 1), states

    # -- configuration --------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        cell = self.cell
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask,
                "cell": {"module": "keras.layers", "class_name": type(cell).__name__, "config": cell.get_config(),
                         "registered_name": None}}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, cells={[type(cell).__name__ for cell in self.cells]}"
