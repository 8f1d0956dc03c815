"""summary(): no input needed, no side effects, Keras's numbers, text and data forms."""

from __future__ import annotations

import io
from collections.abc import Callable

import torch

from convscope import Sequential, layers, zoo


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


def captured(model: Sequential, **options) -> str:
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
