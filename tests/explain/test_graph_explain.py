"""convscope.explain on functional models: a residual CNN, an Inception-style block and a 1D
residual CNN. A node's input is what the nodes it reads made (not the output of the layer listed
before it), merge layers have steps of their own, and every number is checked against the model
itself or the NumPy reference."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from graph_models import inception_cnn, residual_cnn, residual_cnn1d

from convscope import Input, Model, layers, zoo
from convscope.explain import (
    conv_steps,
    feature_maps,
    format_shape_journey,
    grad_cam,
    gradient_saliency,
    merge_steps,
    merge_steps_from_arrays,
    model_graph,
    pool_steps,
    reference,
    shape_journey,
)


def example(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def maps_by_name(model, x: np.ndarray) -> dict[str, np.ndarray]:
    return {maps.layer: maps.maps for maps in feature_maps(model, x)}


# -- shape journey ------------------------------------------------------------------------------

@pytest.mark.parametrize("build", [residual_cnn, inception_cnn, residual_cnn1d], ids=["residual", "inception", "1d"])
def test_shape_journey_of_a_graph_is_golden(build: Callable, golden) -> None:
    model = build()
    steps = shape_journey(model)
    names = [layer.name for layer, _, _ in model.nodes_in_order()]
    assert [step.layer for step in steps] == names  # one row per node, in computing order
    assert all(step.agrees for step in steps)
    golden(f"shape-journey-{model.name}.txt", format_shape_journey(steps) + "\n")


def test_shape_journey_rows_name_what_each_node_reads() -> None:
    steps = {step.layer: step for step in shape_journey(residual_cnn())}
    assert steps["block2_shortcut"].sources == ("pool",)  # not block2_conv2, listed before it
    assert steps["block2_shortcut"].arithmetic[0] == "height: floor((14 - 1) / 2) + 1 = 7"
    assert steps["block1_add"].sources == ("stem", "block1_conv2")
    assert steps["block1_add"].input_shapes == ((28, 28, 8), (28, 28, 8))
    assert steps["block2_add"].output_shape == (7, 7, 12)
    mixed = {step.layer: step for step in shape_journey(inception_cnn())}["mixed"]
    assert mixed.arithmetic[-1] == "channels: 4 + 6 + 4 + 4 = 18" and mixed.output_shape == (13, 13, 18)


def test_shape_journey_of_a_sequential_model_keeps_its_chain_format() -> None:
    text = format_shape_journey(shape_journey(zoo.build("seed-cnn")))
    assert text.splitlines()[0] == "input (28, 28, 1)" and text.endswith("journey: 28 -> 26 -> 13 -> 11 -> 5 -> 1600 "
                                                                         "-> 128 -> 10")


def test_merge_shape_broadcasts_and_concatenates_other_axes() -> None:
    from convscope.explain.shapes import merge_shape

    assert merge_shape("Add", {}, [(4, 4, 8), (1, 1, 8)]) == (
        (4, 4, 8), ["element-wise sum of 2 inputs, sizes of 1 are repeated to fit: (4, 4, 8) and (1, 1, 8) -> (4, 4, 8)"])
    assert merge_shape("Concatenate", {"axis": 1}, [(4, 5, 8), (3, 5, 8)]) == ((7, 5, 8), [
        "joins 2 inputs along the height: (4, 5, 8) | (3, 5, 8) -> (7, 5, 8)", "height: 4 + 3 = 7"])


# -- feature maps ------------------------------------------------------------------------------

def test_feature_maps_of_every_node_keyed_by_name() -> None:
    model = residual_cnn()
    x = example((28, 28, 1))
    maps = feature_maps(model, x)
    assert [m.layer for m in maps] == [layer.name for layer, _, _ in model.nodes_in_order()]
    by_name = {m.layer: m for m in maps}
    assert by_name["block1_add"].sources == ("stem", "block1_conv2") and by_name["block1_add"].kind == "Add"
    np.testing.assert_array_equal(by_name["input_layer"].maps, x)
    np.testing.assert_allclose(by_name["block1_add"].maps, by_name["stem"].maps + by_name["block1_conv2"].maps,
                               rtol=1e-6, atol=1e-7)
    kernel, bias = model.get_layer("block2_shortcut").get_weights()
    shortcut = reference.conv2d(by_name["pool"].maps, kernel, bias, stride=2)  # reads the pooled map
    np.testing.assert_allclose(by_name["block2_shortcut"].maps, shortcut, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(by_name["classes"].maps, model.predict(x[None], verbose=0)[0], rtol=1e-5, atol=1e-6)


def test_feature_maps_equal_the_keras_feature_map_idiom() -> None:
    model = inception_cnn()
    x = example((28, 28, 1), seed=3)
    extractor = Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
    outputs = extractor.predict(x[None], verbose=0)
    ours = maps_by_name(model, x)
    for layer, value in zip(model.layers, outputs, strict=True):
        np.testing.assert_allclose(ours[layer.name], value[0], rtol=1e-5, atol=1e-6, err_msg=layer.name)
    np.testing.assert_array_equal(ours["mixed"], np.concatenate(
        [ours["branch1_1x1"], ours["branch2_3x3"], ours["branch3_5x5"], ours["branch4_1x1"]], axis=-1))


def test_feature_maps_by_name_and_index_pick_nodes() -> None:
    model = inception_cnn()
    picked = feature_maps(model, example((28, 28, 1)), layers=["mixed", 0, "branch4_pool"])
    assert [m.layer for m in picked] == ["input_layer", "branch4_pool", "mixed"]


# -- conv and pool steps at any node -----------------------------------------------------------

@pytest.mark.parametrize(("layer", "position"), [("block2_shortcut", (3, 4)), ("block1_conv2", (0, 27)),
                                                 ("block2_conv1", (6, 6))])
def test_conv_steps_read_the_inbound_node(layer: str, position: tuple[int, int]) -> None:
    model = residual_cnn()
    x = example((28, 28, 1), seed=1)
    steps = conv_steps(model, x, position=position, filter=5, layer=layer)
    assert steps.agrees, steps.text()
    maps = feature_maps(model, x, layers=[layer])[0]
    assert steps.engine_output == pytest.approx(float(maps.maps[(*position, 5)]), rel=1e-6, abs=1e-7)
    source = model.get_layer(layer).inbound_nodes[0].input_tensors[0].history.layer.name
    window = {term.input_position: term.input_value for term in steps.terms if term.channel == 2 and not term.padded}
    read = maps_by_name(model, x)[source]
    for where, value in window.items():
        assert value == pytest.approx(float(read[(*where, 2)]), rel=1e-6)


def test_conv_and_pool_steps_inside_inception_branches() -> None:
    model = inception_cnn()
    x = example((28, 28, 1), seed=2)
    five = conv_steps(model, x, position=(0, 6), filter=3, layer="branch3_5x5")  # padding on top
    assert five.agrees and sum(term.padded for term in five.terms) == 2 * 5 * 2
    pool = pool_steps(model, x, position=(12, 6), channel=7, layer="branch4_pool")  # and below
    assert pool.agrees and len(pool.values) == 9 and np.isnan(pool.values).sum() == 3
    stem_pool = maps_by_name(model, x)["stem_pool"]
    assert pool.output == pytest.approx(float(stem_pool[11:13, 5:8, 7].max()), rel=1e-6)


def test_steps_of_a_1d_graph() -> None:
    model = residual_cnn1d()
    x = example((40, 1), seed=4)
    steps = conv_steps(model, x, position=(39,), filter=1, layer="conv2")
    assert steps.agrees and steps.channel_sums and len(steps.channel_sums) == 8
    add = merge_steps(model, x, position=(7,), channel=2)
    assert add.agrees and [term.source for term in add.terms] == ["stem", "conv2"]


# -- merge steps -------------------------------------------------------------------------------

def test_add_steps_show_the_values_added() -> None:
    model = residual_cnn()
    x = example((28, 28, 1), seed=5)
    steps = merge_steps(model, x, position=(4, 5), channel=6, layer="block2_add")
    maps = maps_by_name(model, x)
    assert [(term.source, term.index) for term in steps.terms] == [("block2_conv2", (4, 5, 6)),
                                                                   ("block2_shortcut", (4, 5, 6))]
    values = [float(maps[name][4, 5, 6]) for name in ("block2_conv2", "block2_shortcut")]
    assert [term.value for term in steps.terms] == pytest.approx(values, rel=1e-6)
    assert steps.output == pytest.approx(sum(values)) and steps.agrees
    assert merge_steps(model, x, position=(0, 0), channel=0).layer == "block1_add"  # the first merge by default


def test_concatenate_steps_say_where_each_channel_comes_from() -> None:
    model = inception_cnn()
    x = example((28, 28, 1), seed=6)
    steps = merge_steps(model, x, position=(2, 11), channel=12, layer="mixed")
    assert [(piece.source, piece.start, piece.stop) for piece in steps.pieces] == [
        ("branch1_1x1", 0, 4), ("branch2_3x3", 4, 10), ("branch3_5x5", 10, 14), ("branch4_1x1", 14, 18)]
    (term,) = steps.terms
    assert (term.source, term.index) == ("branch3_5x5", (2, 11, 2))
    assert steps.output == pytest.approx(float(maps_by_name(model, x)["branch3_5x5"][2, 11, 2])) and steps.agrees


def test_merge_steps_of_arrays_are_golden(golden) -> None:
    left = np.arange(12, dtype=np.float64).reshape(2, 2, 3)
    right = -0.5 * np.ones((1, 1, 3))  # broadcast over the positions
    texts = [merge_steps_from_arrays(kind, [left, right], position=(1, 0), channel=2, sources=["conv", "bias"]).text()
             for kind in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")]
    texts.append(merge_steps_from_arrays("Concatenate", [left, np.zeros((2, 2, 1))], position=(1, 1), channel=1,
                                         sources=["a", "b"]).text())
    golden("merge-steps-arrays.txt", "\n\n".join(texts) + "\n")
    assert merge_steps_from_arrays("Subtract", [left, right], position=(1, 0), channel=2).output == 8.5


def test_merge_steps_refuse_what_does_not_exist() -> None:
    model = residual_cnn()
    x = example((28, 28, 1))
    with pytest.raises(ValueError, match=r"outside the \(7, 7, 12\) output"):
        merge_steps(model, x, position=(7, 0), layer="block2_add")
    with pytest.raises(ValueError, match="layer 'stem' is a Conv2D; expected one of Add"):
        merge_steps(model, x, position=(0, 0), layer="stem")
    with pytest.raises(ValueError, match="no Conv1D, Conv2D, .* 'nope'.*block1_add \\(Add\\)"):
        conv_steps(model, x, position=(0, 0), layer="nope")


# -- saliency ----------------------------------------------------------------------------------

@pytest.mark.parametrize("build", [residual_cnn, inception_cnn])
def test_saliency_of_a_graph_uses_its_logits_and_last_conv_node(build: Callable) -> None:
    model = build()
    x = example((28, 28, 1), seed=7)
    inputs = torch.from_numpy(x[None]).requires_grad_(True)
    logits = model(inputs, logits=True)
    logits[0, 3].backward()
    ours = gradient_saliency(model, x, target=3)
    np.testing.assert_allclose(ours.heatmap, inputs.grad[0].abs().amax(dim=-1).numpy(), rtol=1e-4, atol=1e-8)
    assert ours.score == pytest.approx(float(logits[0, 3].detach()), rel=1e-5)
    cam = grad_cam(model, x, target=3)
    last_conv = [layer.name for layer, _, _ in model.nodes_in_order() if type(layer).__name__ == "Conv2D"][-1]
    assert cam.layer == last_conv and cam.heatmap.shape == (28, 28) and cam.heatmap.max() <= 1.0
    assert cam.probability == pytest.approx(float(model.predict(x[None], verbose=0)[0, 3]), rel=1e-4)


# -- the graph to draw -------------------------------------------------------------------------

def test_model_graph_puts_nodes_in_columns_and_marks_skips() -> None:
    graph = model_graph(residual_cnn())
    depth = {node.name: node.depth for node in graph.nodes}
    assert depth["input_layer"] == 0 and depth["stem"] == 1 and depth["block1_add"] == 4
    assert depth["block2_shortcut"] == depth["block2_conv1"] == 7 and depth["block2_add"] == 9
    skips = {(edge.source, edge.target) for edge in graph.edges if edge.span > 1}
    assert skips == {("stem", "block1_add"), ("block2_shortcut", "block2_add")}
    assert not graph.is_chain and len(graph.edges) == sum(len(node.inputs) for node in graph.nodes)
    shapes = {node.name: node.shape for node in graph.nodes}
    assert shapes["block2_add"] == (7, 7, 12) and shapes["classes"] == (10,)
    inception = model_graph(inception_cnn())
    assert sorted(node.name for node in inception.nodes if node.depth == 3) == [
        "branch1_1x1", "branch2_1x1", "branch3_1x1", "branch4_pool"]


def test_model_graph_of_a_sequential_model_is_a_chain_from_its_input() -> None:
    graph = model_graph(zoo.build("mnist1d-cnn"))
    assert graph.nodes[0].name == "input" and graph.nodes[0].shape == (40, 1) and graph.is_chain
    assert [node.depth for node in graph.nodes] == list(range(len(graph.nodes)))


# -- shared layers, several inputs -------------------------------------------------------------

def test_a_shared_layer_gives_one_node_per_call() -> None:
    inputs = Input((10, 10, 1))
    conv = layers.Conv2D(3, 3, padding="same", activation="relu", name="shared")
    x = conv(inputs)
    y = conv(layers.Conv2D(1, 1, name="mix")(x))
    model = Model(inputs, layers.Dense(2)(layers.Flatten()(layers.Add(name="sum")([x, y]))))
    x_in = example((10, 10, 1))
    names = [m.layer for m in feature_maps(model, x_in)]
    assert names[:4] == ["input_layer", "shared", "mix", "shared[1]"]
    steps = conv_steps(model, x_in, position=(5, 5), filter=1, layer="shared[1]")
    assert steps.agrees and steps.layer == "shared[1]" and len(steps.channel_sums) == 1
    assert {step.layer: step.sources for step in shape_journey(model)}["sum"] == ("shared", "shared[1]")


def test_a_model_with_two_inputs_is_refused_with_a_fix() -> None:
    first, second = Input((8, 8, 1), name="a"), Input((8, 8, 1), name="b")
    model = Model([first, second], layers.Add()([layers.Conv2D(2, 3)(first), layers.Conv2D(2, 3)(second)]))
    with pytest.raises(ValueError, match="takes 2 inputs \\(a, b\\); explain works on models with one input"):
        feature_maps(model, example((8, 8, 1)))


# -- the zoo's residual CNN, when the zoo has it -----------------------------------------------

def test_the_zoos_residual_cnn_explains_end_to_end() -> None:
    if "residual-cnn" not in zoo.names():
        pytest.skip("this convscope's zoo has no residual-cnn")
    model = zoo.build("residual-cnn")
    x = example(tuple(model.input_shape[1:]), seed=8)
    steps = shape_journey(model)
    assert all(step.agrees for step in steps)
    maps = feature_maps(model, x)
    np.testing.assert_allclose(maps[-1].maps, model.predict(x[None], verbose=0)[0], rtol=1e-4, atol=1e-6)
    adds = [m for m in maps if m.kind == "Add"]
    assert adds
    for add in adds:
        position = tuple(n // 2 for n in add.maps.shape[:-1])
        assert merge_steps(model, x, position=position, channel=0, layer=add.layer).agrees
    convs = [m for m in maps if m.kind == "Conv2D"]
    for conv in convs:
        position = tuple(n // 2 for n in conv.maps.shape[:-1])
        assert conv_steps(model, x, position=position, layer=conv.layer).agrees, conv.layer
    assert grad_cam(model, x).layer == convs[-1].layer


def test_layers_without_arithmetic_take_the_shape_the_layer_computes() -> None:
    from convscope import Sequential

    inner = Sequential([layers.Conv2D(4, 3, activation="relu", input_shape=(12, 12, 1)), layers.MaxPooling2D(2)],
                       name="features")
    inputs = Input((12, 12, 1))
    padded = layers.ZeroPadding2D(1, name="pad")(inner(inputs))
    model = Model(inputs, layers.Dense(3, name="scores")(layers.Flatten(name="flat")(padded)))
    steps = {step.layer: step for step in shape_journey(model)}
    assert steps["features/max_pooling2d"].output_shape == (5, 5, 4) and steps["pad"].output_shape == (7, 7, 4)
    assert steps["pad"].arithmetic == ["computed by the layer: (7, 7, 4)"]
    assert steps["flat"].arithmetic == ["7 x 7 x 4 = 196"] and all(step.agrees for step in steps.values())
    maps = maps_by_name(model, example((12, 12, 1)))
    assert maps["features/max_pooling2d"].shape == (5, 5, 4) and maps["pad"].shape == (7, 7, 4)


def test_a_one_channel_map_draws_with_its_caption(tmp_path, recwarn) -> None:
    from convscope.plots.explain import feature_maps_figure, plot_feature_maps

    maps = feature_maps(residual_cnn(), example((28, 28, 1)), layers=["input_layer", "block1_add"])
    written = [plot_feature_maps(item, tmp_path / f"{item.layer}.png") for item in maps]
    assert all(path.stat().st_size > 1000 for path in written)
    assert not [warning for warning in recwarn if "constrained_layout" in str(warning.message)]
    caption = " ".join(feature_maps_figure(maps[0])._supxlabel.get_text().split())
    assert caption.startswith("Each panel is one channel of the model's input, as the network sees it.")
    merged = feature_maps_figure(maps[1])
    assert merged._suptitle.get_text() == "Add 'block1_add' output (28, 28, 8) from stem, block1_conv2"
    assert " ".join(merged._supxlabel.get_text().split()).startswith(
        "Each panel is one channel of what the Add layer made of its 2 inputs, cell by cell.")
