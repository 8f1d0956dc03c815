"""POST /api/slide (the sliding-window player), the stages of a conv cell, the input kind a
model's page offers and the doubt and far-from-training warnings of a prediction."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from serve_helpers import drawn_one, make_fashion_run, make_strided_run, png_bytes

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which is not installed here
    from fastapi.testclient import TestClient

from convscope import explain, zoo
from convscope.explain import reference
from convscope.runs import Run
from convscope.serve import create_app


def app_client(run: Path) -> TestClient:
    return TestClient(create_app(run))


@pytest.fixture(scope="module")
def strided_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_strided_run(tmp_path_factory.mktemp("serve") / "strided")


def digit_pixels() -> np.ndarray:
    pixels = np.zeros((28, 28))
    pixels[4:24, 12:16] = 1.0
    pixels[4:8, 8:20] = 0.7
    return pixels


def check_player(run: Path, pixels: np.ndarray, layer: str, channel: int, **extra) -> dict:
    """The player's input, kernel, stride and padding rebuild the engine's output map by the
    NumPy reference, and the output sent is the engine's own."""
    model = Run.open(run).load_model()
    with app_client(run) as client:
        answer = client.post("/api/slide", json={"pixels": pixels.tolist(), "layer": layer, "channel": channel, **extra})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    maps = explain.feature_maps(model, pixels.reshape(Run.open(run).preprocessing.shape))
    index = [m.layer for m in maps].index(layer)
    layer_input = pixels.reshape(Run.open(run).preprocessing.shape) if index == 0 else maps[index - 1].maps
    np.testing.assert_allclose(body["output"], maps[index].maps[..., channel], atol=1e-4)
    np.testing.assert_allclose(body["input"], layer_input[..., body["input_channel"]], atol=1e-4)
    assert body["input_shape"] == list(layer_input.shape) and body["output_shape"] == list(maps[index].maps.shape)
    if body["kind"].startswith("Conv"):
        kernel, bias = explain.learned_filters(model, layer).kernel, explain.learned_filters(model, layer).bias
        conv = reference.conv2d if kernel.ndim == 4 else reference.conv1d
        expected = reference.relu(conv(layer_input, kernel, bias, stride=tuple(body["strides"]),
                                       padding=[tuple(pair) for pair in body["padding"]]))
        np.testing.assert_allclose(body["output"], expected[..., channel], atol=1e-4)
        np.testing.assert_allclose(body["weights"], kernel[..., body["input_channel"], channel], atol=1e-5)
        assert body["bias"] == pytest.approx(float(bias[channel]), abs=1e-6)
    return body


def test_player_on_the_seed_cnn_first_and_second_conv(seed_run: Path) -> None:
    first = check_player(seed_run, digit_pixels(), "conv2d", 5)
    assert first["kernel"] == [3, 3] and first["strides"] == [1, 1] and first["padding"] == [[0, 0], [0, 0]]
    assert first["input_channels"] == [0] and first["output_shape"] == [26, 26, 64]
    second = check_player(seed_run, digit_pixels(), "conv2d_1", 3)
    assert len(second["input_channels"]) == 64 and second["input_shape"] == [13, 13, 64]
    other = check_player(seed_run, digit_pixels(), "conv2d_1", 3, input_channel=second["input_channels"][5])
    assert other["input_channel"] == second["input_channels"][5]


def test_player_with_stride_2_and_same_padding(strided_run: Path) -> None:
    body = check_player(strided_run, digit_pixels(), "conv2d", 1)
    # out = ceil(28 / 2) = 14; padding (14 - 1) * 2 + 3 - 28 = 1 cell in all, at the end
    assert body["strides"] == [2, 2] and body["padding"] == [[0, 1], [0, 1]] and body["output_shape"] == [14, 14, 4]


def test_player_on_a_pooling_layer(seed_run: Path) -> None:
    body = check_player(seed_run, digit_pixels(), "max_pooling2d", 7)
    assert body["kernel"] == [2, 2] and body["strides"] == [2, 2] and body["input_channels"] == [7]
    layer_input = np.asarray(body["input"])
    np.testing.assert_allclose(body["output"], reference.max_pool2d(layer_input), atol=1e-5)


def test_player_on_conv1d_layers_with_same_padding(signal_run: Path) -> None:
    signal = np.sin(np.linspace(0, 6, 40)) * 2
    first = check_player(signal_run, signal, "conv1d", 4)
    assert first["kernel"] == [5] and first["padding"] == [[2, 2]] and np.shape(first["input"]) == (40,)
    deeper = check_player(signal_run, signal, "conv1d_1", 2)
    assert deeper["padding"] == [[1, 1]] and deeper["input_shape"] == [20, 32]


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"layer": "dense"}, 422, "is a Dense"),
    ({"layer": "nope"}, 422, "no layer named"),
    ({}, 422, "'layer' is missing"),
    ({"layer": "conv2d", "channel": 64}, 422, "64 channels"),
    ({"layer": "conv2d", "channel": "x"}, 422, "'channel'"),
    ({"layer": "conv2d_1", "input_channel": 70}, 422, "input channel 70"),
    ({"layer": "max_pooling2d", "channel": 1, "input_channel": 2}, 422, "pooling keeps channels apart"),
])
def test_bad_player_requests_get_4xx(seed_run: Path, body: dict, status: int, words: str) -> None:
    with app_client(seed_run) as client:
        answer = client.post("/api/slide", json={"pixels": digit_pixels().tolist(), **body})
    assert answer.status_code == status and words in answer.json()["error"], answer.text


