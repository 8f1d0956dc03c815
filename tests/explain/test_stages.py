"""A conv cell's stages on the seed CNN (briefly trained on real MNIST): window x weights =
products, a partial sum per input channel, the total, + bias, the activation, and the model's
own feature-map value, for conv2d (1 input channel) and conv2d_1 (64); pooling's window, winner
and output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convscope import Sequential, set_seed, zoo
from convscope.explain import conv_steps, conv_steps_from_arrays, feature_maps, pool_steps
from convscope.explain.stages import CONV_STAGES, POOL_STAGES


@pytest.fixture(scope="module")
def seed_cnn(mnist_small: tuple) -> tuple[Sequential, np.ndarray]:
    """(the seed CNN after one short epoch on 1,000 MNIST images, a test digit)."""
    x_train, y_train, x_test, _ = mnist_small
    set_seed(0)
    model = zoo.build("seed-cnn")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", precision="float32")
    model.fit(x_train[:1000], y_train[:1000], epochs=1, batch_size=100, verbose=0)
    model.eval()
    return model, x_test[0]


def _cells(layer: str) -> list[tuple[tuple[int, int], int]]:
    """Positions across the digit and several filters, so that sums of both signs occur."""
    centre = (13, 13) if layer == "conv2d" else (5, 5)
    edge = (6, 14) if layer == "conv2d" else (2, 6)
    return [(position, filter_index) for position in (centre, edge) for filter_index in range(0, 64, 8)]


@pytest.mark.parametrize("layer", ["conv2d", "conv2d_1"])
def test_stages_add_up_to_the_models_own_feature_map(seed_cnn: tuple, layer: str) -> None:
    model, digit = seed_cnn
    maps = feature_maps(model, digit, layers=[layer])[0].maps
    signs = set()
    for position, filter_index in _cells(layer):
        steps = conv_steps(model, digit, position=position, filter=filter_index, layer=layer)
        stages = {stage.name: stage for stage in steps.stages}
        assert [stage.name for stage in steps.stages] == list(CONV_STAGES)
        products = stages["products"].values                                # (3, 3, C_in)
        np.testing.assert_allclose(products, stages["window"].values * stages["weights"].values)
        per_channel = products.reshape(-1, products.shape[-1]).sum(axis=0)
        np.testing.assert_allclose(stages["channel_sums"].values, per_channel, rtol=1e-12, atol=1e-12)
        assert stages["total"].value == pytest.approx(float(per_channel.sum()), abs=1e-12)
        assert stages["bias"].value == pytest.approx(stages["total"].value + steps.bias, abs=1e-12)
        assert stages["activation"].value == pytest.approx(max(stages["bias"].value, 0.0), abs=1e-12)
        assert abs(stages["output"].value - float(maps[(*position, filter_index)])) <= 1e-5
        signs.add(stages["bias"].value > 0)
    assert signs == {True, False}, "the cells should include sums that ReLU keeps and ones it zeroes"


def test_channel_table_is_sorted_and_sums_to_the_total(seed_cnn: tuple) -> None:
    model, digit = seed_cnn
    steps = conv_steps(model, digit, position=(5, 5), filter=3, layer="conv2d_1")
    table = steps.channel_table
    assert sorted(part.channel for part in table) == list(range(64))
    magnitudes = [abs(part.partial_sum) for part in table]
    assert magnitudes == sorted(magnitudes, reverse=True) and magnitudes[0] > magnitudes[-1]
    assert sum(part.partial_sum for part in table) == pytest.approx(steps.weighted_sum, abs=1e-12)
    for part in table:
        assert part.window.shape == part.weights.shape == (3, 3)
        assert float(part.products.sum()) == pytest.approx(part.partial_sum, abs=1e-12)
        assert part.partial_sum == steps.channel_sums[part.channel]


def test_to_dict_keeps_the_old_keys_and_adds_stages_and_channels(seed_cnn: tuple) -> None:
    model, digit = seed_cnn
    steps = conv_steps(model, digit, position=(5, 5), filter=3, layer="conv2d_1")
    document = json.loads(json.dumps(steps.to_dict(max_channels=5)))
    old = {"layer", "kind", "position", "filter", "terms", "channel_sums", "weighted_sum", "bias",
           "pre_activation", "activation", "output", "engine_output"}
    assert old <= set(document) and document["agrees"] is True
    assert [stage["name"] for stage in document["stages"]] == list(CONV_STAGES)
    assert document["channel_count"] == 64 and len(document["channels"]) == 5
    first = document["channels"][0]
    assert first["channel"] == steps.channel_table[0].channel
    assert np.asarray(first["products"]).shape == (3, 3)
    assert np.sum(first["products"]) == pytest.approx(first["partial_sum"], abs=1e-12)


def test_text_is_a_table_of_channels_not_a_wall(seed_cnn: tuple) -> None:
    model, digit = seed_cnn
    steps = conv_steps(model, digit, position=(5, 5), filter=3, layer="conv2d_1")
    lines = steps.text().splitlines()
    assert len(lines) < 25
    assert lines[1].startswith("64 input channels") and "largest first" in lines[1]
    listed = [int(line.split()[0]) for line in lines[3:11]]
    assert listed == [part.channel for part in steps.channel_table[:8]]
    assert any(line.strip().startswith("... 56 more channels add") for line in lines)
    assert f"Total = {steps.weighted_sum:.4g}" in steps.text() and "relu(" in steps.text()
    assert lines[-2].startswith("Output = ") and "(agrees;" in lines[-1]


def test_seed_example_text_goes_through_every_stage() -> None:
    steps = conv_steps_from_arrays([[0, 64, 128], [48, 192, 144], [142, 226, 168]],
                                   [[-1, 0, -2], [0.5, 4.5, -1.5], [1.5, 2, -3]], bias=-77,
                                   position=(0, 0), activation="relu")
    lines = steps.text().splitlines()
    assert lines[1].startswith("New pixel = (-1*0)+(0*64)")
    assert lines[2:] == ["  = 577", "Total = 577   (sum of the products, before the bias)",
                         "Plus bias -77 = 500", "relu(500) = 500", "Output = 500"]


def test_pool_stages_window_winner_output(seed_cnn: tuple) -> None:
    model, digit = seed_cnn
    steps = pool_steps(model, digit, position=(6, 6), channel=5, layer="max_pooling2d")
    stages = {stage.name: stage for stage in steps.stages}
    assert [stage.name for stage in steps.stages] == list(POOL_STAGES)
    window = stages["window"].values
    assert window.shape == (2, 2) and stages["reduce"].value == float(window.max())
    row, column = np.unravel_index(int(window.argmax()), (2, 2))
    assert steps.winner == (12 + int(row), 12 + int(column))
    assert str(steps.winner) in stages["reduce"].text
    assert stages["output"].value == steps.output and steps.agrees
    document = json.loads(json.dumps(steps.to_dict()))
    assert document["winner"] == list(steps.winner) and len(document["stages"]) == 3


def test_padding_is_marked_in_the_channel_table() -> None:
    steps = conv_steps_from_arrays(np.arange(16.0).reshape(4, 4), np.ones((3, 3)), position=(0, 0),
                                   padding="same")
    (part,) = steps.channel_table
    assert part.padded is not None
    assert part.padded.tolist() == [[True, True, True], [True, False, False], [True, False, False]]
    assert part.window[part.padded].tolist() == [0.0] * 5 and part.partial_sum == 0 + 1 + 4 + 5
    assert steps.to_dict()["channels"][0]["padded"][0] == [True, True, True]
