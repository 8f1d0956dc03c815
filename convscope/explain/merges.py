"""One output value of a merge layer, worked out from its inputs.

An element-wise merge (Add, Subtract, Multiply, Average, Maximum, Minimum) reads the same cell
of every input: `merge_steps` lists those values, where each came from, and the result, next to
the engine's own value. Concatenate copies: each output channel (or cell along its axis) is one
input's, and `pieces` says which output range comes from which input.

Example (a residual connection's sum at one cell, no model needed):
    >>> steps = merge_steps_from_arrays("Add", [[[1.0, 2.0]], [[0.5, -3.0]]], position=(0,), channel=1,
    ...                                 sources=["conv2d", "conv2d_1"])
    >>> steps.output
    -1.0
    >>> print(steps.text().splitlines()[1])
    2 (conv2d) + -3 (conv2d_1) = -1
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convscope.explain.numbers import number
from convscope.explain.steps import TOLERANCE, agree

ELEMENTWISE = {"Add": "sum", "Subtract": "difference", "Multiply": "product", "Average": "mean",
               "Maximum": "maximum", "Minimum": "minimum"}
MERGE_KINDS = (*ELEMENTWISE, "Concatenate")
SYMBOLS = {"Add": " + ", "Subtract": " - ", "Multiply": " * "}


@dataclass(frozen=True)
class MergeTerm:
    """One input's value at the cell: `source` (the layer it comes from), its `index` there
    (position and channel, after repeating size-1 axes) and the value."""

    source: str
    index: tuple[int, ...]
    value: float


@dataclass(frozen=True)
class ConcatPiece:
    """Output range [start, stop) along the concatenation axis, copied from input `source`."""

    source: str
    start: int
    stop: int

    @property
    def size(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class MergeSteps:
    """How one output cell of a merge layer is computed.

    Attributes:
        operation: "sum", "difference", "product", "mean", "maximum", "minimum" or
            "concatenation".
        position: the output cell's spatial position, e.g. (row, col), () for flat outputs.
        channel: the output channel.
        terms: element-wise: every input's value at the cell; concatenation: the one input the
            cell is copied from.
        pieces: concatenation only: which output range along `axis` comes from which input.
        axis: the concatenation axis of one example (no batch axis), e.g. 2 for channels of (H, W, C).
    """

    layer: str
    kind: str
    operation: str
    position: tuple[int, ...]
    channel: int
    terms: list[MergeTerm]
    output: float
    engine_output: float | None = None
    pieces: list[ConcatPiece] = field(default_factory=list)
    axis: int | None = None

    @property
    def agrees(self) -> bool:
        return agree(self.output, self.engine_output)

    @property
    def difference(self) -> float | None:
        return None if self.engine_output is None else abs(self.output - self.engine_output)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field, `agrees`, `difference` and `text`."""
        import dataclasses

        return {**dataclasses.asdict(self), "agrees": self.agrees, "difference": self.difference,
                "text": self.text()}

    def text(self) -> str:
        """The cell's arithmetic in a few lines: the inputs' values and the result, or for a
        concatenation which input each output range copies."""
        where = ", ".join(str(p) for p in self.position)
        at = f"output position ({where}), channel {self.channel}" if self.position else f"channel {self.channel}"
        lines = [f"{self.kind} '{self.layer}', {at}"]
        if self.operation == "concatenation":
            lines.extend(f"{_range_text(piece.start, piece.stop)} <- {piece.source} (its "
                         f"{_range_text(0, piece.size)})" for piece in self.pieces)
            term = self.terms[0]
            lines.append(f"so this cell is {term.source}'s channel {term.index[-1]} at the same position: "
                         f"{number(term.value)}" if self.axis == len(term.index) - 1
                         else f"so this cell is {term.source}{list(term.index)}: {number(term.value)}")
        else:
            lines.append(f"{self._formula()} = {number(self.output)}")
        lines.append(f"Output = {number(self.output)}")
        if self.engine_output is not None:
            verdict = "agrees" if self.agrees else "DISAGREES"
            lines.append(f"Engine output = {self.engine_output:.7g} ({verdict}; difference {self.difference:.2g}, "
                         f"tolerance {TOLERANCE:g})")
        return "\n".join(lines)

    def _formula(self) -> str:
        values = [f"{number(term.value)} ({term.source})" for term in self.terms]
        if self.kind in SYMBOLS:
            return SYMBOLS[self.kind].join(values)
        if self.kind == "Average":
            return f"({' + '.join(values)}) / {len(values)}"
        return f"{self.operation}({', '.join(values)})"


def _range_text(start: int, stop: int) -> str:
    return f"channel {start}" if stop - start == 1 else f"channels {start}-{stop - 1}"


def _combine(kind: str, values: list[float]) -> float:
    """The element-wise merge of `values`, in float64, as the layer defines it."""
    array = np.asarray(values, dtype=np.float64)
    if kind == "Add":
        return float(array.sum())
    if kind == "Subtract":
        return float(array[0] - array[1])
    if kind == "Multiply":
        return float(np.prod(array))
    if kind == "Average":
        return float(array.mean())
    if kind == "Maximum":
        return float(array.max())
    if kind == "Minimum":
        return float(array.min())
    raise ValueError(f"merge_steps: {kind} is not a merge layer; expected one of {', '.join(MERGE_KINDS)}.")


