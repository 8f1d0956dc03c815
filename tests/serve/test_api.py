"""Every endpoint of the JSON API, and every kind of bad input, through an in-process client."""

from __future__ import annotations

import base64
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from serve_helpers import drawn_one, png_bytes

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which is not installed here
    from fastapi.testclient import TestClient

from convscope import explain
from convscope.runs import Run
from convscope.serve import create_app

LIMIT = 200_000  # a small upload limit so the oversize test stays cheap


@pytest.fixture(scope="module")
def client(seed_run: Path) -> TestClient:
    with TestClient(create_app(seed_run, max_upload_bytes=LIMIT)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def model(seed_run: Path):
    return Run.open(seed_run).load_model()


def upload(client: TestClient, path: str, data: bytes, field: str = "file", **form: str):
    return client.post(path, files={field: ("drawing.png", data, "image/png")}, data=form)


def test_page_and_static_files_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and '<canvas id="draw"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    for name in ("app.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_model_describes_layers_and_shape_journey(client: TestClient) -> None:
    info = client.get("/api/model").json()
    assert info["name"] == "seed_cnn" and info["classes"] == 10 and info["parameters"] == 243_786
    assert info["input"] == {"shape": [28, 28, 1], "scale": 1 / 255, "background": "dark", "fit": "center", "box": 20}
    assert [step["output_shape"] for step in info["shape_journey"]] == [
        [26, 26, 64], [13, 13, 64], [11, 11, 64], [5, 5, 64], [1600], [128], [10]]
    assert info["shape_journey"][0]["arithmetic"][0] == "height: 28 - 3 + 1 = 26"
    assert info["metrics"]["test_accuracy"] == 0.5


def test_predict_an_upload_matches_the_model(client: TestClient, model) -> None:
    answer = upload(client, "/api/predict", png_bytes(drawn_one()), top_k="3")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    seen = np.asarray(body["input"], np.float32)[..., None]
    expected = model.predict(seen[None])[0]
    assert np.allclose(body["probabilities"], expected, atol=1e-5)
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert body["prediction"]["class"] == int(expected.argmax()) and len(body["top"]) == 3
    assert [t["probability"] for t in body["top"]] == sorted((t["probability"] for t in body["top"]), reverse=True)
    assert any("centred" in note for note in body["notes"])


def test_predict_json_pixels(client: TestClient, model) -> None:
    pixels = np.zeros((28, 28))
    pixels[4:24, 13:15] = 1.0
    body = client.post("/api/predict", json={"pixels": pixels.tolist()}).json()
    expected = model.predict(pixels.reshape(1, 28, 28, 1).astype(np.float32))[0]
    assert np.allclose(body["probabilities"], expected, atol=1e-5) and body["notes"] == ["pixels used as given"]


def test_explain_returns_every_conv_and_pool_map(client: TestClient, model) -> None:
    pixels = np.zeros((28, 28))
    pixels[4:24, 13:15] = 1.0
    body = client.post("/api/explain", json={"pixels": pixels.tolist()}).json()
    maps = body["feature_maps"]
    assert [(m["layer"], m["shape"]) for m in maps] == [
        ("conv2d", [26, 26, 64]), ("max_pooling2d", [13, 13, 64]),
        ("conv2d_1", [11, 11, 64]), ("max_pooling2d_1", [5, 5, 64])]
    reference = explain.feature_maps(model, pixels.reshape(28, 28, 1))[2].maps  # conv2d_1
    first = maps[2]
    levels = np.frombuffer(base64.b64decode(first["data"]), np.uint8).reshape(64, 11, 11)
    low, high = np.asarray(first["min"]), np.asarray(first["max"])
    decoded = low[:, None, None] + levels / 255 * (high - low)[:, None, None]
    assert np.allclose(decoded, np.moveaxis(reference, -1, 0), atol=(high - low).max() / 255 + 1e-4)
    assert body["prediction"]["prediction"]["class"] in range(10)


def test_explain_one_conv_cell(client: TestClient) -> None:
    pixels = np.random.default_rng(1).random((28, 28)).tolist()
    body = client.post("/api/explain", json={"pixels": pixels, "layer": "conv2d_1", "position": [4, 6],
                                             "channel": 7, "maps": False}).json()
    assert "feature_maps" not in body
    steps = body["steps"]
    assert steps["agrees"] and steps["channel_count"] == 64 and len(steps["channels"]) == 8
    assert steps["output"] == pytest.approx(steps["engine_output"], rel=1e-4, abs=1e-5)
    # rows 4..6 of the pool output -> 8..13 of conv2d -> 8..15 of the input; columns 6..8 -> 12..19
    assert steps["receptive_field"] == [[8, 15], [12, 19]]
    assert np.shape(steps["channels"][0]["inputs"]) == (3, 3) and "Total" in steps["text"]


def test_explain_one_pool_cell_from_a_form(client: TestClient) -> None:
    answer = upload(client, "/api/explain", png_bytes(drawn_one()), layer="max_pooling2d", position="5,6",
                    channel="2", maps="false")
    steps = answer.json()["steps"]
    assert steps["reduction"] == "max" and len(steps["values"]) == 4 and steps["agrees"]
    assert steps["output"] == max(steps["values"]) and steps["receptive_field"] == [[10, 13], [12, 15]]


def test_openapi_documents_both_kinds_of_body(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {"/api/model", "/api/predict", "/api/explain"} <= set(schema["paths"])
    for path in ("/api/predict", "/api/explain"):
        content = schema["paths"][path]["post"]["requestBody"]["content"]
        assert {"multipart/form-data", "application/json"} <= set(content)
        assert {"413", "415", "422"} <= set(schema["paths"][path]["post"]["responses"])


BAD_UPLOADS = [
    ("not an image", b"hello, I am text", 415, "not an image"),
    ("empty file", b"", 400, "empty"),
    ("truncated PNG", png_bytes(drawn_one())[:400], 400, "truncated or corrupt"),
    ("huge image", png_bytes(Image.new("1", (6000, 6000))), 413, "6000x6000"),
    ("oversize upload", b"\x89PNG" + bytes(LIMIT + 10), 413, "upload limit"),
]


@pytest.mark.parametrize(("what", "data", "status", "words"), BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
@pytest.mark.parametrize("path", ["/api/predict", "/api/explain"])
def test_bad_uploads_get_4xx_and_the_server_keeps_serving(client: TestClient, path: str, what: str,
                                                          data: bytes, status: int, words: str) -> None:
    answer = upload(client, path, data)
    assert answer.status_code == status and words in answer.json()["error"]
    assert upload(client, "/api/predict", png_bytes(drawn_one())).status_code == 200


BAD_REQUESTS = [
    ("wrong field", {"files": {"image": ("a.png", png_bytes(drawn_one()), "image/png")}}, 422, "field named 'file'"),
    ("no pixels", {"json": {"pixel": [[0]]}}, 422, "'pixels'"),
    ("not an object", {"json": [1, 2, 3]}, 422, "'pixels'"),
    ("bad JSON", {"content": b"{oops", "headers": {"content-type": "application/json"}}, 400, "not valid JSON"),
    ("text body", {"content": b"pixels", "headers": {"content-type": "text/plain"}}, 415, "content type"),
    ("no body", {}, 415, "content type"),
    ("out of range", {"json": {"pixels": [[2.0] * 28] * 28}}, 422, "0..1"),
    ("ragged", {"json": {"pixels": [[0.1, 0.2], [0.3]]}}, 422, "rectangular"),
    ("bad top_k", {"json": {"pixels": [[0.0] * 28] * 28, "top_k": "many"}}, 422, "'top_k'"),
]


@pytest.mark.parametrize(("what", "request_options", "status", "words"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_requests_get_4xx(client: TestClient, what: str, request_options: dict, status: int, words: str) -> None:
    answer = client.post("/api/predict", **request_options)
    assert answer.status_code == status and words in answer.json()["error"]


@pytest.mark.parametrize(("options", "words"), [
    ({"layer": "dense", "position": [0]}, "is a Dense"),
    ({"layer": "nope", "position": [0, 0]}, "no layer named 'nope'"),
    ({"layer": "conv2d", "position": [30, 0]}, "outside"),
    ({"layer": "conv2d", "position": [1, 1], "channel": 99}, "filter 99"),
    ({"layer": "conv2d", "position": "x"}, "'position'"),
])
def test_bad_explain_requests_get_422(client: TestClient, options: dict, words: str) -> None:
    answer = client.post("/api/explain", json={"pixels": [[0.0] * 28] * 28, "maps": False, **options})
    assert answer.status_code == 422 and words in answer.json()["error"]
