"""The JSON API on functional models (a residual CNN, an Inception-style block): the graph the
page draws, the maps of every node, and the steps of conv, pooling and merge cells whose input
is what their inbound nodes made. Answers are checked against the schemas and the model."""

from __future__ import annotations

import base64
import warnings
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import make_graph_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which is not installed here
    from fastapi.testclient import TestClient

from convscope import explain
from convscope.runs import Run
from convscope.serve import create_app, schemas


@pytest.fixture(scope="module")
def residual_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_graph_run(tmp_path_factory.mktemp("serve") / "residual", "residual_cnn")


@pytest.fixture(scope="module")
def inception_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_graph_run(tmp_path_factory.mktemp("serve") / "inception", "inception_cnn")


@pytest.fixture(scope="module")
def residual(residual_run: Path) -> TestClient:
    with TestClient(create_app(residual_run)) as client:
        yield client


@pytest.fixture(scope="module")
def inception(inception_run: Path) -> TestClient:
    with TestClient(create_app(inception_run)) as client:
        yield client


def pixels(seed: int = 0) -> list[list[float]]:
    return np.random.default_rng(seed).random((28, 28)).round(4).tolist()


def decoded(entry: dict) -> np.ndarray:
    """A feature map as the page decodes it: (C, H, W) values from the 8-bit levels."""
    channels = entry["shape"][-1]
    levels = np.frombuffer(base64.b64decode(entry["data"]), np.uint8).reshape(channels, *entry["shape"][:-1])
    low, high = np.asarray(entry["min"]), np.asarray(entry["max"])
    return low[:, None, None] + levels / 255 * (high - low)[:, None, None]


def test_model_describes_the_graph(residual: TestClient) -> None:
    info = residual.get("/api/model").json()
    schemas.ModelInfo.model_validate(info)
    graph = info["graph"]
    nodes = {node["name"]: node for node in graph["nodes"]}
    assert nodes["input_layer"] == {"index": 0, "name": "input_layer", "kind": "InputLayer", "shape": [28, 28, 1],
                                    "depth": 0, "inputs": [], "scope": []}
    assert nodes["block1_add"]["inputs"] == ["stem", "block1_conv2"] and nodes["block1_add"]["depth"] == 4
    assert nodes["block2_shortcut"]["depth"] == nodes["block2_conv1"]["depth"] == 7
    skips = [(edge["source"], edge["target"]) for edge in graph["edges"] if edge["span"] > 1]
    assert skips == [("stem", "block1_add"), ("block2_shortcut", "block2_add")]
    assert not graph["chain"] and "block1_add" in graph["steps"] and "block1_relu" not in graph["steps"]
    journey = {step["layer"]: step for step in info["shape_journey"]}
    assert journey["block2_shortcut"]["sources"] == ["pool"] and journey["block2_shortcut"]["input_shape"] == [14, 14, 8]
    assert journey["block2_add"]["input_shapes"] == [[7, 7, 12], [7, 7, 12]]


def test_a_sequential_model_is_a_chain_graph(seed_run: Path) -> None:
    with TestClient(create_app(seed_run)) as client:
        graph = client.get("/api/model").json()["graph"]
    assert graph["chain"] and [node["name"] for node in graph["nodes"]][:2] == ["input", "conv2d"]
    assert graph["steps"] == ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1"]


def test_explain_sends_the_maps_of_every_node_with_maps(residual: TestClient, residual_run: Path) -> None:
    body = residual.post("/api/explain", json={"pixels": pixels()}).json()
    schemas.Explanation.model_validate(body)
    maps = {entry["layer"]: entry for entry in body["feature_maps"]}
    assert list(maps) == ["stem", "block1_conv1", "block1_conv2", "block1_add", "block1_relu", "pool", "block2_conv1",
                          "block2_conv2", "block2_shortcut", "block2_add", "block2_relu"]
    assert maps["block1_add"]["sources"] == ["stem", "block1_conv2"] and maps["block1_add"]["kind"] == "Add"
    model = Run.open(residual_run).load_model()
    expected = {m.layer: m.maps for m in explain.feature_maps(model, np.asarray(pixels(), np.float32)[..., None])}
    for name in ("block1_add", "block2_shortcut"):
        span = np.asarray(maps[name]["max"]) - np.asarray(maps[name]["min"])
        np.testing.assert_allclose(decoded(maps[name]), np.moveaxis(expected[name], -1, 0), atol=span.max() / 255 + 1e-5)