def _input_index(shape: tuple[int, ...], cell: tuple[int, ...]) -> tuple[int, ...]:
    """Where output `cell` reads an input of `shape`: axes aligned on the right, size-1 axes
    repeated (the merge layers' broadcasting)."""
    offset = len(cell) - len(shape)
    return tuple(0 if size == 1 else cell[offset + axis] for axis, size in enumerate(shape))


def merge_steps_from_arrays(kind: str, inputs: Sequence[Any], *, position: Sequence[int], channel: int = 0,
                            sources: Sequence[str] | None = None, axis: int = -1,
                            layer: str = "arrays") -> MergeSteps:
    """Work out one output cell of merge layer `kind` from its inputs (one example each, no batch
    axis, channels last).

    Args:
        kind: "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum" or "Concatenate".
        inputs: the input arrays, e.g. two (H, W, C).
        position: the output's spatial position, e.g. (row, col); () for flat inputs (units,).
        channel: the output channel (last axis).
        sources: a name for each input (default "input 0", "input 1", ...).
        axis: Concatenate's axis counted without the batch axis (-1: the channels).

    Raises:
        ValueError: for an unknown kind, or a position or channel outside the output.
    """
    arrays = [np.asarray(value, dtype=np.float64) for value in inputs]
    names = list(sources) if sources is not None else [f"input {index}" for index in range(len(arrays))]
    if kind not in MERGE_KINDS or len(arrays) < 2:
        raise ValueError(f"merge_steps: expected a merge layer ({', '.join(MERGE_KINDS)}) and at least two inputs; "
                         f"got {kind} with {len(arrays)}.")
    if kind == "Concatenate":
        rank = arrays[0].ndim
        axis %= rank
        output_shape = list(arrays[0].shape)
        output_shape[axis] = sum(array.shape[axis] for array in arrays)
    else:
        rank = max(array.ndim for array in arrays)
        output_shape = [max(sizes) for sizes in zip(*[(1,) * (rank - a.ndim) + a.shape for a in arrays], strict=True)]
    cell = (*(int(p) for p in position), int(channel))
    if len(cell) != rank or any(not 0 <= p < n for p, n in zip(cell, output_shape, strict=True)):
        raise ValueError(f"merge_steps: position {tuple(position)}, channel {channel} is outside the "
                         f"{tuple(output_shape)} output. Fix: pick 0 <= index < size on each axis.")
    if kind == "Concatenate":
        return _concatenation(arrays, names, cell, axis, layer)
    terms = []
    for name, array in zip(names, arrays, strict=True):
        index = _input_index(array.shape, cell)
        terms.append(MergeTerm(name, index, float(array[index])))
    return MergeSteps(layer, kind, ELEMENTWISE[kind], tuple(cell[:-1]), cell[-1], terms,
                      _combine(kind, [term.value for term in terms]))


def _concatenation(arrays: list[np.ndarray], names: list[str], cell: tuple[int, ...], axis: int,
                   layer: str) -> MergeSteps:
    pieces, start = [], 0
    for name, array in zip(names, arrays, strict=True):
        pieces.append(ConcatPiece(name, start, start + int(array.shape[axis])))
        start += int(array.shape[axis])
    piece_index = next(i for i, piece in enumerate(pieces) if piece.start <= cell[axis] < piece.stop)
    piece = pieces[piece_index]
    index = tuple(p - piece.start if a == axis else p for a, p in enumerate(cell))
    value = float(arrays[piece_index][index])
    return MergeSteps(layer, "Concatenate", "concatenation", tuple(cell[:-1]), cell[-1],
                      [MergeTerm(piece.source, index, value)], value, pieces=pieces, axis=axis)


def merge_steps(model: Any, example: Any, *, position: Sequence[int], channel: int = 0,
                layer: Any = None) -> MergeSteps:
    """Work out one output cell of a model's merge layer (default the first) for one example:
    its inputs are what the layers it reads made for this example.

    Args:
        model: a functional Model with Add, Concatenate, ... layers.
        example: one input, e.g. (28, 28, 1) (a batch of one also works).
        position: the output's (row, col), (step,), or () for flat outputs.
        channel: the output channel.
        layer: name, index or layer object; default the first merge layer.

    Returns:
        MergeSteps with `engine_output` set to what the layer itself computed there.

    Raises:
        ValueError: for a missing layer, a position outside the output, or a bad channel.
    """
    from convscope.explain import _model

    node = _model.find_node(model, layer, MERGE_KINDS)
    _model.eval_mode(model)
    inputs, output = _model.node_values(model, example, node.index)
    axis = _model.config_of(node.layer).get("axis", -1)
    rank = output.ndim - 1
    steps = merge_steps_from_arrays(node.kind, [value[0].numpy() for value in inputs], position=position,
                                    channel=channel, sources=node.sources, layer=node.name,
                                    axis=(axis - 1 if axis > 0 else axis) % rank)
    import dataclasses

    return dataclasses.replace(steps, engine_output=float(output[0][(*steps.position, steps.channel)]))
