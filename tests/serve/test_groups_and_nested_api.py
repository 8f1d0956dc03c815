"""The JSON API on a grouped convolution inside a model used as a layer (Keras's probability
model, Sequential([base, Softmax()])) and on a functional block model called twice: the graph
frames each nested model, the steps and the player show only the input channels a filter's
group reads, and nested layers answer to "model/layer" and to their own names."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from nested_models import nested_block_graph, nested_seed_cnn
from serve_helpers import DIGITS, MNIST_INPUT

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which is not installed here
    from fastapi.testclient import TestClient

from convscope import runs
from convscope.runs import Run
from convscope.serve import create_app, schemas


def pixels(seed: int = 0) -> list[list[float]]:
    return np.random.default_rng(seed).random((28, 28)).round(4).tolist()


@pytest.fixture(scope="module")
def nested_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runs.save_model_run(nested_seed_cnn(), tmp_path_factory.mktemp("serve") / "nested",
                               preprocessing=MNIST_INPUT, class_names=DIGITS, source="mnist")


@pytest.fixture(scope="module")
def nested(nested_run: Path) -> TestClient:
    with TestClient(create_app(nested_run)) as client:
        yield client


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    folder = runs.save_model_run(nested_block_graph(), tmp_path_factory.mktemp("serve") / "blocks",
                                 preprocessing=MNIST_INPUT, class_names=DIGITS, source="mnist")
    with TestClient(create_app(folder)) as client:
        yield client


def test_the_model_lists_the_nested_layers_and_frames_them(nested: TestClient) -> None:
    info = nested.get("/api/model").json()
    schemas.ModelInfo.model_validate(info)
    graph = info["graph"]
    inner = ["base/conv2d", "base/max_pooling2d", "base/conv2d_1", "base/max_pooling2d_1", "base/flatten", "base/dense"]
    assert graph["groups"] == [{"name": "base", "kind": "Sequential", "nodes": inner}]
    assert [node["name"] for node in graph["nodes"]] == ["input", *inner, "softmax"]
    nodes = {node["name"]: node for node in graph["nodes"]}
    assert nodes["base/conv2d_1"]["scope"] == ["base"] and nodes["softmax"]["scope"] == []
    assert nodes["base/conv2d_1"]["shape"] == [11, 11, 64] and graph["chain"]
    assert graph["steps"] == ["base/conv2d", "base/max_pooling2d", "base/conv2d_1", "base/max_pooling2d_1"]
    journey = {step["layer"]: step for step in info["shape_journey"]}
    assert journey["base/conv2d_1"]["scope"] == ["base"]
    assert journey["base/conv2d_1"]["arithmetic"][-1].endswith("in 4 groups: each filter reads 16 of the 64 input channels")


def test_steps_of_a_grouped_filter_show_its_group(nested: TestClient, nested_run: Path) -> None:
    body = nested.post("/api/explain", json={"pixels": pixels(), "layer": "base/conv2d_1", "position": [5, 5],
                                            "channel": 37}).json()
    schemas.Explanation.model_validate(body)
    steps = body["steps"]
    assert steps["agrees"] and steps["groups"] == 4 and steps["input_channels"] == list(range(32, 48))
    assert steps["group_text"] == "filter 37 reads input channels 32-47 (group 3 of 4)"
    assert steps["channel_count"] == 16 and sorted(entry["channel"] for entry in steps["channel_table"]) == list(range(32, 48))
    assert steps["window"] == [[5, 7], [5, 7]] and steps["kernel"] == [3, 3]
    # conv2d_1 rows 5..7 read pool rows 5..7 -> conv2d rows 10..15 -> input rows 10..17
    assert steps["receptive_field"] == [[10, 17], [10, 17]]
    kernel = Run.open(nested_run).load_model().get_layer("base").get_layer("conv2d_1").get_weights()[0]
    top = steps["channel_table"][0]
    np.testing.assert_allclose(top["weights"], kernel[..., top["channel"] - 32, 37], rtol=1e-6)
    maps = {entry["layer"] for entry in body["feature_maps"]}
    assert {"base/conv2d", "base/max_pooling2d", "base/conv2d_1", "base/max_pooling2d_1"} <= maps
    by_name = nested.post("/api/explain", json={"pixels": pixels(), "layer": "conv2d_1", "position": [5, 5],
                                               "channel": 37, "maps": False}).json()["steps"]
    assert by_name["layer"] == "base/conv2d_1" and by_name["output"] == steps["output"]


def test_the_player_offers_the_groups_channels_only(nested: TestClient, nested_run: Path) -> None:
    body = nested.post("/api/slide", json={"pixels": pixels(1), "layer": "base/conv2d_1", "channel": 37}).json()
    schemas.Slide.model_validate(body)
    assert sorted(body["input_channels"]) == list(range(32, 48)) and body["groups"] == 4
    assert body["input_channel"] == body["input_channels"][0] and body["input_from"] == "base/max_pooling2d"
    kernel = Run.open(nested_run).load_model().get_layer("base").get_layer("conv2d_1").get_weights()[0]
    np.testing.assert_allclose(body["weights"], kernel[..., body["input_channel"] - 32, 37], atol=1e-5)
    chosen = nested.post("/api/slide", json={"pixels": pixels(1), "layer": "base/conv2d_1", "channel": 37,
                                            "input_channel": 40}).json()
    np.testing.assert_allclose(chosen["weights"], kernel[..., 8, 37], atol=1e-5)
    refused = nested.post("/api/slide", json={"pixels": pixels(1), "layer": "base/conv2d_1", "channel": 37,
                                             "input_channel": 5})
    assert refused.status_code == 422
    assert refused.json()["error"] == ("input channel 5 does not feed channel 37 of 'base/conv2d_1'; choose one of "
                                       "32..47 (the convolution has 4 groups; a filter reads its group's channels only).")


def test_a_nested_model_name_is_refused_with_its_layers(nested: TestClient) -> None:
    answer = nested.post("/api/explain", json={"pixels": pixels(), "layer": "base", "position": [0, 0], "maps": False})
    assert answer.status_code == 422
    assert "'base' is a Sequential model used as a layer; name one of its layers: base/conv2d" in answer.json()["error"]


def test_a_block_called_twice_is_two_frames_and_each_call_reads_its_own_input(blocks: TestClient) -> None:
    graph = blocks.get("/api/model").json()["graph"]
    assert [group["name"] for group in graph["groups"]] == ["block", "block[1]"] and not graph["chain"]
    edges = {(edge["source"], edge["target"]) for edge in graph["edges"]}
    assert ("pool", "block/add") in edges and ("block/relu", "block[1]/conv") in edges
    steps = blocks.post("/api/explain", json={"pixels": pixels(2), "layer": "block[1]/grouped", "position": [0, 13],
                                             "channel": 2, "maps": False}).json()["steps"]
    assert steps["agrees"] and steps["input_channels"] == [0, 1, 2, 3]
    # block[1]/grouped column 13 reads block[1]/conv columns 12..14 (3x3, same padding), which reads the
    # first call's output, block/relu, at 11..15 -> block/grouped 11..15 -> block/conv 10..16 -> pool 9..17
    # (the shortcuts read less) -> stem 18..35 -> input 17..36, clipped to the image: 17..27
    assert steps["receptive_field"][1] == [17, 27]
    slide = blocks.post("/api/slide", json={"pixels": pixels(2), "layer": "block[1]/conv", "channel": 0}).json()
    assert slide["input_from"] == "block/relu" and slide["input_shape"] == [14, 14, 8]