def test_steps_of_an_add_cell(residual: TestClient, residual_run: Path) -> None:
    body = residual.post("/api/explain", json={"pixels": pixels(1), "layer": "block2_add", "position": [3, 2],
                                              "channel": 4, "maps": False}).json()
    steps = body["steps"]
    assert steps["operation"] == "sum" and steps["agrees"] and steps["pieces"] == []
    model = Run.open(residual_run).load_model()
    expected = {m.layer: m.maps for m in explain.feature_maps(model, np.asarray(pixels(1), np.float32)[..., None])}
    assert [(term["source"], term["index"]) for term in steps["terms"]] == [
        ("block2_conv2", [3, 2, 4]), ("block2_shortcut", [3, 2, 4])]
    assert [term["value"] for term in steps["terms"]] == pytest.approx(
        [float(expected["block2_conv2"][3, 2, 4]), float(expected["block2_shortcut"][3, 2, 4])], rel=1e-5)
    # rows: block2_conv2 reads rows 2..4 of block2_conv1, which reads rows 4..10 of the pool -> 8..21 of
    # block1's sum -> 5..24 of the input through block1's two convs and the stem (3 rows more on each side);
    # the shortcut reads pool row 6 only (input rows 9..16): the union over every path is 5..24
    assert steps["receptive_field"] == [[5, 24], [1, 20]]
    assert "block2_shortcut" in steps["text"] and steps["text"].startswith("Add 'block2_add'")


def test_steps_of_a_shortcut_conv_read_the_pooled_map(residual: TestClient) -> None:
    steps = residual.post("/api/explain", json={"pixels": pixels(2), "layer": "block2_shortcut", "position": [5, 1],
                                               "channel": 9, "maps": False}).json()["steps"]
    assert steps["agrees"] and steps["channel_count"] == 8 and steps["kernel"] == [1, 1]
    # pool cell (10, 2) -> block1's sum rows 20..21, columns 4..5; through block1's convolutions and the
    # stem that is input rows 17..24, columns 1..8 (the identity shortcut alone reads 19..22, 3..6)
    assert steps["window"] == [[10, 10], [2, 2]] and steps["receptive_field"] == [[17, 24], [1, 8]]


def test_steps_of_a_concatenated_cell(inception: TestClient) -> None:
    steps = inception.post("/api/explain", json={"pixels": pixels(3), "layer": "mixed", "position": [6, 6],
                                                "channel": 9, "maps": False}).json()["steps"]
    assert steps["operation"] == "concatenation" and steps["agrees"]
    assert steps["pieces"] == [{"source": "branch1_1x1", "start": 0, "stop": 4},
                               {"source": "branch2_3x3", "start": 4, "stop": 10},
                               {"source": "branch3_5x5", "start": 10, "stop": 14},
                               {"source": "branch4_1x1", "start": 14, "stop": 18}]
    assert [(term["source"], term["index"]) for term in steps["terms"]] == [("branch2_3x3", [6, 6, 5])]
    # the widest branch decides: 5x5 over stem_pool rows 4..8 -> stem rows 8..17 -> input rows 8..19
    assert steps["receptive_field"] == [[8, 19], [8, 19]]


def test_the_player_slides_over_the_inbound_nodes_map(inception: TestClient) -> None:
    body = inception.post("/api/slide", json={"pixels": pixels(4), "layer": "branch4_1x1", "channel": 1}).json()
    assert body["input_from"] == "branch4_pool" and body["input_shape"] == [13, 13, 8]
    first = inception.post("/api/slide", json={"pixels": pixels(4), "layer": "stem", "channel": 0}).json()
    assert first["input_from"] is None and first["input_shape"] == [28, 28, 1]


@pytest.mark.parametrize(("request_body", "words"), [
    ({"layer": "block1_relu", "position": [0, 0]}, "layer 'block1_relu' is a ReLU; steps are shown for conv, pooling "
                                                   "and merge layers"),
    ({"layer": "block2_add", "position": [7, 0]}, "outside the (7, 7, 12) output"),
    ({"layer": "nope", "position": [0, 0]}, "no layer named 'nope'; layers to pick from: stem, block1_conv1"),
])
def test_bad_steps_requests_are_refused(residual: TestClient, request_body: dict, words: str) -> None:
    answer = residual.post("/api/explain", json={"pixels": pixels(), "maps": False, **request_body})
    assert answer.status_code == 422 and words in answer.json()["error"]
