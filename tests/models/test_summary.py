"""summary(): no input needed, no side effects, Keras's numbers, text and data forms."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from typing import Any

import keras_twins
import pytest
import torch
from keras_fixture_files import keras_summary

from convscope import Model, Sequential, keras, layers, zoo
from convscope.models.summary import row_name, summary_data, summary_html, summary_rich


def seed_cnn() -> Sequential:
    return Sequential([
        layers.Conv2D(64, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def captured(model: Model, **options: Any) -> str:
    lines: list[str] = []
    model.summary(print_fn=lines.append, **options)
    return "\n".join(lines) + "\n"


def test_seed_cnn_summary_matches_golden_file(golden: Callable[[str, str], None]) -> None:
    golden("seed_cnn_summary.txt", captured(seed_cnn()))


def test_seed_cnn_summary_with_details_and_macs_matches_golden_file(golden: Callable[[str, str], None]) -> None:
    golden("seed_cnn_summary_details.txt", captured(seed_cnn(), show_details=True, show_macs=True))


def test_seed_cnn_shapes_and_params_as_data() -> None:
    data = seed_cnn().summary_data()
    assert [tuple(row["output_shape"]) for row in data["rows"]] == [
        (None, 26, 26, 64), (None, 13, 13, 64), (None, 11, 11, 64), (None, 5, 5, 64), (None, 1600), (None, 128),
        (None, 10)]
    assert [row["params"] for row in data["rows"]] == [640, 0, 36_928, 0, 0, 204_928, 1_290]
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"]) == (243_786, 243_786, 0)
    assert data["rows"][0]["macs"] == 26 * 26 * 64 * 9


def test_seed_cnn_on_rgb_counts_every_input_channel() -> None:
    data = zoo.build("seed-cnn", (32, 32, 3)).summary_data()
    assert [tuple(row["output_shape"]) for row in data["rows"]] == [
        (None, 30, 30, 64), (None, 15, 15, 64), (None, 13, 13, 64), (None, 6, 6, 64), (None, 2304), (None, 128),
        (None, 10)]
    assert [row["params"] for row in data["rows"]] == [3 * 9 * 64 + 64, 0, 36_928, 0, 0, 2304 * 128 + 128, 1_290]
    assert data["total_params"] == 335_050
    assert data["rows"][0]["macs"] == 30 * 30 * 64 * 9 * 3
    assert data["rows"][2]["macs"] == 13 * 13 * 64 * 9 * 64


def test_the_built_in_seed_cnn_is_the_documented_one() -> None:
    assert zoo.build("seed-cnn").summary_data()["rows"] == seed_cnn().summary_data()["rows"]


def test_summary_has_no_side_effects() -> None:
    model = seed_cnn()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng_before = torch.get_rng_state()
    captured(model)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_compiled_model_with_channels_last_kernels_prints_the_same_and_keeps_its_layout() -> None:
    model = seed_cnn()
    text = captured(model, show_details=True, show_macs=True)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    strides = [p.stride() for p in model.parameters()]
    assert strides[2] == (576, 1, 192, 64)  # the second kernel is channels_last
    assert captured(model, show_details=True, show_macs=True) == text
    assert [p.stride() for p in model.parameters()] == strides


def test_lenet_first_layer_gives_28x28x6() -> None:
    model = Sequential([layers.Conv2D(6, 5, input_shape=(32, 32, 1))])
    assert model.output_shape == (None, 28, 28, 6)
    assert model.count_params() == 6 * 25 + 6


def test_batchnorm_counts_non_trainable_and_names_are_unique() -> None:
    model = Sequential([layers.Input((8, 8, 3)), layers.Conv2D(4, 3), layers.BatchNormalization(),
                       layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(2)])
    data = model.summary_data()
    assert [row["name"] for row in data["rows"]] == ["conv2d", "batch_normalization", "conv2d_1", "flatten", "dense"]
    assert data["non_trainable_params"] == 8
    assert "Non-trainable params: 8" in captured(model)


def test_html_and_rich_renderers() -> None:
    model = seed_cnn()
    html = model._repr_html_()
    assert "conv2d_1 (Conv2D)" in html and "243,786" in html
    from rich.console import Console

    from convscope.models.summary import summary_rich

    console = Console(file=io.StringIO(), width=120)
    console.print(summary_rich(model))
    assert "(None, 5, 5, 64)" in console.file.getvalue()


# -- Keras's arguments: expand_nested, show_trainable, layer_range, line_length, positions ---------
# Keras 3's own tables for the same models and arguments: tests/keras/make_keras_summary_fixtures.py.
def frozen_seed_cnn() -> Sequential:
    model = keras_twins.seed_cnn(keras)
    model.layers[2].trainable = False  # conv2d_1
    return model


KERAS_CASES: dict[str, tuple[Callable[[], Model], dict[str, Any]]] = {
    "trainable": (frozen_seed_cnn, {"show_trainable": True}),
    "range": (lambda: keras_twins.seed_cnn(keras), {"layer_range": ["conv2d", "flatten"]}),
    "range_patterns": (lambda: keras_twins.seed_cnn(keras), {"layer_range": ["conv2d_1", "dense"]}),
    "range_reversed": (lambda: keras_twins.seed_cnn(keras), {"layer_range": ["flatten", "max_pooling2d_1"]}),
    "nested": (lambda: keras_twins.seed_classifier(keras), {"expand_nested": True, "show_trainable": True}),
    "nested_range": (lambda: keras_twins.seed_classifier(keras),
                     {"expand_nested": True, "layer_range": ["sequential", "head"]}),
    "transfer_nested": (lambda: keras_twins.transfer(keras), {"expand_nested": True, "show_trainable": True}),
    "autoencoder_nested": (lambda: keras_twins.autoencoder(keras), {"expand_nested": True}),
}


def rows_as_keras_prints(model: Model, **options: Any) -> list[list[str]]:
    """Our rows as Keras's table holds them: name (type) with the nested mark, shape, params,
    and Trainable when asked for."""
    data = summary_data(model, expand_nested=options.get("expand_nested", False),
                        layer_range=options.get("layer_range"))
    return [[row_name(row).strip(), "(" + ", ".join(str(size) for size in row["output_shape"]) + ")",
             f'{row["params"]:,}'] + ([row["trainable"]] if options.get("show_trainable") else [])
            for row in data["rows"]]


@pytest.mark.parametrize("case", KERAS_CASES)
def test_rows_with_keras_arguments_equal_keras(case: str) -> None:
    build, options = KERAS_CASES[case]
    model = build()
    rows, counts = keras_summary(f"summary_{case}")
    assert rows_as_keras_prints(model, **options) == rows
    data = model.summary_data()
    assert counts == {"Total params": data["total_params"], "Trainable params": data["trainable_params"],
                      "Non-trainable params": data["non_trainable_params"]}


def test_keras_arguments_no_longer_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        text = captured(seed_cnn(), positions=[0.3, 0.6, 0.8, 1.0], show_trainable=True,
                        layer_range=["conv2d", "flatten"])
    assert "dense (Dense)" not in text and "flatten (Flatten)" in text and "Trainable" in text


def test_show_trainable_prints_y_n_and_dash(golden: Callable[[str, str], None]) -> None:
    text = captured(frozen_seed_cnn(), show_trainable=True)
    golden("seed_cnn_summary_trainable.txt", text)
    marks = {line.split()[0]: line.split()[-1] for line in text.splitlines() if "(None," in line}
    assert marks == {"conv2d": "Y", "max_pooling2d": "-", "conv2d_1": "N", "max_pooling2d_1": "-",
                     "flatten": "-", "dense": "Y", "dense_1": "Y"}
    assert "Non-trainable params: 36,928" in text


def test_layer_range_prints_first_to_last_and_the_whole_models_totals() -> None:
    text = captured(seed_cnn(), layer_range=["conv2d_1", "flatten"])
    names = [line.split()[0] for line in text.splitlines() if "(None," in line]
    assert names == ["conv2d_1", "max_pooling2d_1", "flatten"]
    assert "Total params: 243,786" in text


def test_layer_range_naming_no_layer_says_which_and_lists_the_layers() -> None:
    with pytest.raises(ValueError, match=r"'nope'.*conv2d, max_pooling2d, conv2d_1"):
        seed_cnn().summary(layer_range=["conv2d", "nope"], print_fn=print)
    with pytest.raises(ValueError, match="two names"):
        seed_cnn().summary(layer_range="conv2d", print_fn=print)


def test_expand_nested_lists_the_inner_models_layers_under_its_row(golden: Callable[[str, str], None]) -> None:
    model = keras_twins.seed_classifier(keras)
    text = captured(model, expand_nested=True, show_trainable=True)
    golden("classifier_summary_nested.txt", text)
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(" sequential (Sequential)"))
    assert lines[start + 1].startswith("    └ conv2d (Conv2D)")
    assert lines[start + 7].startswith("    └ dense_1 (Dense)") and lines[start + 8].startswith(" head (Dense)")
    assert "Total params: 243,819" in text
    assert captured(model).count("(Conv2D)") == 0  # one row unless expanded


def test_expand_nested_in_a_branching_model_marks_inner_rows_unconnected() -> None:
    inner = keras_twins.seed_cnn(keras)
    left, right = keras.Input((28, 28, 1), name="left"), keras.Input((28, 28, 1), name="right")
    outputs = keras.layers.Concatenate()([inner(left), inner(right)])
    rows = summary_data(keras.Model([left, right], outputs), expand_nested=True)["rows"]
    assert [row["connected_to"] for row in rows][2:4] == ["left[0][0], right[0][0]", "-"]
    assert [row["depth"] for row in rows] == [0, 0, 0, *[1] * 7, 0]


def test_positions_place_each_column_and_line_length_sets_the_rules() -> None:
    text = captured(seed_cnn(), line_length=100, positions=[0.3, 0.6, 0.8, 1.0])
    lines = text.splitlines()
    header = lines[2]
    # 98 characters of cells: the columns end at 29 and 58, after the leading space
    assert (header.index("Output Shape"), header.index("Param #")) == (30, 59)
    assert lines[1] == "_" * 100 and lines[3] == "=" * 100
    assert lines[4] == " conv2d (Conv2D)".ljust(30) + "(None, 26, 26, 64)".ljust(29) + "640"


def test_a_narrow_line_wraps_a_long_name_as_keras_does(golden: Callable[[str, str], None]) -> None:
    text = captured(seed_cnn(), line_length=60, positions=[0.45, 0.8, 1.0], show_trainable=True)
    golden("seed_cnn_summary_narrow.txt", text)
    lines = text.splitlines()
    row = lines.index(next(line for line in lines if line.startswith(" max_pooling2d_1")))
    assert lines[row].split() == ["max_pooling2d_1", "(None,", "5,", "5,", "64)", "0", "-"]
    assert lines[row + 1].strip() == "(MaxPooling2D)"
    assert all(len(line) <= 60 for line in lines)


def test_line_length_alone_widens_the_columns() -> None:
    header = captured(seed_cnn(), line_length=140).splitlines()[2]
    assert (header.index("Output Shape"), header.index("Param #")) == (65, 118)  # 32:26:10 of 138 characters: ends at 64 and 117


def test_positions_that_cannot_fit_are_refused() -> None:
    with pytest.raises(ValueError, match="one per column"):
        seed_cnn().summary(positions=[0.5, 1.0], print_fn=print)
    with pytest.raises(ValueError, match="'Output Shape' would be 1 characters wide"):
        seed_cnn().summary(line_length=40, positions=[0.5, 0.55, 1.0], print_fn=print)


def test_rich_and_html_take_keras_arguments() -> None:
    from rich.console import Console

    model = keras_twins.seed_classifier(keras)
    console = Console(file=io.StringIO(), width=200)
    console.print(summary_rich(model, expand_nested=True, show_trainable=True, line_length=120))
    printed = console.file.getvalue()
    assert "└ conv2d (Conv2D)" in printed and "Trainable" in printed
    assert max(len(line) for line in printed.splitlines()) == 120
    page = summary_html(model, expand_nested=True, show_trainable=True, layer_range=["sequential", "sequential"])
    assert "└ dense_1 (Dense)" in page and "<th>Trainable</th>" in page and "head (Dense)" not in page
    assert "image (InputLayer)" not in page
