"""A conv or pooling cell as a chain of stages, the same for text, pictures and the web page.

Conv: window x weights -> products -> sum per input channel -> total -> + bias -> activation
-> output. Pooling: window -> the winner (max) or the mean (average) -> output.

`ConvSteps.stages`, `ConvSteps.channel_table`, `PoolSteps.stages` and both `to_dict()` methods
call the functions here. Arrays are kernel-shaped and channels-last: a Conv2D window is
(kh, kw, C_in), one channel's window (kh, kw); a Conv1D window (k, C_in).

Example (the seed's 3x3 neighbourhood and filter):
    >>> from convscope.explain import conv_steps_from_arrays
    >>> steps = conv_steps_from_arrays([[0, 64, 128], [48, 192, 144], [142, 226, 168]],
    ...                                [[-1, 0, -2], [0.5, 4.5, -1.5], [1.5, 2, -3]], position=(0, 0))
    >>> [stage.name for stage in steps.stages]
    ['window', 'weights', 'products', 'channel_sums', 'total', 'bias', 'activation', 'output']
    >>> steps.stages[4].value
    577.0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from convscope.explain.numbers import count_text, number, position_text


class Term(Protocol):
    """One input value times one weight, as `convscope.explain.steps.ConvTerm` holds it."""

    @property
    def tap(self) -> tuple[int, ...]: ...
    @property
    def input_value(self) -> float: ...
    @property
    def weight(self) -> float: ...
    @property
    def padded(self) -> bool: ...


class ConvCell(Protocol):
    """What the stages read from a conv cell (`convscope.explain.steps.ConvSteps`)."""

    @property
    def position(self) -> tuple[int, ...]: ...
    @property
    def filter(self) -> int: ...
    @property
    def groups(self) -> int: ...
    @property
    def input_channels(self) -> range: ...
    @property
    def group_text(self) -> str: ...
    @property
    def terms(self) -> Sequence[Term]: ...
    @property
    def channel_sums(self) -> list[float]: ...
    @property
    def weighted_sum(self) -> float: ...
    @property
    def bias(self) -> float: ...
    @property
    def pre_activation(self) -> float: ...
    @property
    def activation(self) -> str: ...
    @property
    def output(self) -> float: ...
    @property
    def engine_output(self) -> float | None: ...

    @property
    def agrees(self) -> bool: ...


class PoolCell(Protocol):
    """What the stages read from a pooling cell (`convscope.explain.pooling_steps.PoolSteps`)."""

    @property
    def reduction(self) -> str: ...
    @property
    def window_positions(self) -> list[tuple[int, ...]]: ...
    @property
    def values(self) -> list[float]: ...
    @property
    def output(self) -> float: ...
    @property
    def engine_output(self) -> float | None: ...

    @property
    def real_values(self) -> list[float]: ...
    @property
    def winner(self) -> tuple[int, ...] | None: ...
    @property
    def agrees(self) -> bool: ...


CONV_STAGES = ("window", "weights", "products", "channel_sums", "total", "bias", "activation", "output")
POOL_STAGES = ("window", "reduce", "output")


@dataclass(frozen=True)
class Stage:
    """One step of a cell's arithmetic.

    Attributes:
        name: a fixed key (see CONV_STAGES, POOL_STAGES).
        title: the step in words, e.g. "+ bias".
        text: the step's arithmetic, e.g. "-0.109 + 0.0213 = -0.0877".
        value: the number this step ends with (None for the array stages).
        values: the array stage's values (window, weights, products, per-channel sums).
    """

    name: str
    title: str
    text: str
    value: float | None = None
    values: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "text": self.text, "value": _plain(self.value),
                "values": None if self.values is None else _plain(self.values)}


@dataclass(frozen=True)
class ChannelPart:
    """One input channel's share of a conv cell: its window, the filter's weights for it, their
    products and the partial sum of those products."""

    channel: int
    window: np.ndarray = field(repr=False)    # (kh, kw) or (k,): input values, 0 where padded
    weights: np.ndarray = field(repr=False)   # same shape
    partial_sum: float = 0.0
    padded: np.ndarray | None = field(default=None, repr=False)  # same shape; True on padding

    @property
    def products(self) -> np.ndarray:
        return self.window * self.weights

    def to_dict(self) -> dict[str, Any]:
        padded = None if self.padded is None else self.padded.tolist()
        return {"channel": self.channel, "partial_sum": self.partial_sum, "window": _plain(self.window),
                "weights": _plain(self.weights), "products": _plain(self.products), "padded": padded}


def _plain(value: Any) -> Any:
    """JSON-ready: arrays as nested lists, NaN (padding) as None."""
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        return [_plain(item) for item in value] if value.ndim else _plain(value.item())
    number = float(value)
    return None if math.isnan(number) else number


def kernel_shape(steps: ConvCell) -> tuple[int, ...]:
    """The filter's spatial size, e.g. (3, 3), read from the terms' taps."""
    rank = len(steps.position)
    return tuple(max(term.tap[axis] for term in steps.terms) + 1 for axis in range(rank))


def conv_arrays(steps: ConvCell) -> tuple[np.ndarray, np.ndarray]:
    """(window, weights), each (*kernel, C_in), from the terms (channel by channel, taps row-major)."""
    shape = (len(steps.channel_sums), *kernel_shape(steps))
    window = np.array([term.input_value for term in steps.terms], dtype=np.float64).reshape(shape)
    weights = np.array([term.weight for term in steps.terms], dtype=np.float64).reshape(shape)
    return np.moveaxis(window, 0, -1), np.moveaxis(weights, 0, -1)


def channel_table(steps: ConvCell) -> list[ChannelPart]:
    """Every input channel's part, largest |partial sum| first (ties: lower channel first); of a
    grouped convolution, the channels of the filter's group, by their own numbers.

    The partial sums add up to `steps.weighted_sum`, the total before the bias.
    """
    window, weights = conv_arrays(steps)
    shape = (len(steps.channel_sums), *kernel_shape(steps))
    padded = np.moveaxis(np.array([term.padded for term in steps.terms], dtype=bool).reshape(shape), 0, -1)
    parts = [ChannelPart(channel, window[..., offset], weights[..., offset], float(partial), padded[..., offset])
             for offset, (channel, partial) in enumerate(zip(steps.input_channels, steps.channel_sums, strict=True))]
    return sorted(parts, key=lambda part: (-abs(part.partial_sum), part.channel))


def _format(value: float) -> str:
    return number(value)


def _activation_text(steps: ConvCell) -> str:
    if steps.activation == "linear":
        return f"no activation (linear): {_format(steps.pre_activation)} stays {_format(steps.output)}"
    return f"{steps.activation}({_format(steps.pre_activation)}) = {_format(steps.output)}"


def _output_text(output: float, engine: float | None, agrees: bool) -> str:
    text = f"output = {_format(output)}"
    if engine is None:
        return text
    return f"{text}; the model's own value {engine:.7g} ({'agrees' if agrees else 'DISAGREES'})"


def conv_stages(steps: ConvCell) -> list[Stage]:
    """The eight stages of one conv cell (see CONV_STAGES)."""
    window, weights = conv_arrays(steps)
    channels = len(steps.channel_sums)
    size = "x".join(str(n) for n in kernel_shape(steps))
    count = window.size
    per_channel = (f"{channels} partial sums, one per input channel" if channels > 1
                   else f"sum of the {count} products = {_format(steps.channel_sums[0])}")
    read = f"; {steps.group_text}" if steps.groups > 1 else ""
    return [
        Stage("window", "input window", f"{size} input values under the filter, "
                                        f"{count_text(channels, 'channel')}{read}", values=window),
        Stage("weights", "x weights", f"filter {steps.filter}'s {size}x{channels} weights", values=weights),
        Stage("products", "= products", f"{count} products input x weight", values=window * weights),
        Stage("channel_sums", "sum per input channel", per_channel, values=np.asarray(steps.channel_sums)),
        Stage("total", "total", f"total of the products = {_format(steps.weighted_sum)}",
              value=steps.weighted_sum),
        Stage("bias", "+ bias", f"{_format(steps.weighted_sum)} + {_format(steps.bias)} = "
                                f"{_format(steps.pre_activation)}", value=steps.pre_activation),
        Stage("activation", "activation", _activation_text(steps), value=steps.output),
        Stage("output", "output", _output_text(steps.output, steps.engine_output, steps.agrees),
              value=steps.output),
    ]


def pool_window(steps: PoolCell) -> np.ndarray:
    """The window's values in its own shape, e.g. (2, 2); NaN where it covers padding."""
    positions = np.asarray(steps.window_positions)
    shape = tuple(int(n) for n in positions.max(axis=0) - positions.min(axis=0) + 1)
    return np.asarray(steps.values, dtype=np.float64).reshape(shape)


def pool_stages(steps: PoolCell) -> list[Stage]:
    """The three stages of one pooling cell (see POOL_STAGES)."""
    window = pool_window(steps)
    real = steps.real_values
    size = "x".join(str(n) for n in window.shape)
    padded = len(steps.values) - len(real)
    note = f", {padded} on padding (ignored)" if padded else ""
    if steps.reduction == "max":
        reduce = Stage("reduce", "the winner", f"largest of {count_text(len(real), 'value')} = {_format(steps.output)}, "
                                               f"at input position {position_text(steps.winner)}", value=steps.output)
    else:
        added = " + ".join(_format(v) for v in real)
        reduce = Stage("reduce", "the mean", f"({added}) / {len(real)} = {_format(steps.output)}",
                       value=steps.output)
    return [Stage("window", "window", f"{size} window, {count_text(len(real), 'value')}{note}", values=window), reduce,
            Stage("output", "output", _output_text(steps.output, steps.engine_output, steps.agrees),
                  value=steps.output)]
