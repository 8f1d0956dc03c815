"""What the web page and the predict command ask of a trained run, as plain JSON-ready data.

`Predictor` wraps a run's model: class probabilities, the feature maps of every conv and
pooling layer, the shape journey and one cell's worked arithmetic (via `convscope.explain`).
Calls are serialised with a lock: the model is shared between requests and CPU inference
already uses every core.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from convscope.runs import Run

SPATIAL_KINDS = ("Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D")
CONV_KINDS = ("Conv1D", "Conv2D")
MAX_CHANNELS_SHOWN = 8  # channels whose window and weights a step answer lists in full


class Predictor:
    """A loaded run, ready to answer predictions and explanations."""

    def __init__(self, run: Run, device: str | None = "cpu") -> None:
        self.run = run
        self.model = run.load_model(device=device)
        self.spec = run.input_spec
        self.classes = self.model.output_units("serve")
        self.class_names = run.class_names(self.classes)
        self.lock = threading.Lock()

    # -- model description ------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Name, input preprocessing, classes, layers, shape journey and test metrics."""
        from convscope import explain

        summary = self.model.summary_data()
        journey = explain.shape_journey(self.model)
        return {
            "name": self.model.name, "run": self.run.name, "input": self.spec.to_dict(),
            "classes": self.classes, "class_names": self.class_names,
            "parameters": summary["total_params"],
            "layers": [{"name": row["name"], "kind": row["type"], "output_shape": row["output_shape"][1:],
                        "params": row["params"], "details": row["details"]} for row in summary["rows"]],
            "shape_journey": [{"index": step.index, "layer": step.layer, "kind": step.kind,
                               "input_shape": list(step.input_shape), "output_shape": list(step.output_shape),
                               "arithmetic": step.arithmetic} for step in journey],
            "metrics": self.run.metrics(),
        }

    # -- predictions --------------------------------------------------------------------------
    def probabilities(self, pixels: np.ndarray) -> np.ndarray:
        """(classes,) probabilities for one input shaped like the model's."""
        with self.lock:
            outputs = self.model.predict(pixels[np.newaxis].astype(np.float32))[0].astype(np.float64)
        if outputs.ndim == 1 and outputs.size == 1:  # one sigmoid unit: p(class 1)
            return np.array([1.0 - outputs[0], outputs[0]])
        if outputs.min() >= 0 and abs(outputs.sum() - 1.0) < 1e-3:
            return outputs
        exponentials = np.exp(outputs - outputs.max())  # logits: softmax them
        return exponentials / exponentials.sum()

    def top(self, probabilities: np.ndarray, k: int = 5) -> list[dict[str, Any]]:
        order = np.argsort(-probabilities, kind="stable")[:max(1, k)]
        return [{"class": int(i), "name": self.class_names[i], "probability": round(float(probabilities[i]), 6)}
                for i in order]

    def predict(self, pixels: np.ndarray, notes: Sequence[str], k: int = 5) -> dict[str, Any]:
        """Prediction, top-k, every class's probability, the notes and the input as seen."""
        probabilities = self.probabilities(pixels)
        top = self.top(probabilities, k)
        return {"prediction": top[0], "top": top,
                "probabilities": [round(float(p), 6) for p in probabilities],
                "class_names": self.class_names, "notes": list(notes),
                "input": np.round(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, 4).tolist()}

    # -- explanations ---------------------------------------------------------------------------
    def feature_maps(self, pixels: np.ndarray) -> list[dict[str, Any]]:
        """Each conv and pooling layer's output, channel by channel as 8-bit grey levels."""
        from convscope import explain

        with self.lock:
            maps = explain.feature_maps(self.model, pixels)
        return [encode_maps(item) for item in maps if item.kind in SPATIAL_KINDS]

    def steps(self, pixels: np.ndarray, layer: str, position: Sequence[int], channel: int) -> dict[str, Any]:
        """How one cell of a conv or pooling layer was computed, with its receptive field.

        Raises:
            ValueError: an unknown layer, a layer that is neither conv nor pooling, a position
                outside its output or a channel it does not have.
        """
        from convscope import explain

        index = self.layer_index(layer)
        kind = type(self.model.layers[index]).__name__
        with self.lock:
            if kind in CONV_KINDS:
                steps = explain.conv_steps(self.model, pixels, position=position, filter=channel, layer=index)
                answer = conv_answer(steps)
            else:
                steps = explain.pool_steps(self.model, pixels, position=position, channel=channel, layer=index)
                answer = pool_answer(steps)
        answer["receptive_field"] = receptive_field(self.model, index, steps.position)
        return answer

    def layer_index(self, name: str) -> int:
        for index, layer in enumerate(self.model.layers):
            if layer.name == name:
                if type(layer).__name__ not in SPATIAL_KINDS:
                    raise ValueError(f"layer {name!r} is a {type(layer).__name__}; steps are shown for "
                                     f"conv and pooling layers.")
                return index
        known = ", ".join(layer.name for layer in self.model.layers if type(layer).__name__ in SPATIAL_KINDS)
        raise ValueError(f"no layer named {name!r}; conv and pooling layers: {known}.")


