"""`keras.utils.plot_model` without pydot or Graphviz: the layout it computes (boxes, their
text, where they sit, the edges and frames) and the files it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from graph_models import inception_cnn, residual_cnn
from nested_models import nested_block_graph, nested_seed_cnn

from convscope import Sequential, layers
from convscope.keras.utils import plot_model
from convscope.plots.model_layout import ModelLayout, PlotBox, model_layout
from convscope.zoo import seed_cnn

SEED_LAYERS = ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten", "dense", "dense_1"]


@pytest.fixture(scope="module")
def seed() -> Sequential:
    return seed_cnn()


def _overlap(first: PlotBox, second: PlotBox) -> bool:
    return (abs(first.x - second.x) < (first.width + second.width) / 2
            and abs(first.y - second.y) < (first.height + second.height) / 2)


def _inside(point: tuple[float, float], box: PlotBox) -> bool:
    return abs(point[0] - box.x) < box.width / 2 and abs(point[1] - box.y) < box.height / 2


def _assert_drawable(layout: ModelLayout) -> None:
    """No two boxes overlap, everything lies on the page, and no bend of an edge enters a box."""
    for position, box in enumerate(layout.boxes):
        assert all(not _overlap(box, other) for other in layout.boxes[position + 1:]), box.name
        assert box.width / 2 <= box.x <= layout.width - box.width / 2
        assert box.height / 2 <= box.y <= layout.height - box.height / 2
    for edge in layout.edges:
        for point in edge.points[1:-1]:
            assert not any(_inside(point, box) for box in layout.boxes), (edge, point)


def test_seed_cnn_draws_one_box_per_layer_top_to_bottom(seed: Sequential, tmp_path: Path) -> None:
    plot = plot_model(seed, to_file=tmp_path / "model.png")
    assert plot.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot.format == "png" and plot._repr_png_() == plot.path.read_bytes()
    layout = plot.layout
    # As in Keras 3, a Sequential model has no box for its input, and boxes show the class alone.
    assert [box.name for box in layout.boxes] == SEED_LAYERS
    assert [box.lines for box in layout.boxes][:2] == [("Conv2D",), ("MaxPooling2D",)]
    assert [(edge.source, edge.target) for edge in layout.edges] == list(zip(SEED_LAYERS, SEED_LAYERS[1:]))
    assert len({round(box.x, 6) for box in layout.boxes}) == 1  # a chain runs straight down
    heights = [box.y for box in layout.boxes]
    assert heights == sorted(heights, reverse=True)
    _assert_drawable(layout)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.png"]  # no temporary left behind


def test_show_shapes_writes_input_and_output_shapes(seed: Sequential) -> None:
    layout = model_layout(seed, show_shapes=True, show_layer_names=True)
    assert layout.box("conv2d").lines == ("conv2d (Conv2D)", "Input shape: (None, 28, 28, 1)",
                                          "Output shape: (None, 26, 26, 64)")
    assert layout.box("max_pooling2d_1").lines[1:] == ("Input shape: (None, 11, 11, 64)",
                                                       "Output shape: (None, 5, 5, 64)")
    assert layout.box("flatten").lines[-1] == "Output shape: (None, 1600)"
    plain = model_layout(seed)
    assert layout.box("conv2d").height > plain.box("conv2d").height  # the rows make the box taller


def test_activations_dtype_and_trainable_rows(seed: Sequential) -> None:
    model = seed_cnn()
    model.layers[0].trainable = False
    layout = model_layout(model, show_dtype=True, show_layer_activations=True, show_trainable=True)
    assert layout.box("conv2d").lines == ("Conv2D", "Activation: relu", "Output dtype: float32", "Non-trainable")
    assert layout.box("conv2d").trainable is False
    assert layout.box("dense_1").lines == ("Dense", "Activation: softmax", "Output dtype: float32", "Trainable")
    # a layer without weights has no trainable row, one without an activation no activation row
    assert layout.box("max_pooling2d").lines == ("MaxPooling2D", "Output dtype: float32")
    assert layout.box("max_pooling2d").trainable is None


def test_rankdir_lr_swaps_the_axes(seed: Sequential) -> None:
    down = model_layout(seed, show_shapes=True)
    across = model_layout(seed, show_shapes=True, rankdir="LR")
    assert across.rankdir == "LR"
    assert len({round(box.y, 6) for box in across.boxes}) == 1
    widths = [box.x for box in across.boxes]
    assert widths == sorted(widths) and len(set(widths)) == len(widths)
    assert [(box.width, box.height) for box in across.boxes] == [(box.width, box.height) for box in down.boxes]
    assert across.width > across.height and down.height > down.width
    first, second = across.boxes[0], across.boxes[1]
    edge = across.edges[0]
    assert edge.points[0] == (first.x + first.width / 2, first.y)     # leaves the right side
    assert edge.points[-1] == (second.x - second.width / 2, second.y)  # enters the left side
    _assert_drawable(across)


def test_residual_graph_branches_and_merges(tmp_path: Path) -> None:
    plot = plot_model(residual_cnn(), tmp_path / "residual.png", show_shapes=True, show_layer_names=True)
    layout = plot.layout
    assert len(layout.boxes) == 14 and layout.boxes[0].lines[0] == "input_layer (InputLayer)"
    assert layout.box("input_layer").lines[1:] == ("Output shape: (None, 28, 28, 1)",)  # no input row
    assert layout.box("block1_add").lines[1] == "Input shape: [(None, 28, 28, 8), (None, 28, 28, 8)]"
    assert len(layout.edges) == 15
    skip = next(edge for edge in layout.edges if (edge.source, edge.target) == ("stem", "block1_add"))
    assert len(skip.points) == 2 + 2 * 2  # through the two ranks it skips
    stem, conv, add = layout.box("stem"), layout.box("block1_conv1"), layout.box("block1_add")
    assert conv.x != skip.points[2][0]  # the skip runs beside the convs it skips
    assert stem.y > conv.y > add.y
    shortcut, branch = layout.box("block2_shortcut"), layout.box("block2_conv1")
    assert shortcut.y == branch.y and shortcut.x != branch.x  # the projection beside its sibling
    _assert_drawable(layout)


def test_inception_branches_sit_side_by_side_in_input_order() -> None:
    layout = model_layout(inception_cnn(), show_shapes=True, rankdir="LR")
    first = [layout.box(name) for name in ("branch1_1x1", "branch2_1x1", "branch3_1x1", "branch4_pool")]
    assert len({box.x for box in first}) == 1
    assert [box.y for box in first] == sorted((box.y for box in first), reverse=True)  # top to bottom as read
    assert layout.box("mixed").lines[1] == ("Input shape: [(None, 13, 13, 4), (None, 13, 13, 6), "
                                            "(None, 13, 13, 4), (None, 13, 13, 4)]")
    _assert_drawable(layout)


def test_nested_model_is_one_box_unless_expanded() -> None:
    model = nested_seed_cnn()
    whole = model_layout(model, show_shapes=True, show_layer_names=True)
    assert [box.name for box in whole.boxes] == ["base", "softmax"]
    assert whole.box("base").lines == ("base (Sequential)", "Input shape: (None, 28, 28, 1)",
                                       "Output shape: (None, 10)")
    assert whole.frames == []
    expanded = model_layout(model, show_layer_names=True, expand_nested=True)
    inner = ["base/conv2d", "base/max_pooling2d", "base/conv2d_1", "base/max_pooling2d_1", "base/flatten",
             "base/dense"]
    assert [box.name for box in expanded.boxes] == [*inner, "softmax"]
    assert expanded.box("base/conv2d").lines == (f"{model.layers[0].layers[0].name} (Conv2D)",)
    (frame,) = expanded.frames
    assert (frame.name, frame.kind) == ("base", "Sequential")
    for name in inner:
        box = expanded.box(name)
        assert frame.left < box.x - box.width / 2 and box.x + box.width / 2 < frame.right
        assert frame.bottom < box.y - box.height / 2 and box.y + box.height / 2 < frame.top
    softmax = expanded.box("softmax")
    assert softmax.y + softmax.height / 2 < frame.bottom  # outside the frame
    _assert_drawable(expanded)


def test_shared_nested_block_drawn_per_call() -> None:
    model = nested_block_graph()
    whole = model_layout(model, show_shapes=True)
    assert [box.name for box in whole.boxes] == ["input_layer", "stem", "pool", "block", "block[1]", "features",
                                                 "classes"]
    assert whole.box("block").lines == ("Functional", "Input shape: (None, 14, 14, 8)",
                                        "Output shape: (None, 14, 14, 8)")
    assert ("block", "block[1]") in [(edge.source, edge.target) for edge in whole.edges]
    expanded = model_layout(model, expand_nested=True)
    assert len(expanded.boxes) == 3 + 4 + 4 + 2
    assert [frame.name for frame in expanded.frames] == ["block", "block[1]"]
    assert ("block/relu", "block[1]/conv") in [(edge.source, edge.target) for edge in expanded.edges]
    _assert_drawable(expanded)


@pytest.mark.parametrize(("name", "head"), [("model.svg", b"<?xml"), ("model.pdf", b"%PDF"),
                                            ("model", b"\x89PNG")])
def test_the_extension_picks_the_format(seed: Sequential, tmp_path: Path, name: str, head: bytes) -> None:
    plot = plot_model(seed, tmp_path / name, dpi=50)
    assert plot.path == tmp_path / name and plot.path.read_bytes().startswith(head)
    if name.endswith(".svg"):
        assert "max_pooling2d" not in (plot._repr_svg_() or "") and "MaxPooling2D" in (plot._repr_svg_() or "")


def test_clear_errors_and_nothing_written(seed: Sequential, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"extension '\.gif' is not one of \.png, \.svg, \.pdf"):
        plot_model(seed, tmp_path / "model.gif")
    with pytest.raises(ValueError, match="rankdir must be one of 'TB', 'BT', 'LR', 'RL'.*got 'XY'"):
        plot_model(seed, tmp_path / "model.png", rankdir="XY")
    with pytest.raises(ValueError, match="layer_range is no longer supported"):
        plot_model(seed, tmp_path / "model.png", layer_range=["conv2d", "dense"])
    with pytest.raises(ValueError, match="unknown argument"):
        plot_model(seed, tmp_path / "model.png", show_layers=True)
    unbuilt = Sequential([layers.Dense(4)])
    with pytest.raises(ValueError, match="has not been built"):
        plot_model(unbuilt, tmp_path / "model.png")
    assert list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_whole(seed: Sequential, tmp_path: Path) -> None:
    target = tmp_path / "model.png"
    target.write_bytes(b"old")
    plot_model(seed, target, dpi=40)
    assert target.read_bytes()[:4] == b"\x89PNG"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.png"]
