"""convscope.explain on grouped convolutions (Conv2D(groups=g), depthwise) and on models used as
layers of other models. The NumPy reference is checked against the engine on the seed CNN's
shapes (64 channels; 2, 4 and 64 groups), conv steps list only the channels a filter's group
reads, and a nested model's layers are nodes of their own, named "model/layer", reading what the
nested model reads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nested_models import grouped_seed_cnn, nested_block_graph, nested_first_graph, nested_seed_cnn

from convscope import Sequential, layers, utils
from convscope.explain import (
    conv_steps,
    conv_steps_from_arrays,
    feature_maps,
    format_shape_journey,
    grad_cam,
    learned_filters,
    merge_steps,
    model_graph,
    pool_steps,
    pool_steps_from_arrays,
    reference,
    shape_journey,
)
from convscope.explain._model import find_node, graph_nodes


def example(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def engine(layer, x: np.ndarray) -> np.ndarray:
    """The layer's own output for one example."""
    with torch.no_grad():
        return layer(torch.from_numpy(x[None])).numpy()[0]


# -- the reference convolution ------------------------------------------------------------------

@pytest.mark.parametrize("groups", [2, 4, 64])
def test_grouped_conv2d_reference_matches_the_engine_on_64_channels(groups: int) -> None:
    utils.set_seed(groups, deterministic=False)
    conv = layers.Conv2D(64, 3, groups=groups, bias_initializer="glorot_uniform")
    conv.build((None, 13, 13, 64))                       # the seed CNN's second conv reads 13x13x64
    kernel, bias = conv.get_weights()
    assert kernel.shape == (3, 3, 64 // groups, 64)
    x = example((13, 13, 64)) - 0.5
    ours = reference.conv2d(x, kernel, bias, groups=groups)
    np.testing.assert_allclose(ours, engine(conv, x), rtol=1e-5, atol=1e-5)
    assert ours.shape == (11, 11, 64)


def test_grouped_conv1d_reference_matches_the_engine() -> None:
    utils.set_seed(1, deterministic=False)
    conv = layers.Conv1D(6, 5, groups=3, padding="same", dilation_rate=2)
    conv.build((None, 20, 9))
    kernel, bias = conv.get_weights()
    x = example((20, 9)) - 0.5
    np.testing.assert_allclose(reference.conv1d(x, kernel, bias, padding="same", dilation=2, groups=3),
                               engine(conv, x), rtol=1e-5, atol=1e-5)


def test_a_grouped_filter_reads_its_own_group_only() -> None:
    x = np.zeros((4, 4, 4))
    x[..., 2] = 1.0                                       # only channel 2 (group 1 of 2) is lit
    out = reference.conv2d(x, np.ones((3, 3, 2, 4)), groups=2)
    np.testing.assert_array_equal(out[0, 0], [0, 0, 9, 9])  # filters 2 and 3 form group 1


def test_grouped_kernel_errors_say_which_groups_fit() -> None:
    x = np.zeros((5, 5, 64))
    with pytest.raises(ValueError, match=r"kernel expects 16 input channels; x has 64.*groups=4"):
        reference.conv2d(x, np.zeros((3, 3, 16, 64)))
    with pytest.raises(ValueError, match=r"groups=3 must divide the 64 input channels and the 64 filters"):
        reference.conv2d(x, np.zeros((3, 3, 16, 64)), groups=3)
    with pytest.raises(ValueError, match=r"with groups=2 the kernel needs 32 input channels per filter"):
        reference.conv2d(x, np.zeros((3, 3, 16, 64)), groups=2)
    with pytest.raises(ValueError, match="groups must be a positive int"):
        reference.conv2d(x, np.zeros((3, 3, 64, 64)), groups=0)


# -- conv steps of a grouped convolution ----------------------------------------------------------

@pytest.mark.parametrize(("groups", "filter", "channels", "words"), [
    (2, 5, range(0, 32), "filter 5 reads input channels 0-31 (group 1 of 2)"),
    (4, 37, range(32, 48), "filter 37 reads input channels 32-47 (group 3 of 4)"),
    (64, 63, range(63, 64), "filter 63 reads input channel 63 (group 64 of 64)"),
])
def test_conv_steps_of_a_grouped_conv_list_the_group_only(groups: int, filter: int, channels: range,
                                                          words: str) -> None:
    model = grouped_seed_cnn(groups)
    steps = conv_steps(model, example((28, 28, 1)), position=(5, 6), filter=filter, layer="conv2d_1")
    assert steps.agrees and steps.groups == groups and steps.input_channels == channels
    assert sorted({term.channel for term in steps.terms}) == list(channels)
    assert len(steps.terms) == 9 * len(channels)
    assert sorted(part.channel for part in steps.channel_table) == list(channels)
    assert steps.text().splitlines()[1].startswith(words + ": a grouped convolution's filter")
    assert words in steps.stages[0].text
    assert steps.stages[0].values.shape == (3, 3, len(channels))
    # the terms read the pooled map's own channels: each product is input x weight of that channel
    pooled = feature_maps(model, example((28, 28, 1)), layers=["max_pooling2d"])[0].maps
    kernel = model.layers[2].get_weights()[0]
    for term in steps.terms[:: max(1, len(steps.terms) // 20)]:
        assert term.input_value == pytest.approx(pooled[(5 + term.tap[0], 6 + term.tap[1], term.channel)])
        assert term.weight == pytest.approx(kernel[(*term.tap, term.channel - channels[0], filter)])
    document = steps.to_dict(max_channels=2)
    assert document["input_channels"] == list(channels) and document["channel_count"] == len(channels)


def test_conv_steps_from_arrays_take_groups_and_match_the_reference() -> None:
    rng = np.random.default_rng(3)
    x, kernel, bias = rng.normal(size=(7, 7, 6)), rng.normal(size=(3, 3, 2, 9)), rng.normal(size=9)
    full = reference.conv2d(x, kernel, bias, padding="same", groups=3)
    for filter in range(9):
        steps = conv_steps_from_arrays(x, kernel, bias, position=(0, 3), filter=filter, padding="same", groups=3)
        assert steps.output == pytest.approx(full[0, 3, filter], abs=1e-12)
        assert steps.group == filter // 3 and list(steps.input_channels) == [2 * (filter // 3), 2 * (filter // 3) + 1]
    with pytest.raises(ValueError, match="kernel expects 2 input channels; x has 6.*groups=3"):
        conv_steps_from_arrays(x, kernel, position=(0, 0))


def test_depthwise_conv_steps_agree_and_separable_is_refused_by_name() -> None:
    utils.set_seed(2, deterministic=False)
    model = Sequential([layers.Conv2D(6, 3, activation="relu", input_shape=(10, 10, 1)),
                        layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="depthwise"),
                        layers.SeparableConv2D(4, 3, name="separable")])
    x = example((10, 10, 1))
    steps = conv_steps(model, x, position=(4, 0), filter=9, layer="depthwise")
    assert steps.agrees and steps.groups == 6 and list(steps.input_channels) == [4]  # 9 = channel 4, multiplier 1
    filters = learned_filters(model, "depthwise")
    assert filters.kernel.shape == (3, 3, 1, 12) and filters.groups == 6 and filters.strongest_input(9) == 4
    journey = {step.layer: step for step in shape_journey(model)}
    assert journey["depthwise"].arithmetic[-1].startswith("channels: 6 x depth_multiplier 2 = 12")
    assert journey["depthwise"].output_shape == (8, 8, 12) and journey["depthwise"].agrees
    with pytest.raises(ValueError, match=r"layer 'separable' is a SeparableConv2D.*depthwise convolution "
                                         r"followed by a 1x1 convolution"):
        conv_steps(model, x, position=(0, 0), layer="separable")


def test_learned_filters_of_a_grouped_conv_name_real_input_channels() -> None:
    filters = learned_filters(grouped_seed_cnn(4), "conv2d_1")
    assert filters.kernel.shape == (3, 3, 16, 64) and filters.groups == 4
    assert filters.input_channels(0) == range(0, 16) and filters.input_channels(63) == range(48, 64)
    assert all(filters.strongest_input(index) in filters.input_channels(index) for index in range(64))


def test_the_journey_says_how_a_grouped_conv_splits_its_channels() -> None:
    step = {step.layer: step for step in shape_journey(grouped_seed_cnn(4))}["conv2d_1"]
    assert step.arithmetic[-1] == "channels: filters = 64, in 4 groups: each filter reads 16 of the 64 input channels"


def test_pool_steps_say_one_value_not_one_values() -> None:
    steps = pool_steps_from_arrays([[2, 0, 1], [3, 5, 6], [0, 1, 2]], 2, padding="same", position=(1, 1),
                                   reduction="average")
    assert "4 values" not in steps.text() and steps.text().splitlines()[1].endswith(", 1 value")
    assert steps.stages[0].text == "2x2 window, 1 value, 3 on padding (ignored)"
    largest = pool_steps_from_arrays([[7]], (1, 1), position=(0, 0))
    assert largest.stages[1].text.startswith("largest of 1 value = 7,")


# -- a Sequential model used as a layer ------------------------------------------------------------

def test_nested_sequential_layers_are_nodes_named_by_their_path() -> None:
    model = nested_seed_cnn()
    nodes = graph_nodes(model)
    assert [node.name for node in nodes] == [
        "base/conv2d", "base/max_pooling2d", "base/conv2d_1", "base/max_pooling2d_1", "base/flatten", "base/dense",
        "softmax"]
    assert nodes[0].sources == ("input",) and nodes[0].inputs == () and nodes[0].scope == ("base",)
    assert nodes[-1].sources == ("base/dense",) and nodes[-1].scope == () and nodes[-2].ends == ("base",)
    inner = model.get_layer("base").get_layer("conv2d_1")
    for name in ("base/conv2d_1", "conv2d_1", 2, inner):
        assert find_node(model, name).layer is inner
    assert find_node(model, "base").name == "base/dense"  # the nested model: the node making its output
    with pytest.raises(ValueError, match=r"'base' is a Sequential model used as a layer; name one of its "
                                         r"layers: base/conv2d, base/conv2d_1"):
        conv_steps(model, example((28, 28, 1)), position=(0, 0), layer="base")


def test_nested_sequential_maps_and_steps_agree_with_the_model() -> None:
    model = nested_seed_cnn()
    x = example((28, 28, 1))
    maps = {item.layer: item for item in feature_maps(model, x)}
    assert list(maps) == [node.name for node in graph_nodes(model)]
    assert maps["base/conv2d_1"].maps.shape == (11, 11, 64) and maps["base/conv2d_1"].scope == ("base",)
    np.testing.assert_allclose(maps["softmax"].maps, engine(model, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(maps["base/dense"].maps, engine(model.get_layer("base"), x), rtol=1e-5, atol=1e-5)
    steps = conv_steps(model, x, position=(5, 5), filter=21, layer="conv2d_1")
    assert steps.agrees and steps.layer == "base/conv2d_1" and steps.input_channels == range(16, 32)
    assert steps.terms[0].input_value == pytest.approx(maps["base/max_pooling2d"].maps[5, 5, 16])
    assert pool_steps(model, x, position=(2, 3), channel=7, layer="base/max_pooling2d_1").agrees
    assert grad_cam(model, x).layer == "base/conv2d_1"  # the last conv, inside the nested model


def test_nested_sequential_journey_is_golden(golden) -> None:
    steps = shape_journey(nested_seed_cnn())
    assert all(step.agrees for step in steps) and steps[0].scope == ("base",)
    text = format_shape_journey(steps)
    assert "   base: a model used as a layer; its layers:" in text
    assert text.splitlines()[-1] == "journey: 28 -> 26 -> 13 -> 11 -> 5 -> 1600 -> 10"
    golden("shape-journey-nested-sequential.txt", text + "\n")


# -- a functional model used as a layer ------------------------------------------------------------

def test_a_nested_block_called_twice_reads_what_each_call_reads() -> None:
    model = nested_block_graph()
    nodes = {node.name: node for node in graph_nodes(model)}
    assert nodes["block/conv"].sources == ("pool",)
    assert nodes["block/add"].sources == ("pool", "block/grouped")     # the block's input is the caller's
    assert nodes["block[1]/conv"].sources == ("block/relu",)
    assert nodes["block[1]/add"].sources == ("block/relu", "block[1]/grouped")
    assert nodes["features"].sources == ("block[1]/relu",)
    assert "block/input_layer" not in nodes  # its input is the pooled map, drawn once
    with pytest.raises(ValueError, match=r"'conv' names 2 layers of nested models: block/conv, block\[1\]/conv"):
        find_node(model, "conv")


def test_nested_block_steps_read_the_right_inputs() -> None:
    model = nested_block_graph()
    x = example((28, 28, 1))
    maps = {item.layer: item.maps for item in feature_maps(model, x)}
    np.testing.assert_allclose(maps["classes"], engine(model, x), rtol=1e-5, atol=1e-6)
    for name in ("block/conv", "block/grouped", "block[1]/conv", "block[1]/grouped"):
        steps = conv_steps(model, x, position=(6, 13), filter=6, layer=name)
        assert steps.agrees, name
    second = conv_steps(model, x, position=(6, 7), filter=0, layer="block[1]/conv")
    assert second.terms[4].input_value == pytest.approx(maps["block/relu"][6, 7, 0])  # the first call's output
    add = merge_steps(model, x, position=(3, 4), channel=5, layer="block[1]/add")
    assert add.agrees and [term.source for term in add.terms] == ["block/relu", "block[1]/grouped"]


def test_nested_block_journey_is_golden(golden) -> None:
    steps = shape_journey(nested_block_graph())
    assert all(step.agrees for step in steps)
    golden("shape-journey-nested-blocks.txt", format_shape_journey(steps) + "\n")


def test_a_functional_model_first_in_a_sequential_reads_the_input() -> None:
    model = nested_first_graph()
    nodes = graph_nodes(model)
    assert [node.name for node in nodes][:2] == ["block/input_layer", "block/conv"]
    assert nodes[0].is_input and nodes[3].sources == ("block/input_layer", "block/grouped")
    x = example((6, 6, 4))
    assert conv_steps(model, x, position=(0, 5), filter=3, layer="grouped").agrees
    np.testing.assert_allclose(feature_maps(model, x)[-1].maps, engine(model, x), rtol=1e-5, atol=1e-6)


def test_the_graph_frames_each_nested_model() -> None:
    graph = model_graph(nested_block_graph())
    groups = {group.name: group for group in graph.groups}
    assert set(groups) == {"block", "block[1]"} and groups["block"].kind == "Functional"
    assert groups["block[1]"].nodes == ("block[1]/conv", "block[1]/grouped", "block[1]/add", "block[1]/relu")
    views = {view.name: view for view in graph.nodes}
    assert views["block/add"].scope == ("block",) and views["features"].scope == ()
    assert views["block[1]/conv"].depth == views["block/relu"].depth + 1
    chain = model_graph(nested_seed_cnn())
    assert chain.is_chain and [group.name for group in chain.groups] == ["base"]
    assert chain.to_dict()["groups"][0]["nodes"][0] == "base/conv2d"


def test_pictures_of_grouped_filters_name_the_channels_they_read() -> None:
    from convscope.plots.explain import conv_steps_figure, filters_figure

    x = example((28, 28, 1))
    steps = conv_steps(grouped_seed_cnn(64), x, position=(5, 5), filter=9, layer="conv2d_1")
    figure = conv_steps_figure(steps)
    caption = " ".join(figure._supxlabel.get_text().split())
    assert caption.startswith("Filter 9 reads input channel 9 (group 10 of 64), its group's share.")
    assert any(axes.get_ylabel().startswith("channel 9\n") for axes in figure.axes)
    filters = learned_filters(grouped_seed_cnn(4), "conv2d_1")
    titles = [axes.get_title() for axes in filters_figure(filters).axes if axes.get_title()]
    assert len(titles) == 64 and all(
        int(title.split("(in ")[1].rstrip(")")) in filters.input_channels(int(title.split()[0])) for title in titles)
    assert "4 groups: each filter reads only the 16 input channels of its group" in " ".join(
        filters_figure(filters)._supxlabel.get_text().split())
