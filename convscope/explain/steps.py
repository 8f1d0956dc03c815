"""One output value of a layer, worked out term by term.

`conv_steps` lists every input value x weight of one filter at one output position (per
channel), their sum, the bias, the activation, and the engine's own output for the same cell;
a filter of a grouped convolution (Conv2D(groups=g), DepthwiseConv2D) reads only the input
channels of its group, and its steps list only those; `convscope.explain.pooling_steps` does the
same for one pooling window and `convscope.explain.dense_unit_steps` for one Dense unit. The
arithmetic is done here in float64 from the layer's real input and weights, so `agrees` tells
whether the engine computes what the maths says. `stages`, `channel_table` and `to_dict()` give
the same arithmetic as a chain of stages (see `convscope.explain.stages`).

Example (the seed's 3x3 neighbourhood and filter, no model needed):
    >>> steps = conv_steps_from_arrays([[0, 64, 128], [48, 192, 144], [142, 226, 168]],
    ...                                [[-1, 0, -2], [0.5, 4.5, -1.5], [1.5, 2, -3]], position=(0, 0))
    >>> steps.output
    577.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from convscope.explain import reference, stages
from convscope.explain.numbers import number
from convscope.explain.reference.arithmetic import Padding, as_tuple

#: Largest difference accepted between our arithmetic and the engine: absolute up to 1,
#: relative above (float32 carries about 7 significant digits).
TOLERANCE = 1e-5

CONV_KINDS = ("Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D")
POOL_KINDS = ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D")


def agree(ours: float, engine: float | None, tolerance: float = TOLERANCE) -> bool:
    """Whether two values match within `tolerance` (relative above magnitude 1)."""
    return engine is None or abs(ours - engine) <= tolerance * max(1.0, abs(engine))


def engine_line(engine_output: float, agrees: bool) -> str:
    """The last line of a worked cell: the engine's own value, and whether it agrees."""
    return f"Engine output = {engine_output:.7g} ({'agrees' if agrees else 'DISAGREES'}; tolerance {TOLERANCE:g})"


@dataclass(frozen=True)
class ConvTerm:
    """One input value times one kernel weight."""

    tap: tuple[int, ...]             # kernel offset (a, b) or (a,)
    input_position: tuple[int, ...]  # where it reads the (unpadded) layer input; may lie outside
    channel: int
    input_value: float               # 0 for padding
    weight: float
    padded: bool

    @property
    def product(self) -> float:
        return self.input_value * self.weight


