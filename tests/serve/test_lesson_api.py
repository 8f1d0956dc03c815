"""POST /api/lesson: a small matrix and kernel through convolution, ReLU and pooling, cell by
cell, checked against the NumPy reference operations and the seeds' worked examples."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which is not installed here
    from fastapi.testclient import TestClient

from convscope.explain import reference
from convscope.serve import create_app

SEED_003_IMAGE = [[1, 0, 2], [3, 1, 0], [0, 0, 4]]   # Pool(ReLU(Conv(I))) with F = [[1, 0], [0, 1]] is 5
SEED_003_BLEND = ([[1, 2, 1], [2, 1, 1], [1, 1, 1]], [[1, 0.5], [0.5, 1]])   # C = [[4, 4], [4, 3]]
SEED_004_PATCH = [[0, 64, 128], [48, 192, 144], [142, 226, 168]]
SEED_004_FILTER = [[-1, 0, -2], [0.5, 4.5, -1.5], [1.5, 2, -3]]   # the new pixel is 577


@pytest.fixture(scope="module")
def client(seed_run: Path) -> TestClient:
    with TestClient(create_app(seed_run)) as test_client:
        yield test_client


def lesson(client: TestClient, **body) -> dict:
    answer = client.post("/api/lesson", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_seed_003_conv_relu_and_pool_give_5(client: TestClient) -> None:
    body = lesson(client, matrix=SEED_003_IMAGE, kernel=[[1, 0], [0, 1]], pool={"size": 2, "kind": "max"})
    assert body["conv"]["output"] == [[2, 0], [3, 5]] and body["activated"] == [[2, 0], [3, 5]]
    assert body["pool"]["output"] == [[5]]
    window = body["pool"]["windows"][0]
    assert window["values"] == [2, 0, 3, 5] and window["winner"] == [1, 1] and window["output"] == 5
    cell = body["conv"]["cells"][3]  # (1, 1): 1*1 + 0*0 + 0*0 + 4*1
    assert cell["position"] == [1, 1] and cell["inputs"] == [[1, 0], [0, 4]]
    assert cell["products"] == [[1, 0], [0, 4]] and cell["sum"] == 5 and cell["window"] == [[1, 2], [1, 2]]


def test_seed_003_blend_and_seed_004_pixel(client: TestClient) -> None:
    blend = lesson(client, matrix=SEED_003_BLEND[0], kernel=SEED_003_BLEND[1], pool=None)
    assert blend["conv"]["output"] == [[4, 4], [4, 3]] and blend["pool"] is None
    pixel = lesson(client, matrix=SEED_004_PATCH, kernel=SEED_004_FILTER, activation="linear")
    assert pixel["conv"]["output"] == [[577]] and pixel["activated"] == [[577]]
    products = np.multiply(SEED_004_PATCH, SEED_004_FILTER)
    assert pixel["conv"]["cells"][0]["products"] == products.tolist() and products.sum() == 577
    assert pixel["pool"] is None and "no pooling" in pixel["notes"][0]


CASES = [  # (matrix shape, kernel shape, stride, padding, bias, pool size, pool stride, pool kind)
    ((6, 7), (3, 3), 1, "valid", 0.0, 2, 2, "max"),
    ((7, 7), (3, 3), 2, "same", -0.5, 2, 1, "average"),
    ((5, 6), (2, 3), 1, 1, 0.25, 3, 2, "max"),
    ((16, 16), (7, 7), 3, 3, 1.0, 2, 2, "max"),
    ((9,), (3,), 2, "same", 0.1, 2, 2, "max"),
    ((12,), (5,), 1, 2, -1.0, 3, 1, "average"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}*{c[1]}-s{c[2]}-p{c[3]}" for c in CASES])
def test_random_lessons_match_the_numpy_reference(client: TestClient, case: tuple) -> None:
    matrix_shape, kernel_shape, stride, padding, bias, pool_size, pool_stride, kind = case
    rng = np.random.default_rng(sum(matrix_shape) * 7 + stride)
    matrix = np.round(rng.normal(size=matrix_shape), 3)
    kernel = np.round(rng.normal(size=kernel_shape), 3)
    body = lesson(client, matrix=matrix.tolist(), kernel=kernel.tolist(), bias=bias, stride=stride,
                  padding=padding, pool={"size": pool_size, "stride": pool_stride, "kind": kind})
    conv = reference.conv2d if matrix.ndim == 2 else reference.conv1d
    expected = conv(matrix, kernel, bias, stride=stride, padding=padding)
    np.testing.assert_allclose(body["conv"]["output"], expected, atol=1e-9)
    activated = reference.relu(expected)
    np.testing.assert_allclose(body["activated"], activated, atol=1e-9)
    pool = {(2, "max"): reference.max_pool2d, (2, "average"): reference.avg_pool2d,
            (1, "max"): reference.max_pool1d, (1, "average"): reference.avg_pool1d}[(matrix.ndim, kind)]
    np.testing.assert_allclose(body["pool"]["output"], pool(activated, pool_size, pool_stride), atol=1e-9)
    pads = reference.resolve_padding(padding, matrix.shape, kernel.shape, (stride,) * matrix.ndim, (1,) * matrix.ndim)
    padded = np.pad(matrix, pads)
    assert body["padding"] == [list(pair) for pair in pads] and np.array_equal(body["padded"], padded)
    for cell in body["conv"]["cells"]:  # each cell: its window of the padded matrix times the kernel
        window = padded[tuple(slice(first, last + 1) for first, last in cell["window"])]
        np.testing.assert_allclose(cell["inputs"], window)
        np.testing.assert_allclose(cell["products"], window * kernel)
        assert cell["sum"] == pytest.approx(float((window * kernel).sum()))
        assert cell["pre_activation"] == pytest.approx(cell["sum"] + bias)
        assert cell["output"] == pytest.approx(max(cell["pre_activation"], 0.0))
        assert cell["pre_activation"] == pytest.approx(expected[tuple(cell["position"])])


BAD_LESSONS = [
    ("no matrix", {"kernel": [[1]]}, "'matrix'"),
    ("ragged matrix", {"matrix": [[1, 2], [3]], "kernel": [[1]]}, "rows of equal length"),
    ("text in matrix", {"matrix": [["a", 1]], "kernel": [[1]]}, "numbers only"),
    ("too many rows", {"matrix": [[0] * 4] * 17, "kernel": [[1]]}, "at most 16"),
    ("too wide", {"matrix": [[0] * 17] * 2, "kernel": [[1]]}, "too large"),
    ("too long a row", {"matrix": [0] * 65, "kernel": [1]}, "too large"),
    ("huge kernel", {"matrix": [[0] * 9] * 9, "kernel": [[1] * 8] * 8}, "up to 7"),
    ("kernel over matrix", {"matrix": [[1, 2], [3, 4]], "kernel": [[1] * 3] * 3}, "larger than the padded"),
    ("ranks differ", {"matrix": [[1, 2], [3, 4]], "kernel": [1, 1]}, "like the matrix"),
    ("infinite value", '{"matrix": [[1e309]], "kernel": [[1]]}', "finite"),
    ("huge value", {"matrix": [[1e7]], "kernel": [[1]]}, "within"),
    ("stride 0", {"matrix": [[1]], "kernel": [[1]], "stride": 0}, "'stride'"),
    ("stride text", {"matrix": [[1]], "kernel": [[1]], "stride": "2"}, "'stride'"),
    ("padding 9", {"matrix": [[1]], "kernel": [[1]], "padding": 9}, "'padding'"),
    ("padding word", {"matrix": [[1]], "kernel": [[1]], "padding": "full"}, "'padding'"),
    ("bias text", {"matrix": [[1]], "kernel": [[1]], "bias": "x"}, "'bias'"),
    ("activation", {"matrix": [[1]], "kernel": [[1]], "activation": "tanh"}, "'activation'"),
    ("pool kind", {"matrix": [[1, 2], [3, 4]], "kernel": [[1]], "pool": {"kind": "min"}}, "'kind'"),
    ("pool size", {"matrix": [[1, 2], [3, 4]], "kernel": [[1]], "pool": {"size": 9}}, "pool size"),
    ("pool list", {"matrix": [[1, 2], [3, 4]], "kernel": [[1]], "pool": [2]}, "'pool'"),
]


@pytest.mark.parametrize(("what", "body", "words"), BAD_LESSONS, ids=[b[0] for b in BAD_LESSONS])
def test_bad_lessons_get_422_with_an_error(client: TestClient, what: str, body: dict | str, words: str) -> None:
    if isinstance(body, str):  # JSON that Python reads but will not write (1e309 is infinite)
        answer = client.post("/api/lesson", content=body.encode(), headers={"content-type": "application/json"})
    else:
        answer = client.post("/api/lesson", json=body)
    assert answer.status_code == 422 and words in answer.json()["error"], answer.text


def test_lesson_wants_a_json_object(client: TestClient) -> None:
    assert client.post("/api/lesson", content=b"matrix", headers={"content-type": "text/plain"}).status_code == 415
    bad = client.post("/api/lesson", content=b"{oops", headers={"content-type": "application/json"})
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
    listed = client.post("/api/lesson", json=[[1]])
    assert listed.status_code == 422 and "'matrix'" in listed.json()["error"]
    assert "/api/lesson" in client.get("/openapi.json").json()["paths"]