def test_conv_cell_answer_has_a_sorted_channel_table(seed_run: Path) -> None:
    with app_client(seed_run) as client:
        steps = client.post("/api/explain", json={"pixels": digit_pixels().tolist(), "layer": "conv2d_1",
                                                  "position": [4, 5], "channel": 2, "maps": False}).json()["steps"]
    table = steps["channel_table"]
    assert len(table) == 64 and sorted(entry["channel"] for entry in table) == list(range(64))
    sums = [abs(entry["sum"]) for entry in table]
    assert sums == sorted(sums, reverse=True)
    assert sum(entry["sum"] for entry in table) == pytest.approx(steps["weighted_sum"], abs=1e-6)
    for entry in table[:3]:
        np.testing.assert_allclose(entry["products"], np.multiply(entry["inputs"], entry["weights"]))
        assert float(np.sum(entry["products"])) == pytest.approx(entry["sum"], abs=1e-9)
    assert steps["pre_activation"] == pytest.approx(steps["weighted_sum"] + steps["bias"])
    assert steps["window"] == [[4, 6], [5, 7]] and steps["kernel"] == [3, 3]
    stages = {stage["name"]: stage for stage in steps["stages"]}
    assert list(stages) == ["window", "weights", "products", "channel_sums", "total", "bias", "activation", "output"]
    assert stages["total"]["value"] == pytest.approx(steps["weighted_sum"])
    assert stages["bias"]["value"] == pytest.approx(steps["pre_activation"]) and "+ bias" in stages["bias"]["title"]
    assert stages["output"]["value"] == pytest.approx(steps["output"]) and "agrees" in stages["output"]["text"]


def test_conv1d_cell_with_padding(signal_run: Path) -> None:
    signal = np.cos(np.linspace(0, 5, 40))
    with app_client(signal_run) as client:
        steps = client.post("/api/explain", json={"pixels": signal.tolist(), "layer": "conv1d", "position": [0],
                                                  "channel": 3, "maps": False}).json()["steps"]
    entry = steps["channel_table"][0]
    assert steps["window"] == [[-2, 2]] and entry["padded"] == [True, True, False, False, False]
    np.testing.assert_allclose(entry["inputs"], [0, 0, *signal[:3]], atol=1e-6)
    assert steps["agrees"] and steps["receptive_field"] == [[0, 2]]


def test_each_model_says_how_it_takes_inputs(seed_run: Path, signal_run: Path, tmp_path: Path) -> None:
    kinds = {}
    for name, run in (("mnist", seed_run), ("mnist1d", signal_run), ("fashion", make_fashion_run(tmp_path / "f"))):
        with app_client(run) as client:
            info = client.get("/api/model").json()
        kinds[name] = (info["input_kind"], info["dataset"])
    rgb = tmp_path / "rgb"
    zoo.build("seed-cnn", (32, 32, 3)).save(rgb)  # a CIFAR-sized colour model, no run around it
    with app_client(rgb) as client:
        kinds["rgb"] = (client.get("/api/model").json()["input_kind"], "")
    assert kinds == {"mnist": ("drawing", "python"), "mnist1d": ("signal", "mnist1d"),
                     "fashion": ("image", "fashion_mnist"), "rgb": ("image", "")}


def test_a_speck_is_far_from_the_training_data(seed_run: Path) -> None:
    speck = Image.new("L", (280, 280), 0)
    ImageDraw.Draw(speck).ellipse((130, 130, 146, 146), fill=255)
    with app_client(seed_run) as client:
        tiny = client.post("/api/predict", files={"file": ("d.png", png_bytes(speck), "image/png")}).json()
        large = client.post("/api/predict", files={"file": ("d.png", png_bytes(drawn_one()), "image/png")}).json()
        empty = client.post("/api/predict", json={"pixels": np.zeros((28, 28)).tolist()}).json()
    assert len(tiny["warnings"]) == 1 and "tiny" in tiny["warnings"][0] and "far from the training data" in tiny["warnings"][0]
    assert large["warnings"] == []
    assert "almost empty" in empty["warnings"][0]


def test_doubt_follows_the_top_probability(seed_run: Path) -> None:
    from convscope.inference.predictor import doubt

    names = [str(i) for i in range(10)]
    assert doubt(np.array([0.9, 0.1] + [0] * 8), names) == {"level": "sure", "text": ""}
    unsure = doubt(np.array([0.1, 0.619, 0.281] + [0] * 7), names)
    assert unsure["level"] == "unsure" and "1 at 62%" in unsure["text"] and "2 (28%)" in unsure["text"]
    assert doubt(np.full(10, 0.1), names)["level"] == "guess"
    with app_client(seed_run) as client:  # untrained weights: about 10% each, only a guess
        body = client.post("/api/predict", json={"pixels": digit_pixels().tolist()}).json()
    assert body["doubt"]["level"] == "guess" and "half" in body["doubt"]["text"]