@dataclass(frozen=True)
class ConvSteps:
    """How one conv output cell is computed.

    `channel_sums[i]` adds the terms of input channel `input_channels[i]` (channel i, unless the
    convolution is grouped); `weighted_sum` adds all channels; `pre_activation = weighted_sum +
    bias`; `output = activation(pre_activation)`. With `groups` > 1 the filter reads only the
    input channels of its `group` (0-based): `input_channels`, a contiguous range.
    """

    layer: str
    kind: str
    position: tuple[int, ...]
    filter: int
    terms: list[ConvTerm]
    channel_sums: list[float]
    weighted_sum: float
    bias: float
    pre_activation: float
    activation: str
    output: float
    engine_output: float | None = None
    groups: int = 1
    group: int = 0

    @property
    def input_channels(self) -> range:
        """The input channels the filter reads (all of them for an ordinary convolution)."""
        count = len(self.channel_sums)
        return range(self.group * count, (self.group + 1) * count)

    @property
    def group_text(self) -> str:
        """e.g. "filter 5 reads input channels 32-63 (group 2 of 2)"; "" for one group."""
        if self.groups == 1:
            return ""
        channels = self.input_channels
        which = (f"input channel {channels[0]}" if len(channels) == 1
                 else f"input channels {channels[0]}-{channels[-1]}")
        return f"filter {self.filter} reads {which} (group {self.group + 1} of {self.groups})"

    @property
    def difference(self) -> float | None:
        return None if self.engine_output is None else abs(self.output - self.engine_output)

    @property
    def agrees(self) -> bool:
        return agree(self.output, self.engine_output)

    @property
    def stages(self) -> list[Any]:
        """The cell as stages: window, weights, products, channel_sums, total, bias,
        activation, output (`convscope.explain.stages.Stage` each)."""
        return stages.conv_stages(self)

    @property
    def channel_table(self) -> list[Any]:
        """Per input channel: window, weights, products, partial sum; largest |partial sum| first."""
        return stages.channel_table(self)

    def to_dict(self, max_channels: int | None = None) -> dict[str, Any]:
        """JSON-ready: every field, `agrees`, `difference`, `stages` and `channels` (the channel
        table, the first `max_channels` entries when given, with `channel_count` for all)."""
        import dataclasses

        document = dataclasses.asdict(self)
        table = self.channel_table
        return {**document, "agrees": self.agrees, "difference": self.difference,
                "input_channels": list(self.input_channels), "group_text": self.group_text,
                "stages": [stage.to_dict() for stage in self.stages], "channel_count": len(table),
                "channels": [part.to_dict() for part in table[:max_channels]]}

    def text(self, max_terms: int = 64, max_channels: int = 8) -> str:
        """The worked sum in stages. One input channel: 'New pixel = (w*x)+...' as the seed writes
        it. Many: a table of partial sums, largest first, with the top channels' products."""
        where = ", ".join(str(p) for p in self.position)
        lines = [f"{self.kind} '{self.layer}', filter {self.filter}, output position ({where})"]
        if self.groups > 1:
            lines.append(f"{self.group_text}: a grouped convolution's filter sees only its group's channels")
        if len(self.channel_sums) == 1:
            lines.append(f"New pixel = {self._products_text(self.input_channels[0], max_terms)}")
            lines.append(f"  = {number(self.channel_sums[0])}")
        else:
            lines.extend(self._channel_table_text(max_terms, max_channels))
        lines.append(f"Total = {number(self.weighted_sum)}   (sum of the products, before the bias)")
        lines.append(f"Plus bias {number(self.bias)} = {number(self.pre_activation)}")
        if self.activation != "linear":
            lines.append(f"{self.activation}({number(self.pre_activation)}) = {number(self.output)}")
        lines.append(f"Output = {number(self.output)}")
        if self.engine_output is not None:
            verdict = "agrees" if self.agrees else "DISAGREES"
            lines.append(f"Engine output = {self.engine_output:.7g} ({verdict}; "
                         f"difference {self.difference:.2g}, tolerance {TOLERANCE:g})")
        return "\n".join(lines)

    def _products_text(self, channel: int, max_terms: int) -> str:
        chosen = [t for t in self.terms if t.channel == channel]
        shown = "+".join(f"({number(t.weight)}*{number(t.input_value)})" for t in chosen[:max_terms])
        return shown + (f"+... ({len(chosen) - max_terms} more terms)" if len(chosen) > max_terms else "")

    def _channel_table_text(self, max_terms: int, max_channels: int) -> list[str]:
        table = self.channel_table
        shown = table[:max_channels]
        lines = [f"{len(table)} input channels; partial sums (window x weights, added), largest first:",
                 "  channel  partial sum  running total"]
        running = 0.0
        for part in shown:
            running += part.partial_sum
            lines.append(f"  {part.channel:>7}  {number(part.partial_sum):>11}  {number(running):>13}")
        rest = table[len(shown):]
        if rest:
            lines.append(f"  ... {len(rest)} more channels add {number(sum(p.partial_sum for p in rest))}")
        for part in shown[:3]:
            lines.append(f"Channel {part.channel} = {self._products_text(part.channel, max_terms)}")
        return lines


