"""The web page's explanations of a model, as JSON-ready data: its description and graph, the
feature maps of every conv, pooling and merge layer, one cell's worked arithmetic in stages, and
the data of a sliding-window player (all computed by `convscope.explain`, shaped here for the page).

Layers are named as `convscope.explain` names a model's nodes: a Sequential model's layers, or a
functional model's layer calls (a shared layer's second call is "name[1]"), and a nested model's
layers "model/layer" (its layer's own name works too when no other layer has it). A node's input
is what the nodes it reads made, so a residual block's second conv reads the first, and an Add
reads both. A grouped convolution's filter reads only its group's input channels, and the steps
and the player show only those.

Each function takes the app's `Predictor` and holds its lock while the model runs: the model
is shared between requests and CPU inference already uses every core.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from convscope.inference.predictor import Predictor, dataset_name

CONV_KINDS = ("Conv1D", "Conv2D", "DepthwiseConv1D", "DepthwiseConv2D")  # as convscope.explain.steps
SPATIAL_KINDS = (*CONV_KINDS, "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D")
MERGE_KINDS = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
STEP_KINDS = SPATIAL_KINDS + MERGE_KINDS  # the layers whose cells the page works out
MAX_CHANNELS_SHOWN = 8  # channels whose window and weights a step answer lists in full
MAX_PLAYER_VALUES = 4096  # input cells one player answer carries (a 64x64 channel)


def describe(predictor: Predictor) -> dict[str, Any]:
    """Name, input preprocessing, classes, layers, shape journey, graph and test metrics."""
    from convscope import explain

    model, run = predictor.model, predictor.run
    summary = model.summary_data()
    journey = explain.shape_journey(model)
    graph = explain.model_graph(model)
    return {
        "name": model.name, "run": run.name, "input": predictor.preprocessing.to_dict(),
        "classes": predictor.classes, "class_names": predictor.class_names,
        "parameters": summary["total_params"],
        "layers": [{"name": row["name"], "kind": row["type"], "output_shape": row["output_shape"][1:],
                    "params": row["params"], "details": row["details"]} for row in summary["rows"]],
        "shape_journey": [{"index": step.index, "layer": step.layer, "kind": step.kind,
                           "input_shape": list(step.input_shape), "output_shape": list(step.output_shape),
                           "arithmetic": step.arithmetic, "sources": list(step.sources),
                           "input_shapes": [list(shape) for shape in step.input_shapes],
                           "scope": list(step.scope)} for step in journey],
        "graph": {**graph.to_dict(), "chain": graph.is_chain,
                  "steps": [node.name for node in graph.nodes if node.kind in STEP_KINDS]},
        "metrics": run.metrics(),
        "dataset": dataset_name(run), "input_kind": predictor.input_kind, "vocabulary": predictor.vocabulary,
    }


def feature_maps(predictor: Predictor, pixels: np.ndarray) -> list[dict[str, Any]]:
    """Each conv, pooling and merge layer's output, channel by channel as 8-bit grey levels; in a
    functional model also every other node with maps (a ReLU after an Add, a BatchNormalization),
    its InputLayers excepted."""
    from convscope import explain
    from convscope.explain._model import is_graph

    with predictor.lock:
        maps = explain.feature_maps(predictor.model, pixels)
    graph = is_graph(predictor.model)
    return [encode_maps(item) for item in maps
            if item.kind in STEP_KINDS or (graph and item.kind != "InputLayer" and item.maps.ndim >= 2)]


def steps(predictor: Predictor, pixels: np.ndarray, layer: str, position: Sequence[int],
          channel: int) -> dict[str, Any]:
    """How one cell of a conv, pooling or merge layer was computed, with its receptive field.

    Raises:
        ValueError: an unknown layer, a layer that is none of those, a position outside its
            output or a channel it does not have.
    """
    from convscope import explain

    model = predictor.model
    node = find_node(model, layer, STEP_KINDS)
    with predictor.lock:
        if node.kind in CONV_KINDS:
            worked = explain.conv_steps(model, pixels, position=position, filter=channel, layer=node.index)
            answer = conv_answer(worked)
        elif node.kind in MERGE_KINDS:
            worked = explain.merge_steps(model, pixels, position=position, channel=channel, layer=node.index)
            answer = merge_answer(worked)
        else:
            worked = explain.pool_steps(model, pixels, position=position, channel=channel, layer=node.index)
            answer = pool_answer(worked)
    answer["receptive_field"] = receptive_field(model, node.index, worked.position)
    return answer


def slide(predictor: Predictor, pixels: np.ndarray, layer: str, channel: int,
          input_channel: int | None = None) -> dict[str, Any]:
    """What a sliding-window player shows for output channel `channel` of a conv or pooling
    layer: one channel of the layer's input, the kernel's size, stride, dilation and padding
    (cells added before and after each axis), and the layer's output for that channel, with
    the colour scales of the whole input and output (every channel, as the Network view
    draws them) and the layer the input comes from (None: the model's input).

    For a conv layer the input channels the filter reads (of a grouped convolution: its group's)
    come ordered by the size of the filter's weights on them (`input_channels`); `input_channel`
    picks the one shown (default the first).

    Raises:
        ValueError: an unknown layer or channel, or an input channel too large to send.
    """
    from convscope import explain
    from convscope.explain.maps import color_scale
    from convscope.explain.reference import resolve_padding

    node = find_node(predictor.model, layer, SPATIAL_KINDS)
    module = node.layer
    kind, config = node.kind, module.get_config()
    with predictor.lock:
        maps = explain.feature_maps(predictor.model, pixels)
    source = maps[node.inputs[0]] if node.inputs else None  # None: the model's input
    layer_input = np.asarray(pixels if source is None else source.maps, dtype=np.float64)
    output = np.asarray(maps[node.index].maps, dtype=np.float64)     # (H', W', C) or (L', C)
    rank = output.ndim - 1
    if not 0 <= channel < output.shape[-1]:
        raise ValueError(f"layer {layer!r} has {output.shape[-1]} channels (0..{output.shape[-1] - 1}); "
                         f"got channel {channel}.")
    kernel, dilation, order = _window(module, kind, config, channel, rank)
    shown = order[0] if input_channel is None else input_channel
    if shown not in order:
        raise ValueError(f"input channel {shown} does not feed channel {channel} of {layer!r}; "
                         f"choose one of {min(order)}..{max(order)}" + _feeds_why(module, kind, channel))
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
        "input_from": None if source is None or source.kind == "InputLayer" else source.layer,
        "input_scale": color_scale(layer_input).to_dict(), "output_scale": color_scale(output).to_dict()}
    if kind in CONV_KINDS:
        from convscope.explain._model import conv_weights

        weights, bias, groups = conv_weights(module)              # (*k, C_in / groups, C_out), (C_out,)
        first = min(order)                                         # the filter's group starts here
        answer["weights"] = np.round(np.asarray(weights[..., shown - first, channel], np.float64), 5).tolist()
        answer["bias"] = round(float(bias[channel]), 6) if bias is not None else 0.0
        answer["groups"] = groups
    return answer


def _window(module: Any, kind: str, config: dict[str, Any], channel: int,
            rank: int) -> tuple[tuple[int, ...], tuple[int, ...], list[int]]:
    """(kernel, dilation, input channels feeding `channel`, strongest weights first)."""
    if kind not in CONV_KINDS:
        return tuple(config["pool_size"]), (1,) * rank, [channel]
    from convscope.explain._model import conv_weights

    weights, _, groups = conv_weights(module)                     # (*k, C_in / groups, C_out)
    per_group = weights.shape[-2]
    first = channel // (weights.shape[-1] // groups) * per_group  # the filter's group's first channel
    strength = np.abs(weights[..., channel]).reshape(-1, per_group).sum(axis=0)
    order = [first + int(c) for c in np.argsort(-strength, kind="stable")]
    return tuple(config["kernel_size"]), tuple(config.get("dilation_rate") or (1,) * rank), order


def _feeds_why(module: Any, kind: str, channel: int) -> str:
    """Why only some input channels feed output `channel`: "." for an ordinary convolution."""
    if kind not in CONV_KINDS:
        return f" (pooling keeps channels apart: {channel})."
    from convscope.explain._model import conv_weights

    groups = conv_weights(module)[2]
    return f" (the convolution has {groups} groups; a filter reads its group's channels only)." if groups > 1 else "."


def find_node(model: Any, name: str, kinds: tuple[str, ...]) -> Any:
    """The node (`convscope.explain._model.GraphNode`) of layer `name`, one of `kinds`: a node's
    name, or a nested model's layer's own name when no other layer has it.

    Raises:
        ValueError: no such layer, a name several nested layers share, a nested model's name, or
            a layer of another kind.
    """
    from convscope.explain._model import named_nodes, walk

    found = walk(model)
    for node in named_nodes(found, name, kinds):
        if node.kind not in kinds:
            what = "conv, pooling and merge layers" if kinds == STEP_KINDS else "conv and pooling layers"
            raise ValueError(f"layer {name!r} is a {node.kind}; steps are shown for {what}.")
        return node
    known = ", ".join(node.name for node in found.nodes if node.kind in kinds)
    raise ValueError(f"no layer named {name!r}; layers to pick from: {known}.")


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
    return {"layer": item.layer, "kind": item.kind, "index": item.index, "sources": list(item.sources),
            "shape": list(values.shape),
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
    first = [t for t in steps.terms if t.channel == steps.input_channels[0]]
    window = [[first[0].input_position[axis], first[-1].input_position[axis]] for axis in range(rank)]
    return {"layer": steps.layer, "kind": steps.kind, "position": list(steps.position), "channel": steps.filter,
            "channel_count": len(steps.channel_sums), "kernel": list(np.shape(table[0]["inputs"])), "window": window,
            "groups": steps.groups, "input_channels": list(steps.input_channels), "group_text": steps.group_text,
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


def merge_answer(steps: Any) -> dict[str, Any]:
    """A merge cell: every input's value there and the result (element-wise), or which input
    each output channel range copies (Concatenate)."""
    return {"layer": steps.layer, "kind": steps.kind, "position": list(steps.position), "channel": steps.channel,
            "operation": steps.operation,
            "terms": [{"source": term.source, "index": list(term.index), "value": term.value} for term in steps.terms],
            "pieces": [{"source": piece.source, "start": piece.start, "stop": piece.stop} for piece in steps.pieces],
            "output": steps.output, "engine_output": steps.engine_output, "agrees": steps.agrees,
            "text": steps.text()}


def receptive_field(model: Any, index: int, position: Sequence[int]) -> list[list[int]]:
    """[[first, last], ...] per spatial axis: the input cells that cell `position` of node
    `index` depends on (clipped to the input), found by walking the windows back to the input
    along every path; in a graph, the union over the branches (a skip connection's path sees
    less than the path through the convolutions)."""
    from convscope.explain._model import graph_nodes

    nodes = graph_nodes(model)
    spans: dict[int, list[list[int]]] = {index: [[int(p), int(p)] for p in position]}
    found: list[list[int]] | None = None
    for node in reversed(nodes[:index + 1]):  # every reader comes after what it reads
        span = spans.pop(node.index, None)
        if span is None:
            continue
        if node.kind in SPATIAL_KINDS:
            span = _window_back(node.layer, span)
        if not node.inputs:  # the model's input
            found = span if found is None else [[min(a[0], b[0]), max(a[1], b[1])] for a, b in zip(found, span)]
        for source in node.inputs:
            known = spans.get(source)
            spans[source] = span if known is None else [[min(a[0], b[0]), max(a[1], b[1])]
                                                         for a, b in zip(known, span)]
    shape = model.input_shape[1:-1]
    assert found is not None, "every node leads back to the model's input"
    return [[max(0, first), min(int(size) - 1, last)] for (first, last), size in zip(found, shape)]


def _window_back(layer: Any, spans: list[list[int]]) -> list[list[int]]:
    """The spans of a conv or pooling layer's input that its output `spans` read."""
    kernel = getattr(layer, "kernel_size", None) or layer.pool_size
    dilation = getattr(layer, "dilation_rate", (1,) * len(kernel))
    sizes = layer.input_shape[1:-1]
    result = []
    for axis, (first, last) in enumerate(spans):
        before = _padding_before(layer.padding, sizes[axis], kernel[axis], layer.strides[axis], dilation[axis])
        result.append([first * layer.strides[axis] - before,
                       last * layer.strides[axis] - before + (kernel[axis] - 1) * dilation[axis]])
    return result


def _padding_before(padding: str, size: int, kernel: int, stride: int, dilation: int) -> int:
    if padding == "valid":
        return 0
    if padding == "causal":
        return (kernel - 1) * dilation
    from convscope.explain.reference import same_padding

    return same_padding(size, kernel, stride, dilation)[0]