def encode_maps(item: Any) -> dict[str, Any]:
    """Channels-first uint8 levels (base64), with each channel's min and max to undo them."""
    values = np.asarray(item.maps, dtype=np.float32)                      # (H, W, C) or (L, C)
    axes = tuple(range(values.ndim - 1))
    low, high = values.min(axis=axes), values.max(axis=axes)
    span = np.where(high > low, high - low, 1.0)
    levels = np.rint((values - low) / span * 255).astype(np.uint8)
    channels_first = np.ascontiguousarray(np.moveaxis(levels, -1, 0))   # (C, H, W) or (C, L)
    return {"layer": item.layer, "kind": item.kind, "index": item.index, "shape": list(values.shape),
            "min": np.round(low, 5).tolist(), "max": np.round(high, 5).tolist(),
            "data": base64.b64encode(channels_first.tobytes()).decode("ascii")}


def conv_answer(steps: Any) -> dict[str, Any]:
    """A conv cell: per input channel the window, the weights and their sum (the strongest
    channels first when there are many), then bias, activation, output and the engine's value."""
    rank = len(steps.position)
    kernel = tuple(max(t.tap[axis] for t in steps.terms) + 1 for axis in range(rank))
    channels = []
    for channel, subtotal in enumerate(steps.channel_sums):
        terms = [t for t in steps.terms if t.channel == channel]
        channels.append({"channel": channel, "sum": subtotal,
                         "inputs": np.reshape([t.input_value for t in terms], kernel).tolist(),
                         "weights": np.reshape([t.weight for t in terms], kernel).tolist()})
    channels.sort(key=lambda entry: -abs(entry["sum"]))
    return {"layer": steps.layer, "kind": steps.kind, "position": list(steps.position), "channel": steps.filter,
            "channel_count": len(steps.channel_sums), "channels": channels[:MAX_CHANNELS_SHOWN],
            "weighted_sum": steps.weighted_sum, "bias": steps.bias, "pre_activation": steps.pre_activation,
            "activation": steps.activation, "output": steps.output, "engine_output": steps.engine_output,
            "agrees": steps.agrees, "text": steps.text(max_terms=9)}


def pool_answer(steps: Any) -> dict[str, Any]:
    values = [None if np.isnan(v) else v for v in steps.values]
    return {"layer": steps.layer, "kind": steps.kind, "position": list(steps.position), "channel": steps.channel,
            "reduction": steps.reduction, "window": [list(p) for p in steps.window_positions], "values": values,
            "winner": None if steps.winner is None else list(steps.winner), "output": steps.output,
            "engine_output": steps.engine_output, "agrees": steps.agrees, "text": steps.text()}


def receptive_field(model: Any, index: int, position: Sequence[int]) -> list[list[int]]:
    """[[first, last], ...] per spatial axis: the input cells that cell `position` of layer
    `index` depends on (clipped to the input), found by walking the windows back to the input."""
    spans = [[int(p), int(p)] for p in position]
    for layer in reversed(model.layers[:index + 1]):
        if type(layer).__name__ not in SPATIAL_KINDS:
            continue
        kernel = getattr(layer, "kernel_size", None) or layer.pool_size
        dilation = getattr(layer, "dilation_rate", (1,) * len(kernel))
        sizes = layer.input_shape[1:-1]
        for axis, span in enumerate(spans):
            before = _padding_before(layer.padding, sizes[axis], kernel[axis], layer.strides[axis], dilation[axis])
            span[0] = span[0] * layer.strides[axis] - before
            span[1] = span[1] * layer.strides[axis] - before + (kernel[axis] - 1) * dilation[axis]
    shape = model.input_shape[1:-1]
    return [[max(0, first), min(int(size) - 1, last)] for (first, last), size in zip(spans, shape)]


def _padding_before(padding: str, size: int, kernel: int, stride: int, dilation: int) -> int:
    if padding == "valid":
        return 0
    if padding == "causal":
        return (kernel - 1) * dilation
    from convscope.explain.reference import same_padding

    return same_padding(size, kernel, stride, dilation)[0]
