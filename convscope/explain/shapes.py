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

CONV = ("Conv1D", "Conv2D")
POOL = ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D")
GLOBAL_POOL = ("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
               "GlobalAveragePooling2D")


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
    is_conv = kind in CONV
    kernel = config["kernel_size"] if is_conv else config["pool_size"]
    kernel = (kernel,) * rank if isinstance(kernel, int) else tuple(kernel)
    strides = config.get("strides") or kernel
    strides = (strides,) * rank if isinstance(strides, int) else tuple(strides)
    dilation = config.get("dilation_rate", 1)
    dilation = (dilation,) * rank if isinstance(dilation, int) else tuple(dilation)
    names = ("height", "width") if rank == 2 else ("steps",)
    outputs, lines = [], []
    for name, n, k, s, d in zip(names, spatial, kernel, strides, dilation, strict=True):
        out, text = _axis_text(n, k, s, config.get("padding", "valid"), d)
        outputs.append(out)
        lines.append(f"{name}: {text}")
    if is_conv:
        lines.append(f"channels: filters = {config['filters']}")
        return (*outputs, config["filters"]), lines
    lines.append(f"channels: kept = {channels}")
    return (*outputs, channels), lines


def step_shape(kind: str, config: dict[str, Any], shape: Shape) -> tuple[Shape, list[str]]:
    """Output shape and arithmetic lines of one layer given its input `shape` (no batch)."""
    if kind in CONV or kind in POOL:
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
    if kind == "Reshape":
        target = tuple(config["target_shape"])
        return target, [f"reshape {' x '.join(map(str, shape))} -> {' x '.join(map(str, target))}"]
    return shape, ["shape unchanged"]


def shape_journey(model: Any, input_shape: Sequence[int | None] | None = None) -> list[ShapeStep]:
    """Each layer's output shape with its arithmetic, from the model's input shape.

    Args:
        model: a Sequential (or list of layers) with Keras configs.
        input_shape: one example's shape, e.g. (28, 28, 1); default the model's own.

    Returns:
        one ShapeStep per layer; `engine_output_shape` is the layer's inferred shape when known.

    Raises:
        ValueError: when no input shape is known.
    """
    from convscope.explain import _model

    layers = _model.model_layers(model)
    if input_shape is None:
        declared = getattr(model, "input_shape", None) or getattr(layers[0], "input_shape", None)
        if declared is None:
            raise ValueError("shape_journey: the model has no input shape yet. "
                             "Fix: pass input_shape=(28, 28, 1) or build the model first.")
        input_shape = tuple(declared)[1:]
    shape: Shape = tuple(input_shape)
    steps = []
    for index, layer in enumerate(layers):
        output, lines = step_shape(_model.layer_kind(layer), _model.config_of(layer), shape)
        steps.append(ShapeStep(index, _model.layer_name(layer, index), _model.layer_kind(layer), shape,
                               tuple(output), lines, engine_shape(layer, shape)))
        shape = tuple(output)
    return steps


def engine_shape(layer: Any, shape: Shape) -> Shape | None:
    """The output shape the layer infers for one example of `shape`: asked of its (pure)
    `compute_output_shape`, so another input shape than the model was built for is checked too."""
    compute = getattr(layer, "compute_output_shape", None)
    if compute is None:
        return None
    try:
        return tuple(compute((None, *shape)))[1:]
    except ValueError:  # the layer refuses this input; the arithmetic above says why
        return None


def format_shape_journey(steps: Sequence[ShapeStep], input_shape: Shape | None = None) -> str:
    """Readable text: one block per layer, then the journey in one line."""
    if not steps:
        return "(no layers)"
    start = input_shape if input_shape is not None else steps[0].input_shape
    lines = [f"input {_shape_text(start)}"]
    for step in steps:
        lines.append(f"{step.index:>2} {step.kind} '{step.layer}': {_shape_text(step.input_shape)} "
                     f"-> {_shape_text(step.output_shape)}")
        lines.extend(f"     {line}" for line in step.arithmetic)
        if not step.agrees:
            lines.append(f"     engine says {_shape_text(step.engine_output_shape or ())}: MISMATCH")
    sizes = [str(start[0])] + [str(s.output_shape[0]) for s in steps if s.output_shape[0] != _first(s.input_shape)
                               or s.kind == "Flatten"]
    lines.append("journey: " + " -> ".join(sizes))
    return "\n".join(lines)


def _first(shape: Shape) -> int | None:
    return shape[0] if shape else None


def _shape_text(shape: Shape) -> str:
    return "(" + ", ".join("None" if n is None else str(n) for n in shape) + ")"
