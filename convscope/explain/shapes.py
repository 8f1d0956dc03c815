"""The shape journey: each layer's output shape and the arithmetic that produced it.

For the classic MNIST model (Conv2D 3x3, MaxPooling 2x2, twice, then Flatten) the journey reads
28 -> 26 -> 13 -> 11 -> 5 -> 5 x 5 x 64 = 1600. Shapes exclude the batch axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from convscope.explain import reference

Shape = tuple[int | None, ...]

CONV = ("Conv1D", "Conv2D", "Conv3D")
DEPTHWISE = ("DepthwiseConv1D", "DepthwiseConv2D")
POOL = ("MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
UNCHANGED = "shape unchanged"
GLOBAL_POOL = ("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GlobalAveragePooling1D",
               "GlobalAveragePooling2D", "GlobalAveragePooling3D")


@dataclass(frozen=True)
class ShapeStep:
    """One layer on the journey: shapes without the batch axis, one arithmetic line per axis."""

    index: int
    layer: str
    kind: str
    input_shape: Shape
    output_shape: Shape
    arithmetic: list[str]
    engine_output_shape: Shape | None = None
    sources: tuple[str, ...] = ()        # what the node reads: layer names, or "input"
    input_shapes: tuple[Shape, ...] = ()  # the shape of each, in order (several for a merge)
    scope: tuple[str, ...] = ()          # the nested models it lies in, outermost first

    @property
    def agrees(self) -> bool:
        """Whether our arithmetic matches the shape the engine inferred."""
        return self.engine_output_shape is None or tuple(self.engine_output_shape) == tuple(self.output_shape)


def _axis_text(n: int | None, kernel: int, stride: int, padding: str, dilation: int) -> tuple[int | None, str]:
    """Output length along one axis and the formula that gives it."""
    if n is None:
        return None, "unknown (variable length)"
    if padding in ("same", "causal"):
        out = reference.output_size(n, kernel, stride, padding, dilation)
        return out, f"ceil({n} / {stride}) = {out}" if stride > 1 else f"{n} (padding='{padding}' keeps it)"
    out = reference.output_size(n, kernel, stride, 0, dilation)
    if stride == 1 and dilation == 1:
        return out, f"{n} - {kernel} + 1 = {out}"
    if dilation == 1:
        return out, f"floor(({n} - {kernel}) / {stride}) + 1 = {out}"
    return out, f"floor(({n} - {dilation}*({kernel} - 1) - 1) / {stride}) + 1 = {out}"


def _windowed(kind: str, config: dict[str, Any], shape: Shape) -> tuple[Shape, list[str]]:
    """Conv and pooling layers: spatial axes by formula, channels from filters or kept."""
    spatial, channels = shape[:-1], shape[-1]
    rank = len(spatial)
    is_conv = kind in CONV or kind in DEPTHWISE
    kernel = config["kernel_size"] if is_conv else config["pool_size"]
    kernel = (kernel,) * rank if isinstance(kernel, int) else tuple(kernel)
    strides = config.get("strides") or kernel
    strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    dilation = config.get("dilation_rate", 1)
    dilation = (dilation,) * rank if isinstance(dilation, int) else tuple(dilation)
    names = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}[rank]
    outputs, lines = [], []
    for name, n, k, s, d in zip(names, spatial, kernel, strides, dilation, strict=True):
        out, text = _axis_text(n, k, s, config.get("padding", "valid"), d)
        outputs.append(out)
        lines.append(f"{name}: {text}")
    if kind in DEPTHWISE:
        multiplier = int(config.get("depth_multiplier", 1))
        made = None if channels is None else channels * multiplier
        lines.append(f"channels: {channels} x depth_multiplier {multiplier} = {made} (one filter per channel "
                     f"and multiplier)")
        return (*outputs, made), lines
    if is_conv:
        groups = int(config.get("groups", 1))
        split = (f", in {groups} groups: each filter reads {channels // groups} of the {channels} input channels"
                 if groups > 1 and channels is not None else "")
        lines.append(f"channels: filters = {config['filters']}{split}")
        return (*outputs, config["filters"]), lines
    lines.append(f"channels: kept = {channels}")
    return (*outputs, channels), lines


def step_shape(kind: str, config: dict[str, Any], shape: Shape) -> tuple[Shape, list[str]]:
    """Output shape and arithmetic lines of one layer given its input `shape` (no batch)."""
    if kind in CONV or kind in POOL or kind in DEPTHWISE:
        return _windowed(kind, config, shape)
    if kind == "Flatten":
        known = [n for n in shape if n is not None]
        total = math.prod(known) if len(known) == len(shape) else None
        return (total,), [f"{' x '.join(map(str, shape))} = {total}"]
    if kind in GLOBAL_POOL:
        reduce = "max" if "Max" in kind else "average"
        kept = (*[1] * (len(shape) - 1), shape[-1]) if config.get("keepdims") else (shape[-1],)
        return kept, [f"{reduce} over {' x '.join(map(str, shape[:-1]))} per channel -> {shape[-1]}"]
    if kind == "Dense":
        return (*shape[:-1], config["units"]), [f"units = {config['units']}"]
    if kind == "TimeDistributed" and isinstance(config.get("layer"), dict) and len(shape) >= 2:
        inner = config["layer"]
        output, lines = step_shape(str(inner.get("class_name")), dict(inner.get("config") or {}), shape[1:])
        if lines == [UNCHANGED]:
            return shape, lines
        return (shape[0], *output), [f"time: kept = {shape[0]}", *(f"each step: {line}" for line in lines)]
    if kind in RECURRENT and len(shape) == 2:
        return _recurrent(kind, config, shape)
    if kind == "Reshape":
        target = tuple(config["target_shape"])
        return target, [f"reshape {' x '.join(map(str, shape))} -> {' x '.join(map(str, target))}"]
    return shape, [UNCHANGED]


def shape_journey(model: Any, input_shape: Sequence[int | None] | None = None) -> list[ShapeStep]:
    """Each node's output shape with its arithmetic, from the model's input shape.

    Args:
        model: a Sequential, a functional Model (one input) or a list of layers with Keras configs.
        input_shape: one example's shape, e.g. (28, 28, 1); default the model's own.

    Returns:
        one ShapeStep per node in computing order (a functional model's InputLayers included),
        with the names it reads (`sources`) and their shapes (`input_shapes`);
        `engine_output_shape` is the layer's inferred shape when known.

    Raises:
        ValueError: when no input shape is known.
    """
    from convscope.explain import _model

    nodes = _model.graph_nodes(model)
    if input_shape is None:
        declared = getattr(model, "input_shape", None) or getattr(nodes[0].layer, "input_shape", None)
        if declared is None:
            raise ValueError("shape_journey: the model has no input shape yet. "
                             "Fix: pass input_shape=(28, 28, 1) or build the model first.")
        if isinstance(declared, list):
            raise ValueError(f"shape_journey: the model takes {len(declared)} inputs; pass input_shape only "
                             "for a model with one. Its summary() shows every shape.")
        input_shape = tuple(declared)[1:]
    start: Shape = tuple(input_shape)
    shapes: list[Shape] = []
    steps = []
    for node in nodes:
        inputs = [shapes[index] for index in node.inputs] if node.inputs else [start]
        if node.is_input:
            output, lines = start, ["the model's input"]
        elif node.takes_list:
            output, lines = merge_shape(node.kind, _model.config_of(node.layer), inputs)
        else:
            output, lines = step_shape(node.kind, _model.config_of(node.layer), inputs[0])
        engine = engine_shape(node.layer, inputs if node.takes_list else inputs[0])
        if lines == [UNCHANGED] and engine is not None and tuple(engine) != tuple(output):
            output, lines = engine, [f"computed by the layer: {_shape_text(engine)}"]  # no arithmetic of our own
        shapes.append(tuple(output))
        steps.append(ShapeStep(node.index, node.name, node.kind, inputs[0], tuple(output), lines, engine,
                               node.sources, tuple(inputs), node.scope))
    return steps


RECURRENT = {"SimpleRNN": "", "LSTM": " (i, f, c, o)", "GRU": " (z, r, h)"}


def _recurrent(kind: str, config: dict[str, Any], shape: Shape) -> tuple[Shape, list[str]]:
    """SimpleRNN, LSTM, GRU on (steps, features): the weights as Keras counts them and the output."""
    steps, features = shape
    units = int(config["units"])
    gates = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[kind]
    biases = 0 if not config.get("use_bias", True) else 2 if kind == "GRU" and config.get("reset_after", True) else 1
    bias_text = "" if not biases else " + bias 1" if biases == 1 else " + 2 biases (input, recurrent)"
    gate_text = "1 block" if gates == 1 else f"{gates} gates{RECURRENT[kind]}"
    count = None if features is None else gates * (features + units + biases) * units
    lines = [f"units = {units} (the size of the hidden state h{', and of the cell c' if kind == 'LSTM' else ''})",
             f"weights: {gate_text} x (features {features} + units {units}{bias_text}) x units {units} = {count}"]
    if config.get("go_backwards"):
        lines.append("go_backwards: reads the steps last to first")
    if config.get("return_sequences"):
        output: Shape = (steps, units)
        lines.append(f"return_sequences=True: h at every step -> ({steps}, {units})")
    else:
        output = (units,)
        lines.append(f"return_sequences=False: h after the last step -> ({units})")
    if config.get("return_state"):
        lines.append(f"return_state=True: also returns the last {'h and c' if kind == 'LSTM' else 'h'}, ({units}) each")
    return output, lines


ELEMENTWISE = {"Add": "sum", "Subtract": "difference", "Multiply": "product", "Average": "mean",
               "Maximum": "maximum", "Minimum": "minimum"}


def merge_shape(kind: str, config: dict[str, Any], shapes: Sequence[Shape]) -> tuple[Shape, list[str]]:
    """Output shape and arithmetic of a merge layer given its inputs' `shapes` (no batch axis):
    element-wise layers keep the (broadcast) shape, Concatenate adds up one axis."""
    if kind == "Concatenate":
        rank = len(shapes[0])
        axis = config.get("axis", -1)
        axis = (axis - 1 if axis > 0 else axis) % rank  # Keras counts the batch axis
        sizes = [shape[axis] for shape in shapes]
        total = None if any(size is None for size in sizes) else sum(int(size) for size in sizes)  # type: ignore[arg-type]
        output = tuple(total if position == axis else size for position, size in enumerate(shapes[0]))
        added = " + ".join("None" if size is None else str(size) for size in sizes)
        joined = " | ".join(_shape_text(shape) for shape in shapes)
        return output, [f"joins {len(shapes)} inputs along the {_axis_name(axis, rank)}: {joined} -> {_shape_text(output)}",
                        f"{_axis_name(axis, rank)}: {added} = {total}"]
    rank = max(len(shape) for shape in shapes)
    padded = [(1,) * (rank - len(shape)) + tuple(shape) for shape in shapes]
    output = tuple(max((size for size in sizes if size != 1), default=1) if None not in sizes else None
                   for sizes in zip(*padded, strict=True))
    word = ELEMENTWISE.get(kind, kind.lower())
    same = all(tuple(shape) == output for shape in shapes)
    how = "the shapes match" if same else "sizes of 1 are repeated to fit"
    return output, [f"element-wise {word} of {len(shapes)} inputs, {how}: "
                    f"{' and '.join(_shape_text(shape) for shape in shapes)} -> {_shape_text(output)}"]


def _axis_name(axis: int, rank: int) -> str:
    if axis == rank - 1:
        return "channels"
    return ("height", "width")[axis] if rank == 3 else "steps" if rank == 2 else f"axis {axis + 1}"


def engine_shape(layer: Any, shape: Shape | list[Shape]) -> Shape | None:
    """The output shape the layer infers for one example of `shape` (a list of shapes for a merge
    layer): asked of its (pure) `compute_output_shape`, so another input shape than the model
    was built for is checked too."""
    compute = getattr(layer, "compute_output_shape", None)
    if compute is None:
        return None
    try:
        if isinstance(shape, list):
            return tuple(compute([(None, *one) for one in shape]))[1:]
        return tuple(compute((None, *shape)))[1:]
    except ValueError:  # the layer refuses this input; the arithmetic above says why
        return None


def is_chain(steps: Sequence[ShapeStep]) -> bool:
    """Whether the steps are a chain (each reads the one before; a Sequential's journey)."""
    return all(step.kind != "InputLayer" and (len(step.sources) <= 1 or index == 0)
               and (index == 0 or step.sources in ((), (steps[index - 1].layer,)))
               for index, step in enumerate(steps))


def format_shape_journey(steps: Sequence[ShapeStep], input_shape: Shape | None = None) -> str:
    """Readable text. A chain: one block per layer, then the journey in one line. A graph: a
    table of nodes with what each reads ("from"), the arithmetic of conv, pooling and merge
    nodes under their rows, then the outputs."""
    if not steps:
        return "(no layers)"
    if not is_chain(steps):
        return format_graph_journey(steps)
    start = input_shape if input_shape is not None else steps[0].input_shape
    lines = [f"input {_shape_text(start)}"]
    scope: tuple[str, ...] = ()
    for step in steps:
        lines.extend(_entered(scope, step.scope))
        scope = step.scope
        indent = "  " * len(scope)
        lines.append(f"{step.index:>2} {indent}{step.kind} '{step.layer}': {_shape_text(step.input_shape)} "
                     f"-> {_shape_text(step.output_shape)}")
        lines.extend(f"     {indent}{line}" for line in step.arithmetic)
        if not step.agrees:
            lines.append(f"     {indent}engine says {_shape_text(step.engine_output_shape or ())}: MISMATCH")
    sizes = [str(start[0])] + [str(s.output_shape[0]) for s in steps if s.output_shape[0] != _first(s.input_shape)
                               or s.kind == "Flatten"]
    lines.append("journey: " + " -> ".join(sizes))
    return "\n".join(lines)


def _entered(before: tuple[str, ...], now: tuple[str, ...]) -> list[str]:
    """A line for each nested model the journey enters between two steps."""
    shared = 0
    while shared < min(len(before), len(now)) and before[shared] == now[shared]:
        shared += 1
    return [f"   {'  ' * depth}{name}: a model used as a layer; its layers:" for depth, name in
            enumerate(now) if depth >= shared]


def format_graph_journey(steps: Sequence[ShapeStep]) -> str:
    """The journey of a graph as a table: #, layer, kind, from, input shape(s), output shape."""
    rows = [(str(step.index), step.layer, step.kind, ", ".join(step.sources) or "-",
             "-" if step.kind == "InputLayer" else _shape_text(step.input_shape) if len(step.input_shapes) < 2
             else f"{len(step.input_shapes)} inputs, below",
             _shape_text(step.output_shape)) for step in steps]
    header = ("#", "layer", "kind", "from", "input", "output")
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header) - 1)]
    align = [str.rjust] + [str.ljust] * (len(widths) - 1)

    def line(cells: Sequence[str]) -> str:
        return "  ".join(fit(cell, width) for fit, cell, width in zip(align, cells, widths)) + "  " + cells[-1]

    lines = [line(header)]
    indent = " " * (widths[0] + 4)
    for step, row in zip(steps, rows, strict=True):
        lines.append(line(row))
        if step.arithmetic != [UNCHANGED] and step.kind != "InputLayer":
            lines.extend(indent + text for text in step.arithmetic)
        if not step.agrees:
            lines.append(f"{indent}engine says {_shape_text(step.engine_output_shape or ())}: MISMATCH")
    read = {source for step in steps for source in step.sources}
    ends = [f"{step.layer} {_shape_text(step.output_shape)}" for step in steps if step.layer not in read]
    lines.append("outputs: " + ", ".join(ends))
    return "\n".join(lines)


def _first(shape: Shape) -> int | None:
    return shape[0] if shape else None


def _shape_text(shape: Shape) -> str:
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"
