"""One pooling output cell worked out from its window: the values it covers (padding never
counts), the winner or the mean, and the engine's own output for the same cell.

Example (a 2x2 window of the seed's worked pooling):
    >>> steps = pool_steps_from_arrays([[1, 3], [7, 2]], 2, position=(0, 0))
    >>> steps.output, steps.winner
    (7.0, (1, 0))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convscope.explain import reference, stages
from convscope.explain.numbers import count_text, number, position_text
from convscope.explain.reference.arithmetic import as_tuple
from convscope.explain.steps import POOL_KINDS, _check_channels_last, _replace, agree, engine_line


@dataclass(frozen=True)
class PoolSteps:
    """How one pooling output cell is computed from its window (padded cells never count)."""

    layer: str
    kind: str
    reduction: str                        # "max" or "average"
    position: tuple[int, ...]
    channel: int
    window_positions: list[tuple[int, ...]]
    values: list[float]                   # NaN where the window covers padding
    output: float
    engine_output: float | None = None

    @property
    def real_values(self) -> list[float]:
        return [v for v in self.values if not np.isnan(v)]

    @property
    def winner(self) -> tuple[int, ...] | None:
        """Input position of the largest value (max pooling only)."""
        if self.reduction != "max":
            return None
        real = [(v, p) for v, p in zip(self.values, self.window_positions, strict=True) if not np.isnan(v)]
        return max(real, key=lambda pair: pair[0])[1]

    @property
    def agrees(self) -> bool:
        return agree(self.output, self.engine_output)

    @property
    def stages(self) -> list[Any]:
        """The cell as stages: window, reduce (the winner or the mean), output."""
        return stages.pool_stages(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field (NaN padding as None), `winner`, `agrees` and `stages`."""
        import dataclasses

        document = dataclasses.asdict(self)
        document["values"] = [None if np.isnan(value) else value for value in self.values]
        return {**document, "winner": self.winner, "agrees": self.agrees,
                "stages": [stage.to_dict() for stage in self.stages]}

    def text(self) -> str:
        where = ", ".join(str(p) for p in self.position)
        shown = ", ".join("pad" if np.isnan(v) else number(v) for v in self.values)
        first, last = position_text(self.window_positions[0]), position_text(self.window_positions[-1])
        lines = [f"{self.kind} '{self.layer}', channel {self.channel}, output position ({where})",
                 f"Window: input positions {first} to {last}, {count_text(len(self.real_values), 'value')}"]
        if self.reduction == "max":
            lines.append(f"max({shown}) = {number(self.output)}   (the winner, at input position "
                         f"{position_text(self.winner)})")
        else:
            real = self.real_values
            lines.append(f"average({shown}) = ({' + '.join(number(v) for v in real)}) / {len(real)} "
                         f"= {number(self.output)}")
        lines.append(f"Output = {number(self.output)}")
        if self.engine_output is not None:
            lines.append(engine_line(self.engine_output, self.agrees))
        return "\n".join(lines)


def pool_steps_from_arrays(
    layer_input: Any, pool_size: int | Sequence[int] = 2, strides: int | Sequence[int] | None = None,
    padding: str = "valid", *, position: Sequence[int], channel: int = 0, reduction: str = "max",
    layer: str = "arrays", kind: str | None = None,
) -> PoolSteps:
    """One pooling window of `layer_input` ((H, W)/(H, W, C) for a pair pool_size, (L,)/(L, C)
    for an int or 1-tuple on a 1-D input); `reduction` is "max" or "average"."""
    x = np.asarray(layer_input, dtype=np.float64)
    rank = len(pool_size) if not isinstance(pool_size, int) else (1 if x.ndim == 1 else 2)
    x = x[..., np.newaxis] if x.ndim == rank else x
    size = as_tuple(pool_size, rank, "pool_size", "pool_steps")
    steps = size if strides is None else as_tuple(strides, rank, "strides", "pool_steps")
    pads = reference.resolve_padding(padding, x.shape[:rank], size, steps, (1,) * rank, "pool_steps")
    out_shape = tuple(reference.output_size(n, k, s, p) for n, k, s, p in zip(x.shape[:rank], size, steps, pads, strict=True))
    position = tuple(int(p) for p in position)
    if len(position) != rank or any(not 0 <= p < n for p, n in zip(position, out_shape, strict=True)):
        raise ValueError(f"pool_steps: position {position} is outside the {out_shape} output.")
    if not 0 <= channel < x.shape[-1]:
        raise ValueError(f"pool_steps: channel {channel} does not exist; the input has {x.shape[-1]}.")
    where_list, values = [], []
    for tap in np.ndindex(*size):
        where = tuple(p * s + a - pad[0] for p, s, a, pad in zip(position, steps, tap, pads, strict=True))
        inside = all(0 <= i < n for i, n in zip(where, x.shape[:rank], strict=True))
        where_list.append(where)
        values.append(float(x[(*where, channel)]) if inside else float("nan"))
    real = [v for v in values if not np.isnan(v)]
    output = max(real) if reduction == "max" else float(np.mean(real))
    return PoolSteps(layer, kind or f"{'Max' if reduction == 'max' else 'Average'}Pooling{rank}D",
                     reduction, position, int(channel), where_list, values, float(output))


def pool_steps(model: Any, example: Any, *, position: Sequence[int], channel: int = 0,
               layer: Any = None) -> PoolSteps:
    """Work out one output cell of a model's pooling layer (default the first) for one example."""
    from convscope.explain import _model

    node = _model.find_node(model, layer, POOL_KINDS)
    config = _model.config_of(node.layer)
    _check_channels_last(node.layer, node.index, config)
    _model.eval_mode(model)
    inputs, outputs = _model.layer_input(model, example, node.index)
    kind = node.kind
    steps = pool_steps_from_arrays(
        inputs[0].numpy(), tuple(config["pool_size"]), tuple(config["strides"]), config["padding"],
        position=position, channel=channel, reduction="max" if kind.startswith("Max") else "average",
        layer=node.name, kind=kind,
    )
    return _replace(steps, engine_output=float(outputs[0][(*steps.position, steps.channel)]))
