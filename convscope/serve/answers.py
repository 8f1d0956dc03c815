"""The web page's explanations of a model, as JSON-ready data: its description, the feature
maps of every conv and pooling layer, one cell's worked arithmetic in stages, and the data of a
sliding-window player (all computed by `convscope.explain`, shaped here for the page).

Each function takes the app's `Predictor` and holds its lock while the model runs: the model
is shared between requests and CPU inference already uses every core.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from convscope.inference.predictor import Predictor, dataset_name

SPATIAL_KINDS = ("Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D")
CONV_KINDS = ("Conv1D", "Conv2D")
MAX_CHANNELS_SHOWN = 8  # channels whose window and weights a step answer lists in full
MAX_PLAYER_VALUES = 4096  # input cells one player answer carries (a 64x64 channel)


def describe(predictor: Predictor) -> dict[str, Any]:
    """Name, input preprocessing, classes, layers, shape journey and test metrics."""
    from convscope import explain

    model, run = predictor.model, predictor.run
    summary = model.summary_data()
    journey = explain.shape_journey(model)
    return {
        "name": model.name, "run": run.name, "input": predictor.preprocessing.to_dict(),
        "classes": predictor.classes, "class_names": predictor.class_names,
        "parameters": summary["total_params"],
        "layers": [{"name": row["name"], "kind": row["type"], "output_shape": row["output_shape"][1:],
                    "params": row["params"], "details": row["details"]} for row in summary["rows"]],
        "shape_journey": [{"index": step.index, "layer": step.layer, "kind": step.kind,
                           "input_shape": list(step.input_shape), "output_shape": list(step.output_shape),
                           "arithmetic": step.arithmetic} for step in journey],
        "metrics": run.metrics(),
        "dataset": dataset_name(run), "input_kind": predictor.input_kind,
    }


def feature_maps(predictor: Predictor, pixels: np.ndarray) -> list[dict[str, Any]]:
    """Each conv and pooling layer's output, channel by channel as 8-bit grey levels."""
    from convscope import explain

    with predictor.lock:
        maps = explain.feature_maps(predictor.model, pixels)
    return [encode_maps(item) for item in maps if item.kind in SPATIAL_KINDS]


def steps(predictor: Predictor, pixels: np.ndarray, layer: str, position: Sequence[int],
          channel: int) -> dict[str, Any]:
    """How one cell of a conv or pooling layer was computed, with its receptive field.

    Raises:
        ValueError: an unknown layer, a layer that is neither conv nor pooling, a position
            outside its output or a channel it does not have.
    """
    from convscope import explain

    model = predictor.model
    index = layer_index(model, layer)
    kind = type(model.layers[index]).__name__
    with predictor.lock:
        if kind in CONV_KINDS:
            worked = explain.conv_steps(model, pixels, position=position, filter=channel, layer=index)
            answer = conv_answer(worked)
        else:
            worked = explain.pool_steps(model, pixels, position=position, channel=channel, layer=index)
            answer = pool_answer(worked)
    answer["receptive_field"] = receptive_field(model, index, worked.position)
    return answer


def slide(predictor: Predictor, pixels: np.ndarray, layer: str, channel: int,
          input_channel: int | None = None) -> dict[str, Any]:
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

    index = layer_index(predictor.model, layer)
    module = predictor.model.layers[index]
    kind, config = type(module).__name__, module.get_config()
    with predictor.lock:
        maps = explain.feature_maps(predictor.model, pixels)
    layer_input = np.asarray(pixels if index == 0 else maps[index - 1].maps, dtype=np.float64)
    output = np.asarray(maps[index].maps, dtype=np.float64)     # (H', W', C) or (L', C)
    rank = output.ndim - 1
    if not 0 <= channel < output.shape[-1]:
        raise ValueError(f"layer {layer!r} has {output.shape[-1]} channels (0..{output.shape[-1] - 1}); "
                         f"got channel {channel}.")
    kernel, dilation, order = _window(module, kind, config, channel, rank)
    shown = order[0] if input_channel is None else input_channel
    if shown not in order:
        raise ValueError(f"input channel {shown} does not feed channel {channel} of {layer!r}; "
                         f"choose one of 0..{layer_input.shape[-1] - 1}" +
                         ("." if kind in CONV_KINDS else f" (pooling keeps channels apart: {channel})."))
    if layer_input[..., shown].size > MAX_PLAYER_VALUES:
        raise ValueError(f"layer {layer!r} reads {layer_input.shape[:-1]} cells a channel; the player "
                         f"shows at most {MAX_PLAYER_VALUES}.")
    pads = resolve_padding(config["padding"], layer_input.shape[:rank], kernel, tuple(config["strides"]), dilation)
    answer: dict[str, Any] = {
        "layer": layer, "kind": kind, "channel": channel,
        "input_channel": shown, "input_channels": order, "input_shape": list(layer_input.shape),
        "output_shape": list(output.shape), "kernel": list(kernel), "strides": list(config["strides"]),
        "dilation": list(dilation), "padding": [list(pair) for pair in pads],
        "activation": config.get("activation", "linear"),
        "input": np.round(layer_input[..., shown], 5).tolist(),
        "output": np.round(output[..., channel], 5).tolist(),
        "input_from": None if index == 0 else maps[index - 1].layer,
        "input_scale": color_scale(layer_input).to_dict(), "output_scale": color_scale(output).to_dict()}
    if kind in CONV_KINDS:
        weights, *rest = module.get_weights()                     # (*k, C_in, C_out), (C_out,)
        answer["weights"] = np.round(np.asarray(weights[..., shown, channel], np.float64), 5).tolist()
        answer["bias"] = round(float(rest[0][channel]), 6) if rest else 0.0
    return answer


def _window(module: Any, kind: str, config: dict[str, Any], channel: int,
            rank: int) -> tuple[tuple[int, ...], tuple[int, ...], list[int]]:
    """(kernel, dilation, input channels feeding `channel`, strongest weights first)."""
    if kind not in CONV_KINDS:
        return tuple(config["pool_size"]), (1,) * rank, [channel]
    weights = module.get_weights()[0]                             # (*k, C_in, C_out)
    strength = np.abs(weights[..., channel]).reshape(-1, weights.shape[-2]).sum(axis=0)
    order = [int(c) for c in np.argsort(-strength, kind="stable")]
    return tuple(config["kernel_size"]), tuple(config.get("dilation_rate") or (1,) * rank), order


def layer_index(model: Any, name: str) -> int:
    """The index of conv or pooling layer `name` in `model.layers`.

    Raises:
        ValueError: no such layer, or a layer that is neither conv nor pooling.
    """
    for index, layer in enumerate(model.layers):
        if layer.name == name:
            if type(layer).__name__ not in SPATIAL_KINDS:
                raise ValueError(f"layer {name!r} is a {type(layer).__name__}; steps are shown for "
                                 f"conv and pooling layers.")
            return index
    known = ", ".join(layer.name for layer in model.layers if type(layer).__name__ in SPATIAL_KINDS)
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