def _activate(pre_activations: np.ndarray, activation: str | Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply an activation to the channel vector at one position (softmax needs all of it)."""
    if callable(activation):
        return np.asarray(activation(pre_activations), dtype=np.float64)
    if activation in ("linear", None):
        return pre_activations
    if activation == "relu":
        return reference.relu(pre_activations)
    raise ValueError(f"conv_steps: activation {activation!r} is not known to the NumPy path; "
                     f"pass activation='linear', 'relu' or a callable on a 1-D array.")


def conv_steps_from_arrays(
    layer_input: Any,
    kernel: Any,
    bias: Any = None,
    *,
    position: Sequence[int],
    filter: int = 0,
    stride: int | Sequence[int] = 1,
    padding: Padding = "valid",
    dilation: int | Sequence[int] = 1,
    activation: str | Callable[[np.ndarray], np.ndarray] = "linear",
    layer: str = "arrays",
    kind: str | None = None,
    groups: int = 1,
) -> ConvSteps:
    """Work out conv output cell `position` of filter `filter` from plain arrays.

    Args:
        layer_input: (H, W) / (H, W, C_in) or (L,) / (L, C_in), one example.
        kernel: (kh, kw) / (kh, kw, C_in / groups, C_out) or (k,) / (k, C_in / groups, C_out)
            (Keras layout).
        bias: None, a scalar or (C_out,).
        position: output index (row, col) or (step,).
        activation: "linear", "relu" or a callable on the (C_out,) pre-activation vector.
        groups: a grouped convolution's groups (Conv2D(groups=...)); the filter then reads only
            the input channels of its group, and the steps list only those.

    Returns:
        ConvSteps whose `output` equals `reference.conv2d` (or `conv1d`) at that cell.

    Raises:
        ValueError: for shapes that do not fit (naming the likely groups), a position outside
            the output or a filter that does not exist.
    """
    x = np.asarray(layer_input, dtype=np.float64)
    w = np.asarray(kernel, dtype=np.float64)
    rank = w.ndim if w.ndim <= 2 and w.ndim == x.ndim else w.ndim - 2
    if w.ndim == rank:
        w = w[..., np.newaxis, np.newaxis]
    if x.ndim == rank:
        x = x[..., np.newaxis]
    if x.ndim != rank + 1 or w.ndim != rank + 2:
        raise ValueError(f"conv_steps: input {np.shape(layer_input)} and kernel {np.shape(kernel)} "
                         f"do not fit; expected input (*spatial, C_in) and kernel (*k, C_in / groups, C_out).")
    groups = reference.check_groups(groups, x.shape, w.shape[rank], w.shape[-1], "conv_steps")
    size = w.shape[:rank]
    strides = as_tuple(stride, rank, "stride", "conv_steps")
    dilations = as_tuple(dilation, rank, "dilation", "conv_steps")
    pads = reference.resolve_padding(padding, x.shape[:rank], size, strides, dilations, "conv_steps")
    out_shape = tuple(reference.output_size(n, k, s, p, d)
                      for n, k, s, p, d in zip(x.shape[:rank], size, strides, pads, dilations, strict=True))
    position = tuple(int(p) for p in position)
    if len(position) != rank or any(not 0 <= p < n for p, n in zip(position, out_shape, strict=True)):
        raise ValueError(f"conv_steps: position {position} is outside the {out_shape} output. "
                         f"Fix: pick indices 0 <= i < size along each axis.")
    if not 0 <= filter < w.shape[-1]:
        raise ValueError(f"conv_steps: filter {filter} does not exist; the kernel has "
                         f"{w.shape[-1]} filters (0..{w.shape[-1] - 1}).")
    biases = np.zeros(w.shape[-1]) if bias is None else np.broadcast_to(np.asarray(bias, np.float64), (w.shape[-1],))
    per_group = w.shape[rank]
    group = filter // (w.shape[-1] // groups)
    window, inside = _window(x, size, position, strides, dilations, pads)
    channels = range(group * per_group, (group + 1) * per_group)
    terms = _window_terms(window, inside, w[..., filter], channels, position, strides, dilations, pads)
    channel_sums = [float(sum(t.product for t in terms if t.channel == c)) for c in channels]
    # every filter's pre-activation at this position, for activations that mix channels
    all_pre = _all_filters(window, w, groups) + biases
    weighted_sum = float(sum(channel_sums))
    all_pre[filter] = weighted_sum + float(biases[filter])
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", "activation")
    return ConvSteps(
        layer=layer, kind=kind or f"Conv{rank}D", position=position, filter=int(filter), terms=terms,
        channel_sums=channel_sums, weighted_sum=weighted_sum, bias=float(biases[filter]),
        pre_activation=float(all_pre[filter]), activation=str(name),
        output=float(_activate(all_pre, activation)[filter]), groups=groups, group=group,
    )


def _window(x: np.ndarray, size: tuple[int, ...], position: tuple[int, ...], strides: tuple[int, ...],
            dilations: tuple[int, ...], pads: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    """(window (*k, C_in), inside (*k,)): the input under the kernel at output `position`, every
    input channel, 0 where it covers padding; `inside` is False there."""
    rank = len(position)
    window = np.zeros((*size, x.shape[-1]))
    inside = np.zeros(size, dtype=bool)
    for tap in np.ndindex(*size):
        where = _tap_position(position, tap, strides, dilations, pads)
        if all(0 <= i < n for i, n in zip(where, x.shape[:rank], strict=True)):
            window[tap], inside[tap] = x[where], True
    return window, inside


def _tap_position(position: tuple[int, ...], tap: tuple[int, ...], strides: tuple[int, ...],
                  dilations: tuple[int, ...], pads: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    """Where kernel tap `tap` reads the (unpadded) input for output `position`."""
    return tuple(p * s + a * d - pad[0] for p, s, a, d, pad in zip(position, strides, tap, dilations, pads, strict=True))


def _window_terms(
    window: np.ndarray, inside: np.ndarray, w: np.ndarray, channels: range, position: tuple[int, ...],
    strides: tuple[int, ...], dilations: tuple[int, ...], pads: tuple[tuple[int, int], ...],
) -> list[ConvTerm]:
    """Terms of one filter w (*k, len(channels)) over input `channels` of the `window`
    (*k, C_in), channel by channel, taps row-major; where not `inside`, the term is padding."""
    terms = []
    for offset, channel in enumerate(channels):
        for tap in np.ndindex(*inside.shape):
            where = _tap_position(position, tap, strides, dilations, pads)
            terms.append(ConvTerm(tuple(tap), where, channel, float(window[(*tap, channel)]),
                                  float(w[(*tap, offset)]), not bool(inside[tap])))
    return terms


def _all_filters(window: np.ndarray, w: np.ndarray, groups: int) -> np.ndarray:
    """Every filter's weighted sum over the `window` (*k, C_in): (C_out,), group by group."""
    spatial = "ab"[:w.ndim - 2]
    per_group, filters = w.shape[-2], w.shape[-1] // groups
    return np.concatenate([np.einsum(f"{spatial}c,{spatial}co->o", window[..., g * per_group:(g + 1) * per_group],
                                     w[..., g * filters:(g + 1) * filters]) for g in range(groups)])


def _torch_activation(layer: Any) -> Callable[[np.ndarray], np.ndarray]:
    """The layer's own activation callable, applied to a float64 NumPy vector."""
    import torch

    function = getattr(layer, "activation", None)
    if function is None:
        return lambda values: values

    def apply(values: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return function(torch.from_numpy(np.asarray(values, dtype=np.float64))).numpy()

    return apply


def _check_channels_last(layer: Any, index: int, config: dict[str, Any]) -> None:
    if config.get("data_format", "channels_last") != "channels_last":
        raise ValueError(f"explain: layer {getattr(layer, 'name', index)!r} uses data_format="
                         f"{config['data_format']!r}; steps are worked out for channels_last layers. "
                         f"Fix: build the model with data_format='channels_last' (the default).")


def conv_steps(model: Any, example: Any, *, position: Sequence[int], filter: int = 0,
               layer: Any = None) -> ConvSteps:
    """Work out one output cell of a model's Conv1D/Conv2D layer (grouped or not) or
    DepthwiseConv1D/2D layer for one input example.

    Args:
        model: a Sequential, a functional Model or a list of layers. In a graph the layer's
            input is what its inbound node made, not the output of the layer listed before it.
        example: one input, e.g. (28, 28, 1) (a batch of one also works).
        position: output (row, col) for Conv2D, (step,) for Conv1D.
        filter: which filter (output channel).
        layer: name, index or layer object; default the first conv layer.

    Returns:
        ConvSteps with `engine_output` set to what the layer itself computed there.

    Raises:
        ValueError: for a missing layer, a position outside the output, or a bad filter.
    """
    from convscope.explain import _model

    node = _model.find_node(model, layer, CONV_KINDS)
    conv = node.layer
    config = _model.config_of(conv)
    _check_channels_last(conv, node.index, config)
    _model.eval_mode(model)
    inputs, outputs = _model.layer_input(model, example, node.index)
    kernel, bias, groups = _model.conv_weights(conv)
    steps = conv_steps_from_arrays(
        inputs[0].numpy(), kernel, bias, position=position, filter=filter, stride=tuple(config["strides"]),
        padding=config["padding"], dilation=tuple(config.get("dilation_rate", 1)),
        activation=_torch_activation(conv), layer=node.name, kind=node.kind, groups=groups,
    )
    engine = float(outputs[0][(*steps.position, steps.filter)])
    return _replace(steps, engine_output=engine, activation=str(config.get("activation", "linear")))


def _replace(steps: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(steps, **changes)
