"""One Dense unit worked out term by term: sum of input x weight, the bias, the activation, and
the engine's own output for the same unit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convscope.explain import reference
from convscope.explain.numbers import number
from convscope.explain.steps import _torch_activation, agree, engine_line


@dataclass(frozen=True)
class DenseSteps:
    """How one Dense unit is computed: sum_i input_i * weight_i + bias, then the activation."""

    layer: str
    unit: int
    inputs: np.ndarray = field(repr=False)    # (units_in,)
    weights: np.ndarray = field(repr=False)   # (units_in,), the unit's kernel column
    weighted_sum: float
    bias: float
    pre_activation: float
    activation: str
    output: float
    engine_output: float | None = None
    position: tuple[int, ...] = ()  # the step or pixel, for a Dense layer on a sequence or maps

    @property
    def products(self) -> np.ndarray:
        return self.inputs * self.weights

    @property
    def agrees(self) -> bool:
        return agree(self.output, self.engine_output)

    def text(self, max_terms: int = 12) -> str:
        """The sum; with more than `max_terms` inputs, the largest terms and the rest's total."""
        products = self.products
        order = np.arange(len(products))
        if len(products) > max_terms:
            order = np.sort(np.argsort(-np.abs(products))[:max_terms])
        shown = "+".join(f"({number(self.weights[i])}*{number(self.inputs[i])})" for i in order)
        where = f" at position ({', '.join(map(str, self.position))})" if self.position else ""
        lines = [f"Dense '{self.layer}', unit {self.unit}{where}, {len(products)} inputs"]
        rest = len(products) - len(order)
        if rest:
            others = float(products.sum() - products[order].sum())
            lines.append(f"Largest {len(order)} terms (inputs {', '.join(map(str, order))}):")
            lines.append(f"Unit = {shown} + (other {rest} terms: {number(others)})")
        else:
            lines.append(f"Unit = {shown}")
        lines.append(f"  = {number(self.weighted_sum)}")
        lines.append(f"Plus bias {number(self.bias)} = {number(self.pre_activation)}")
        if self.activation != "linear":
            lines.append(f"{self.activation}(...) = {number(self.output)}")
        lines.append(f"Total = {number(self.output)}")
        if self.engine_output is not None:
            lines.append(engine_line(self.engine_output, self.agrees))
        return "\n".join(lines)


def dense_steps(model: Any, example: Any, *, unit: int = 0, layer: Any = None,
                position: Any = None) -> DenseSteps:
    """Work out one unit of a model's Dense layer (default the last) for one example. A Dense
    layer on a sequence or on feature maps works on the last axis at every step or pixel, with
    the same weights: `position` (a step, or (row, column)) picks one, the first by default.

    Raises:
        ValueError: for a unit or position out of range.
    """
    from convscope.explain import _model

    if layer is None:
        dense_indices = [node.index for node in _model.graph_nodes(model) if node.kind == "Dense"]
        layer = dense_indices[-1] if dense_indices else "Dense"
    node = _model.find_node(model, layer, ("Dense",))
    dense = node.layer
    _model.eval_mode(model)
    inputs, outputs = _model.layer_input(model, example, node.index)
    positions = tuple(inputs.shape[1:-1])
    where = (0,) * len(positions) if position is None else \
        tuple(int(p) for p in (position if isinstance(position, (tuple, list)) else (position,)))
    if len(where) != len(positions) or not all(0 <= p < size for p, size in zip(where, positions)):
        raise ValueError(f"dense_steps: position {position!r} does not exist; Dense {dense.name!r} works on "
                         f"input shape {tuple(inputs.shape)}, positions {positions or 'none (one vector)'}.")
    inputs, outputs = inputs[(0, *where)][None], outputs[(0, *where)][None]
    weights = dense.get_weights()
    kernel = np.asarray(weights[0], np.float64)
    bias = np.asarray(weights[1], np.float64) if len(weights) > 1 else np.zeros(kernel.shape[1])
    if not 0 <= unit < kernel.shape[1]:
        raise ValueError(f"dense_steps: unit {unit} does not exist; {dense.name!r} has "
                         f"{kernel.shape[1]} units (0..{kernel.shape[1] - 1}).")
    x = inputs[0].numpy().astype(np.float64)
    pre_activations = reference.dense(x, kernel, bias)
    activated = _torch_activation(dense)(pre_activations)
    return DenseSteps(
        layer=node.name, unit=int(unit), inputs=x, weights=kernel[:, unit],
        weighted_sum=float(x @ kernel[:, unit]), bias=float(bias[unit]),
        pre_activation=float(pre_activations[unit]),
        activation=str(_model.config_of(dense).get("activation", "linear")),
        output=float(activated[unit]), engine_output=float(outputs[0, unit]), position=where,
    )
