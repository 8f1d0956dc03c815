"""Hostile requests through an in-process client: each gets a 4xx with a JSON {"error": ...}
naming what was wrong, and /docs works offline."""

from __future__ import annotations

import re
import warnings
from collections import Counter
from pathlib import Path

import pytest
from serve_helpers import drawn_one, png_bytes

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which is not installed here
    from fastapi.testclient import TestClient

import serve_load

from convscope.serve import create_app

LIMIT = 1024 * 1024  # room for the 100,000-deep JSON (200 kB) and the huge integers (315 kB)


@pytest.fixture(scope="module")
def client(seed_run: Path) -> TestClient:
    app = create_app(seed_run, max_upload_bytes=LIMIT)
    with TestClient(app, raise_server_exceptions=False) as test_client:  # a 500 is counted, not raised
        yield test_client


def error_of(answer) -> str:
    """The answer's JSON error text; fails the test when the body is not {"error": "..."}."""
    assert answer.headers["content-type"].startswith("application/json"), answer.text[:200]
    error = answer.json()["error"]
    assert isinstance(error, str) and error
    return error


def test_1000_malformed_requests_all_get_4xx_with_a_json_error(client: TestClient) -> None:
    kinds = serve_load.malformed_requests(LIMIT)
    statuses: Counter[int] = Counter()
    wrong: dict[str, str] = {}
    for index in range(1000):
        kind, request = kinds[index % len(kinds)]
        answer = client.request(**request)
        statuses[answer.status_code] += 1
        body_is_json = answer.headers.get("content-type", "").startswith("application/json")
        if not 400 <= answer.status_code < 500 or not body_is_json or not answer.json().get("error"):
            wrong.setdefault(kind, f"{answer.status_code}: {answer.text[:100]}")
    print(f"\nstatuses of 1,000 malformed requests: {dict(sorted(statuses.items()))}")
    assert wrong == {}
    assert sum(statuses.values()) == 1000 and {400, 404, 405, 413, 415, 422} <= set(statuses)
    still_serving = client.post("/api/predict", files={"file": ("a.png", png_bytes(drawn_one()), "image/png")})
    assert still_serving.status_code == 200


def test_json_nested_100000_deep_gets_400(client: TestClient) -> None:
    deep = 100_000
    answer = client.post("/api/predict", content='{"pixels": ' + "[" * deep + "]" * deep + "}",
                         headers={"content-type": "application/json"})
    assert answer.status_code == 400 and "nested too deeply" in error_of(answer)


def test_integers_too_large_for_a_float_get_422(client: TestClient) -> None:
    row = "[" + ",".join(["9" * 400] * 28) + "]"
    answer = client.post("/api/predict", content='{"pixels": [' + ",".join([row] * 28) + "]}",
                         headers={"content-type": "application/json"})
    assert answer.status_code == 422
    assert "'pixels' must be a rectangular list of numbers" in error_of(answer)
    assert "too large" in error_of(answer)


@pytest.mark.parametrize(("width", "height"), [(20000, 20000), (65535, 65535), (5000, 5000)])
def test_decompression_bomb_header_gets_413_naming_the_limit(client: TestClient, width: int, height: int) -> None:
    bomb = serve_load.bomb_png(width, height)
    assert len(bomb) < 200  # the header claims the pixels; the file is tiny
    answer = client.post("/api/predict", files={"file": ("bomb.png", bomb, "image/png")})
    assert answer.status_code == 413
    error = error_of(answer)
    assert "16,777,216 pixels" in error and (f"{width * height:,} pixels" in error or f"{width}x{height}" in error)


def test_formats_browsers_do_not_send_are_refused(client: TestClient) -> None:
    for fmt in ("TGA", "PCX", "ICO"):
        answer = client.post("/api/predict", files={"file": ("a.img", png_bytes(drawn_one(), fmt), "image/png")})
        assert answer.status_code == 415, fmt
        assert "not an image Pillow can read as PNG, JPEG" in error_of(answer)


def test_large_upload_is_decoded_reduced(client: TestClient) -> None:
    image = drawn_one((4000, 3000), "1")  # a 1-bit scan: its pixels are averaged as grey levels
    answer = client.post("/api/predict", files={"file": ("scan.png", png_bytes(image), "image/png")})
    assert answer.status_code == 200, answer.text
    notes = answer.json()["notes"]
    assert notes[0] == "read PNG 4000x3000 1, decoded reduced to 267x200"  # 1/15 size
    assert any("centred" in note for note in notes)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_their_scripts_from_this_server(client: TestClient, page: str) -> None:
    answer = client.get(page)
    assert answer.status_code == 200 and "<html>" in answer.text
    assert "://" not in answer.text  # no CDN, no web fonts
    urls = re.findall(r'(?:src|href)="([^"]+)"', answer.text)
    scripts = [url for url in urls if url.endswith(".js")]
    assert scripts and all(url.startswith("/") and not url.startswith("//") for url in urls)
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
        kind = {"js": "javascript", "css": "text/css", "png": "image/png"}[url.rsplit(".", 1)[1]]
        assert kind in asset.headers["content-type"] and len(asset.content) > 1000, url
    if page == "/docs":
        assert any(url.endswith("swagger-ui.css") for url in urls)
        assert any(url.endswith("swagger-ui-bundle.js") for url in urls)


def test_busy_answers_are_documented(client: TestClient) -> None:
    responses = client.get("/openapi.json").json()["paths"]["/api/predict"]["post"]["responses"]
    assert {"413", "415", "422", "503"} <= set(responses)


def test_unknown_route_and_method_get_json(client: TestClient) -> None:
    assert client.get("/api/nothing").status_code == 404 and error_of(client.get("/api/nothing"))
    answer = client.get("/api/predict")
    assert answer.status_code == 405 and answer.headers["allow"] == "POST" and error_of(answer)

