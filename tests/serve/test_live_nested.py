"""The page in headless Chromium on Keras's probability model, Sequential([base, Softmax()]),
whose base has a grouped convolution: the graph frames base's layers under its name, a click on
the grouped conv shows a cell that reads its group's channels only, and the player says so.
Screenshots are left in tests/artifacts."""

from __future__ import annotations

from pathlib import Path

import bench_serve
import pytest
from nested_models import nested_seed_cnn
from serve_helpers import DIGITS, MNIST_INPUT
from test_live_server import draw_seven

from convscope import runs

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nested_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runs.save_model_run(nested_seed_cnn(), tmp_path_factory.mktemp("live") / "nested",
                               preprocessing=MNIST_INPUT, class_names=DIGITS, source="mnist")


def inside(box: dict, frame: dict) -> bool:
    return (frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"]
            and frame["y"] <= box["y"] and box["y"] + box["height"] <= frame["y"] + frame["height"])


def test_a_nested_model_is_framed_and_its_grouped_conv_explained(browser, nested_run: Path) -> None:
    errors: list[str] = []
    with bench_serve.server(nested_run) as url:
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(url + "/", wait_until="networkidle")
        page.wait_for_selector("#graph svg .node")
        assert page.locator("#graph-panel").is_visible()
        frame = page.locator('#graph .nested[data-group="base"] rect').bounding_box()
        assert page.locator('#graph .nested[data-group="base"] text').text_content() == "base (Sequential)"
        boxes = {name: page.locator(f'#graph .node[data-node="{name}"] rect').bounding_box()
                 for name in ("input", "base/conv2d", "base/conv2d_1", "base/dense", "softmax")}
        assert all(inside(boxes[name], frame) for name in ("base/conv2d", "base/conv2d_1", "base/dense"))
        assert not inside(boxes["softmax"], frame) and not inside(boxes["input"], frame)
        assert page.locator('#graph .node[data-node="base/conv2d_1"] text.name').text_content() == "conv2d_1"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.locator("#graph-panel").screenshot(path=str(ARTIFACTS / "serve-graph-nested.png"))

        draw_seven(page)
        page.wait_for_selector('#maps .layer[data-layer="base/conv2d_1"]')
        with page.expect_response("**/api/explain") as response_info:
            page.locator('#graph .node[data-node="base/conv2d_1"]').click()
        assert response_info.value.request.post_data_json["layer"] == "base/conv2d_1"
        page.wait_for_function("document.querySelector('#steps-title').textContent.startsWith(\"Conv2D 'base/conv2d_1'\")")
        assert page.locator("#steps .group-note").inner_text().startswith(
            "filter 0 reads input channels 0-15 (group 1 of 4): a grouped convolution's filter")
        assert "16 input channels" in page.locator("#steps table.channel-table caption").inner_text()
        page.screenshot(path=str(ARTIFACTS / "serve-nested-page.png"), full_page=True)

        page.goto(page.url.split("#")[0] + "#player")
        grouped = "base/conv2d_1"
        with page.expect_response(lambda answer: answer.url.endswith("/api/slide")
                                  and answer.request.post_data_json["layer"] == grouped) as response_info:
            page.select_option("#player-layer", grouped)
        assert sorted(response_info.value.json()["input_channels"]) == list(range(16))
        page.wait_for_function("document.querySelector('#player-about').textContent.includes('4 groups')")
        assert "reads only input channels 0\u201315 (its group)" in page.locator("#player-about .group-note").inner_text()
        page.close()
    assert errors == []
