"""What the web page and the predict command ask of a trained run, as plain JSON-ready data.

`Predictor` wraps a run's model: class probabilities (with a word of doubt when they are
low), the feature maps of every conv and pooling layer, the shape journey, one cell's worked
arithmetic in stages and the data of a sliding-window player (via `convscope.explain`).
`lesson` works a small matrix and kernel through convolution, activation and pooling with the
NumPy reference operations; it needs no model. Calls to a model are serialised with a lock:
the model is shared between requests and CPU inference already uses every core.
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
MAX_PLAYER_VALUES = 4096  # input cells one player answer carries (a 64x64 channel)
SURE, UNSURE = 0.8, 0.5  # top probabilities above which an answer is stated plainly / as likely
PHOTO_DATASETS = ("fashion", "cifar", "svhn", "imagenet", "photo")  # data that are not pen strokes


class Predictor:
    """A loaded run, ready to answer predictions and explanations."""

    def __init__(self, run: Run, device: str | None = "cpu") -> None:
        self.run = run
        self.model = run.load_model(device=device)
        self.spec = run.input_spec
        self.classes = self.model.output_units("serve")
        self.class_names = run.class_names(self.classes)
        self.input_kind = input_kind(run)
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
            "dataset": dataset_name(self.run), "input_kind": self.input_kind,
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

    def predict(self, pixels: np.ndarray, notes: Sequence[str], k: int = 5,
                warnings: Sequence[str] = ()) -> dict[str, Any]:
        """Prediction, top-k, every class's probability, how sure it is, the notes, warnings
        that the input is far from the training data, and the input as seen."""
        probabilities = self.probabilities(pixels)
        top = self.top(probabilities, k)
        return {"prediction": top[0], "top": top,
                "probabilities": [round(float(p), 6) for p in probabilities],
                "class_names": self.class_names, "notes": list(notes),
                "doubt": doubt(probabilities, self.class_names),
                "warnings": [*warnings, *input_warnings(pixels, self.spec)],
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

    def slide(self, pixels: np.ndarray, layer: str, channel: int, input_channel: int | None = None) -> dict[str, Any]:
        """What a sliding-window player shows for output channel `channel` of a conv or pooling
        layer: one channel of the layer's input, the kernel's size, stride, dilation and padding
        (cells added before and after each axis), and the layer's output for that channel, with
        the colour scales of the whole input and output (every channel, as the Network view
        draws them) and the layer the input comes from (None: the model's input).

        For a conv layer the input channels come ordered by the size of the filter's weights on
        them (`input_channels`); `input_channel` picks the one shown (default the first).

        Raises:
            ValueError: an unknown layer or channel, or an input channel too large to send.
        """
        from convscope import explain
        from convscope.explain.maps import color_scale
        from convscope.explain.reference import resolve_padding

        index = self.layer_index(layer)
        module = self.model.layers[index]
        kind, config = type(module).__name__, module.get_config()
        with self.lock:
            maps = explain.feature_maps(self.model, pixels)
        layer_input = np.asarray(pixels if index == 0 else maps[index - 1].maps, dtype=np.float64)
        output = np.asarray(maps[index].maps, dtype=np.float64)     # (H', W', C) or (L', C)
        rank = output.ndim - 1
        if not 0 <= channel < output.shape[-1]:
            raise ValueError(f"layer {layer!r} has {output.shape[-1]} channels (0..{output.shape[-1] - 1}); "
                             f"got channel {channel}.")
        answer: dict[str, Any] = {"layer": layer, "kind": kind, "channel": channel}
        if kind in CONV_KINDS:
            kernel = tuple(config["kernel_size"])
            dilation = tuple(config.get("dilation_rate") or (1,) * rank)
            weights, *rest = module.get_weights()                 # (*k, C_in, C_out), (C_out,)
            strength = np.abs(weights[..., channel]).reshape(-1, weights.shape[-2]).sum(axis=0)
            order = [int(c) for c in np.argsort(-strength, kind="stable")]
        else:
            kernel, dilation, order = tuple(config["pool_size"]), (1,) * rank, [channel]
        shown = order[0] if input_channel is None else input_channel
        if shown not in order:
            raise ValueError(f"input channel {shown} does not feed channel {channel} of {layer!r}; "
                             f"choose one of 0..{layer_input.shape[-1] - 1}" +
                             ("." if kind in CONV_KINDS else f" (pooling keeps channels apart: {channel})."))
        if layer_input[..., shown].size > MAX_PLAYER_VALUES:
            raise ValueError(f"layer {layer!r} reads {layer_input.shape[:-1]} cells a channel; the player "
                             f"shows at most {MAX_PLAYER_VALUES}.")
        pads = resolve_padding(config["padding"], layer_input.shape[:rank], kernel, tuple(config["strides"]), dilation)
        answer.update({
            "input_channel": shown, "input_channels": order, "input_shape": list(layer_input.shape),
            "output_shape": list(output.shape), "kernel": list(kernel), "strides": list(config["strides"]),
            "dilation": list(dilation), "padding": [list(pair) for pair in pads],
            "activation": config.get("activation", "linear"),
            "input": np.round(layer_input[..., shown], 5).tolist(),
            "output": np.round(output[..., channel], 5).tolist(),
            "input_from": None if index == 0 else maps[index - 1].layer,
            "input_scale": color_scale(layer_input).to_dict(), "output_scale": color_scale(output).to_dict()})
        if kind in CONV_KINDS:
            answer["weights"] = np.round(np.asarray(weights[..., shown, channel], np.float64), 5).tolist()
            answer["bias"] = round(float(rest[0][channel]), 6) if rest else 0.0
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
    """Channels-first uint8 levels (base64), with each channel's min and max to undo them, and
    the layer's colour scale (`LayerMaps.color_scale`): one low..high for all its channels, so
    the page draws them against the same ends and their brightness compares."""
    values = np.asarray(item.maps, dtype=np.float32)                      # (H, W, C) or (L, C)
    axes = tuple(range(values.ndim - 1))
    low, high = values.min(axis=axes), values.max(axis=axes)
    span = np.where(high > low, high - low, 1.0)
    levels = np.rint((values - low) / span * 255).astype(np.uint8)
    channels_first = np.ascontiguousarray(np.moveaxis(levels, -1, 0))   # (C, H, W) or (C, L)
    return {"layer": item.layer, "kind": item.kind, "index": item.index, "shape": list(values.shape),
            "min": np.round(low, 5).tolist(), "max": np.round(high, 5).tolist(),
            "scale": item.color_scale.to_dict(),
            "data": base64.b64encode(channels_first.tobytes()).decode("ascii")}


def conv_answer(steps: Any) -> dict[str, Any]:
    """A conv cell in stages (`stages`, as `convscope.explain` words them): per input channel the
    window, the weights, their products and their sum (`channel_table`, every channel, the
    largest sums first; `channels`, the first MAX_CHANNELS_SHOWN without products), then the
    total over channels, the bias, the activation, the output and the engine's value."""
    rank = len(steps.position)
    table = [{"channel": part.channel, "sum": part.partial_sum, "inputs": part.window.tolist(),
              "weights": part.weights.tolist(), "products": part.products.tolist(),
              "padded": None if part.padded is None else part.padded.tolist()} for part in steps.channel_table]
    first = [t for t in steps.terms if t.channel == 0]
    window = [[first[0].input_position[axis], first[-1].input_position[axis]] for axis in range(rank)]
    return {"layer": steps.layer, "kind": steps.kind, "position": list(steps.position), "channel": steps.filter,
            "channel_count": len(steps.channel_sums), "kernel": list(np.shape(table[0]["inputs"])), "window": window,
            "channels": [{key: entry[key] for key in ("channel", "sum", "inputs", "weights")}
                         for entry in table[:MAX_CHANNELS_SHOWN]],
            "channel_table": table, "stages": [stage_summary(stage) for stage in steps.stages],
            "weighted_sum": steps.weighted_sum, "bias": steps.bias, "pre_activation": steps.pre_activation,
            "activation": steps.activation, "output": steps.output, "engine_output": steps.engine_output,
            "agrees": steps.agrees, "text": steps.text(max_terms=9)}


def stage_summary(stage: Any) -> dict[str, Any]:
    """A stage's name, title, text and value; its arrays are in `channel_table` already."""
    return {"name": stage.name, "title": stage.title, "text": stage.text, "value": stage.value}


def pool_answer(steps: Any) -> dict[str, Any]:
    values = [None if np.isnan(v) else v for v in steps.values]
    return {"layer": steps.layer, "kind": steps.kind, "position": list(steps.position), "channel": steps.channel,
            "reduction": steps.reduction, "window": [list(p) for p in steps.window_positions], "values": values,
            "winner": None if steps.winner is None else list(steps.winner), "output": steps.output,
            "engine_output": steps.engine_output, "agrees": steps.agrees, "text": steps.text(),
            "stages": [stage_summary(stage) for stage in steps.stages]}


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


# -- what kind of input, and how far from the training data --------------------------------------
def dataset_name(run: Run) -> str:
    """The training data's name as the run recorded it ("mnist", "fashion_mnist", ...), or ""."""
    train = run.config.get("train") or {}
    data = run.config.get("data") or {}
    return str(train.get("data") or data.get("source") or "")


def input_kind(run: Run) -> str:
    """How the page takes inputs: "signal" (1D values), "drawing" (a pen on a canvas: grey
    digits centred in a box, as MNIST), or "image" (upload only: photos, clothing, colour)."""
    spec = run.input_spec
    if not spec.is_image:
        return "signal"
    photo = any(word in dataset_name(run).lower() for word in PHOTO_DATASETS)
    if spec.shape[-1] == 1 and spec.fit == "center" and spec.background != "mixed" and not photo:
        return "drawing"
    return "image"


def doubt(probabilities: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """How sure the top class is: "sure" (p >= SURE), "unsure" (p >= UNSURE) or "guess", with a
    sentence naming the runner-up."""
    order = np.argsort(-probabilities, kind="stable")
    best, p = class_names[order[0]], float(probabilities[order[0]])
    second, q = (class_names[order[1]], float(probabilities[order[1]])) if len(order) > 1 else ("", 0.0)
    if p >= SURE:
        return {"level": "sure", "text": ""}
    if p >= UNSURE:
        return {"level": "unsure", "text": f"Not sure: {best} at {p:.0%} is likelier than {second} "
                                           f"({q:.0%}), but the network has doubts."}
    return {"level": "guess", "text": f"Only a guess: no class gets half the probability ({best} {p:.0%}, "
                                      f"{second} {q:.0%})."}


def input_warnings(pixels: np.ndarray, spec: Any) -> list[str]:
    """Plain signs that a model input is far from any training example: an (almost) empty
    image, a flat signal."""
    if not spec.is_image:
        span = float(np.ptp(pixels))
        return [f"The signal is flat (every value is {float(pixels.flat[0]):.4g}); training signals vary, "
                "so the answer means little."] if span == 0 else []
    if spec.background not in ("dark", "light"):
        return []
    gray = pixels.mean(axis=-1)
    ink = gray if spec.background == "dark" else 1.0 - gray
    lit = int((ink > 0.2).sum())
    if lit < 0.01 * gray.size:
        return [f"The input is almost empty ({lit} of {gray.size} pixels differ from the background); "
                "no training image looks like that, so the answer means little."]
    return []


def drawing_warnings(gray: np.ndarray) -> list[str]:
    """For a drawing (uint8 grey levels, dark or light page): a warning when its strokes are a
    speck, far smaller than the training digits, which fill most of their box."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    mask = gray > 51 if np.median(border) <= 127 else gray < 204  # ink: 20% away from the page
    if not mask.any():
        return ["The picture is blank: there is nothing for the network to recognise."]
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    extent = max(rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1) / max(gray.shape)
    coverage = float(mask.mean())
    if extent < 0.15 or coverage < 0.002:
        return [f"The drawing is tiny: its strokes span {extent:.0%} of the picture and cover {coverage:.1%} "
                "of it. It is blown up to the size of a training digit, which makes a blob unlike any of "
                "them: far from the training data. Draw larger."]
    return []


# -- lesson: a small matrix and kernel, worked by hand ------------------------------------------
LESSON_MAX_SIDE = {2: 16, 1: 64}   # matrix cells per axis, by rank
LESSON_MAX_KERNEL = 7
LESSON_MAX_STRIDE = 4
LESSON_MAX_PADDING = 3
LESSON_MAX_VALUE = 1e6


class LessonError(ValueError):
    """A lesson request that cannot be worked (answered 422)."""


def lesson(request: dict[str, Any]) -> dict[str, Any]:
    """Convolution, activation and pooling of a small matrix (or 1D row) by a kernel, cell by
    cell, from `convscope.explain`'s NumPy reference operations.

    `request`: {"matrix": [[...]] or [...], "kernel": [[...]] or [...], "bias": 0, "stride": 1,
    "padding": "valid" | "same" | 0..3, "activation": "relu" | "linear",
    "pool": null | {"size": 2, "stride": 2, "kind": "max" | "average"}}.

    Raises:
        LessonError: a missing, ragged, non-numeric or oversized matrix or kernel, or options
            out of range.
    """
    from convscope import explain
    from convscope.explain import reference

    matrix = _lesson_array(request.get("matrix"), "matrix")
    rank = matrix.ndim
    kernel = _lesson_array(request.get("kernel"), "kernel", rank)
    bias = _lesson_number(request.get("bias", 0), "bias")
    stride = _lesson_int(request.get("stride", 1), "stride", 1, LESSON_MAX_STRIDE)
    padding = _lesson_padding(request.get("padding", "valid"))
    activation = request.get("activation", "relu")
    if activation not in ("relu", "linear"):
        raise LessonError(f"'activation' must be 'relu' or 'linear'; got {activation!r}.")
    pads = reference.resolve_padding(padding, matrix.shape, kernel.shape, (stride,) * rank, (1,) * rank, "lesson")
    padded = np.pad(matrix, pads)
    if any(n < k for n, k in zip(padded.shape, kernel.shape)):
        raise LessonError(f"the kernel {_size(kernel.shape)} is larger than the padded matrix {_size(padded.shape)}; "
                          "use a smaller kernel or more padding.")
    conv = reference.conv2d if rank == 2 else reference.conv1d
    output = conv(matrix, kernel, bias, stride=stride, padding=pads)
    cells = []
    for position in np.ndindex(*output.shape):
        steps = explain.conv_steps_from_arrays(matrix, kernel, bias, position=position, stride=stride,
                                               padding=pads, activation=activation)
        expected = float(output[position])
        assert abs(steps.pre_activation - expected) <= 1e-9 * max(1.0, abs(expected))
        cells.append({"position": list(position),
                      "window": [[p * stride, p * stride + k - 1] for p, k in zip(position, kernel.shape)],
                      "inputs": np.reshape([t.input_value for t in steps.terms], kernel.shape).tolist(),
                      "products": np.reshape([t.product for t in steps.terms], kernel.shape).tolist(),
                      "sum": steps.weighted_sum, "bias": steps.bias, "pre_activation": steps.pre_activation,
                      "output": steps.output})
    activated = reference.relu(output) if activation == "relu" else output
    answer = {"matrix": matrix.tolist(), "kernel": kernel.tolist(), "bias": bias, "stride": stride,
              "padding": [list(pair) for pair in pads], "padded": padded.tolist(), "activation": activation,
              "conv": {"output": output.tolist(), "cells": cells}, "activated": activated.tolist(),
              "pool": None, "notes": []}
    answer["pool"] = _lesson_pool(request.get("pool", {"size": 2}), activated, answer["notes"])
    return answer


def _lesson_pool(options: Any, activated: np.ndarray, notes: list[str]) -> dict[str, Any] | None:
    from convscope import explain
    from convscope.explain import reference

    if options is None or options is False:
        return None
    if not isinstance(options, dict):
        raise LessonError("'pool' must be null or an object such as {\"size\": 2, \"kind\": \"max\"}.")
    size = _lesson_int(options.get("size", 2), "pool size", 1, LESSON_MAX_STRIDE)
    stride = _lesson_int(options.get("stride", size), "pool stride", 1, LESSON_MAX_STRIDE)
    kind = options.get("kind", "max")
    if kind not in ("max", "average"):
        raise LessonError(f"pool 'kind' must be 'max' or 'average'; got {kind!r}.")
    rank = activated.ndim
    if any(n < size for n in activated.shape):
        notes.append(f"no pooling: the {size}x{size} window is larger than the {_size(activated.shape)} map."
                     if rank == 2 else f"no pooling: the window of {size} is longer than the map ({activated.shape[0]}).")
        return None
    pool = {(2, "max"): reference.max_pool2d, (2, "average"): reference.avg_pool2d,
            (1, "max"): reference.max_pool1d, (1, "average"): reference.avg_pool1d}[(rank, kind)]
    pooled = pool(activated, size, stride)
    windows = []
    for position in np.ndindex(*pooled.shape):
        steps = explain.pool_steps_from_arrays(activated, (size,) * rank, (stride,) * rank, "valid",
                                               position=position, reduction=kind)
        windows.append({"position": list(position), "cells": [list(p) for p in steps.window_positions],
                        "values": steps.values, "winner": None if steps.winner is None else list(steps.winner),
                        "output": steps.output})
    return {"size": size, "stride": stride, "kind": kind, "output": pooled.tolist(), "windows": windows}


def _size(shape: Sequence[int]) -> str:
    return "x".join(str(n) for n in shape)


def _lesson_array(value: Any, name: str, rank: int | None = None) -> np.ndarray:
    """A 2D (or 1D) list of finite numbers, within the lesson's size limits."""
    if not isinstance(value, list) or not value:
        raise LessonError(f"'{name}' must be a non-empty list of rows of numbers, e.g. [[1, 0], [0, 1]].")
    if isinstance(value[0], list) and len(value) > LESSON_MAX_SIDE[2]:
        raise LessonError(f"'{name}' has {len(value)} rows; the lesson takes at most {LESSON_MAX_SIDE[2]}.")
    if len(value) > LESSON_MAX_SIDE[1] or any(isinstance(row, list) and len(row) > LESSON_MAX_SIDE[2]
                                               for row in value):
        raise LessonError(f"'{name}' is too large; the lesson takes at most {LESSON_MAX_SIDE[2]}x"
                          f"{LESSON_MAX_SIDE[2]} (or {LESSON_MAX_SIDE[1]} values in one row).")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as error:
        raise LessonError(f"'{name}' must be rows of equal length holding numbers only.") from error
    if array.ndim not in (1, 2) or (rank is not None and array.ndim != rank):
        want = "a list of rows" if (rank or 2) == 2 else "one row of numbers"
        raise LessonError(f"'{name}' must be {want}" + (" like the matrix." if rank else "."))
    if not np.isfinite(array).all() or np.abs(array).max() > LESSON_MAX_VALUE:
        raise LessonError(f"'{name}' values must be finite numbers within +-{LESSON_MAX_VALUE:g}.")
    if rank is not None and max(array.shape) > LESSON_MAX_KERNEL:
        raise LessonError(f"the kernel is {_size(array.shape)}; the lesson takes kernels up to "
                          f"{LESSON_MAX_KERNEL} per side.")
    return array


def _lesson_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= LESSON_MAX_VALUE:
        raise LessonError(f"'{name}' must be a number within +-{LESSON_MAX_VALUE:g}; got {value!r}.")
    return float(value)


def _lesson_int(value: Any, name: str, least: int, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not least <= value <= most:
        raise LessonError(f"'{name}' must be a whole number from {least} to {most}; got {value!r}.")
    return value


def _lesson_padding(value: Any) -> str | int:
    if value in ("valid", "same"):
        return str(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LESSON_MAX_PADDING:
        raise LessonError(f"'padding' must be 'valid', 'same' or 0..{LESSON_MAX_PADDING} zeros on each side; "
                          f"got {value!r}.")
    return value
