"""The real server on 127.0.0.1: a bounded load test and the page in headless Chromium."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
import bench_serve  # noqa: E402

ARTIFACTS = REPO / "tests" / "artifacts"


@pytest.fixture(scope="module")
def server_url(seed_run: Path) -> str:
    with bench_serve.server(seed_run) as url:
        yield url


@pytest.mark.slow
def test_load_1000_predictions_8_at_a_time(server_url: str) -> None:
    bench_serve.load_test(server_url, 16, 8)  # warm up
    result = bench_serve.load_test(server_url, 1000, 8)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "serve-load.json").write_text(json.dumps(result, indent=2))
    print(f"\nload test: {json.dumps(result)}")
    assert result["errors"] == 0, result["first_errors"]
    assert 0 < result["p50_ms"] <= result["p99_ms"] < 10_000


@pytest.mark.slow
def test_page_draws_predicts_and_explains(server_url: str, browser, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server_url, wait_until="networkidle")
        page.wait_for_selector("#journey li:nth-child(8)")
        draw_seven(page)
        page.wait_for_selector(".fmap", timeout=30_000)
        check_prediction(page)
        check_maps_and_steps(page)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "serve-page.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


@pytest.mark.slow
def test_docs_page_renders_with_nothing_from_outside(server_url: str, browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    requested: list[str] = []
    try:
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{server_url}/docs", wait_until="networkidle")
        page.wait_for_selector(".opblock-summary-path[data-path='/api/predict']", timeout=30_000)
        assert page.locator(".opblock").count() >= 4  # health, model, predict, explain
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "serve-docs.png"))
    finally:
        page.close()
    outside = [url for url in requested if not url.startswith(server_url) and not url.startswith("data:")]
    assert outside == [] and any(url.endswith("/swagger-ui-bundle.js") for url in requested)


def draw_seven(page) -> None:
    box = page.locator("#draw").bounding_box()
    points = [(70, 60), (210, 60), (120, 230)]
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=12)
    page.mouse.up()


def check_prediction(page) -> None:
    prediction = page.locator("#prediction").inner_text()
    probabilities = [float(value) for value in page.eval_on_selector_all(
        ".bar-fill", "bars => bars.map(bar => bar.dataset.probability)")]
    assert len(probabilities) == 10 and sum(probabilities) == pytest.approx(1.0, abs=1e-3)
    best = max(range(10), key=lambda index: probabilities[index])
    assert prediction.startswith(f"{best} (")
    notes = page.locator("#notes").inner_text()
    assert "centred" in notes


def check_maps_and_steps(page) -> None:
    counts = page.eval_on_selector_all(".layer", "layers => layers.map(l => [l.dataset.layer, "
                                                  "l.querySelectorAll('canvas.fmap').length])")
    assert counts == [["conv2d", 64], ["max_pooling2d", 64], ["conv2d_1", 64], ["max_pooling2d_1", 64]]
    lit = page.evaluate("""() => [...document.querySelectorAll('canvas.fmap[data-layer="conv2d"]')]
        .filter(c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 < 3 && v > 0))
        .length""")
    assert lit > 0  # the maps show something, not blank canvases
    target = page.locator('canvas.fmap[data-layer="conv2d"][data-channel="5"]')
    target.click(position={"x": 26, "y": 26})
    page.wait_for_selector("#steps:not([hidden])")
    title = page.locator("#steps-title").inner_text()
    assert title.startswith("Conv2D 'conv2d', filter 5, position (")
    assert "agrees" in page.locator("#steps-verdict").inner_text()
    assert "Total = " in page.locator("#steps-text").inner_text()
