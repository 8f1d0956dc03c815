"""The page's graph view in headless Chromium against `convscope serve` on functional models:
columns by depth, rows for branches, the skip connections arcing over the layers they skip, and
a click on a layer showing its maps and one cell's steps. A screenshot of each graph view is left
in tests/artifacts."""

from __future__ import annotations

from pathlib import Path

import bench_serve
import pytest
from serve_helpers import make_graph_run
from test_live_server import draw_seven

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
GRAPH_NODES = "#graph svg .node"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graph_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("graph-runs")
    return {name: make_graph_run(folder / name, name) for name in ("residual_cnn", "inception_cnn")}


def shoot_graph(page, name: str) -> None:
    """The whole graph panel, in a window wide enough to show every column without scrolling."""
    width = page.eval_on_selector("#graph svg", "svg => svg.width.baseVal.value")
    page.set_viewport_size({"width": max(1280, int(width) + 120), "height": 1000})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.locator("#graph-panel").screenshot(path=str(ARTIFACTS / name))
    page.set_viewport_size({"width": 1280, "height": 1000})


def node_boxes(page) -> dict[str, dict]:
    return {name: page.locator(f'#graph .node[data-node="{name}"] rect').bounding_box()
            for name in page.eval_on_selector_all("#graph .node", "all => all.map(n => n.dataset.node)")}


def test_residual_graph_view_and_a_clicked_add(open_page, graph_runs: dict[str, Path]) -> None:
    page = open_page(graph_runs["residual_cnn"], wait_for=GRAPH_NODES)
    boxes = node_boxes(page)
    assert len(boxes) == 14
    columns = sorted({round(box["x"]) for box in boxes.values()})
    assert len(columns) == 13  # depths 0..12: the projection and block2's first conv share a column
    assert round(boxes["block2_shortcut"]["x"]) == round(boxes["block2_conv1"]["x"])
    assert boxes["block2_shortcut"]["y"] != boxes["block2_conv1"]["y"]  # two rows for two branches
    assert all(boxes[a]["x"] < boxes[b]["x"] for a, b in [("input_layer", "stem"), ("stem", "block1_add"),
                                                           ("block2_add", "classes")])
    skips = page.eval_on_selector_all("#graph path.edge.skip", "all => all.map(p => [p.dataset.source, p.dataset.target])")
    assert skips == [["stem", "block1_add"], ["block2_shortcut", "block2_add"]]
    arc = page.locator('#graph path.edge.skip[data-source="stem"]').bounding_box()
    skipped = boxes["block1_conv1"]
    assert arc["y"] + 1 < skipped["y"] and arc["x"] < skipped["x"] < arc["x"] + arc["width"]  # over, not through
    assert page.eval_on_selector_all("#graph path.edge", "all => all.length") == 15
    shoot_graph(page, "serve-graph-residual.png")

    draw_seven(page)
    page.wait_for_function("document.querySelectorAll('#maps .layer').length === 11")
    heading = page.locator('#maps .layer[data-layer="block1_add"] h3').inner_text()
    assert heading == "block1_add (Add) 28x28x8 \u2190 stem + block1_conv2"
    with page.expect_response("**/api/explain") as response_info:
        page.locator('#graph .node[data-node="block1_add"]').click()
    sent = response_info.value.request.post_data_json
    assert (sent["layer"], sent["position"], sent["channel"]) == ("block1_add", [14, 14], 0)
    page.wait_for_selector("#steps:not([hidden])")
    assert page.locator("#steps-title").inner_text().startswith("Add 'block1_add', channel 0, position (14, 14) = ")
    assert page.eval_on_selector_all("#steps .stage", "all => all.map(s => s.dataset.stage)") == [
        "inputs", "combine", "output"]
    assert page.eval_on_selector_all("#steps table.merge-inputs thead th", "all => all.map(t => t.textContent)") == [
        "", "stem", "block1_conv2"]
    assert page.locator("#steps-verdict").inner_text() == "(the engine agrees)"
    assert page.locator('#maps .layer[data-layer="block1_add"]').get_attribute("class") == "layer picked"
    assert page.locator('#graph .node[data-node="block1_add"]').get_attribute("class") == "node merge selected"

    with page.expect_response("**/api/explain") as response_info:
        page.locator('#graph .node[data-node="block2_shortcut"]').click()
    assert response_info.value.request.post_data_json["position"] == [3, 3]
    page.wait_for_function("document.querySelector('#steps-title').textContent.startsWith(\"Conv2D 'block2_shortcut'\")")
    relu = page.locator('#graph .node[data-node="block1_relu"]')
    relu.click()
    assert page.locator("#graph-note").inner_text() == "block1_relu (ReLU) \u2192 28x28x8; its maps are below."
    page.screenshot(path=str(ARTIFACTS / "serve-graph-residual-page.png"), full_page=True)


def test_inception_branches_get_rows_and_a_concatenated_cell_shows_its_source(open_page,
                                                                             graph_runs: dict[str, Path]) -> None:
    page = open_page(graph_runs["inception_cnn"], wait_for=GRAPH_NODES)
    boxes = node_boxes(page)
    branch_heads = ["branch2_1x1", "branch3_1x1", "branch4_pool", "branch1_1x1"]
    assert len({round(boxes[name]["x"]) for name in branch_heads}) == 1
    assert len({round(boxes[name]["y"]) for name in branch_heads}) == 4  # one row per branch
    for head, tail in [("branch2_1x1", "branch2_3x3"), ("branch3_1x1", "branch3_5x5"), ("branch4_pool", "branch4_1x1")]:
        assert round(boxes[head]["y"]) == round(boxes[tail]["y"])  # a branch stays on its row
    # the branch that is one layer long skips a column into the concatenation
    assert page.eval_on_selector_all("#graph path.edge.skip", "all => all.map(p => p.dataset.source)") == ["branch1_1x1"]
    straight = page.locator('#graph path.edge.skip[data-source="branch1_1x1"]').bounding_box()
    row = boxes["branch1_1x1"]["y"] + boxes["branch1_1x1"]["height"] / 2
    assert abs(straight["y"] + straight["height"] - row) < 6  # along its own row, under the other branches
    shoot_graph(page, "serve-graph-inception.png")
    draw_seven(page)
    page.wait_for_function("document.querySelectorAll('#maps .layer').length === 10")
    page.locator('#graph .node[data-node="mixed"]').click()
    page.wait_for_selector("#steps:not([hidden])")
    assert page.locator("#steps-title").inner_text().startswith("Concatenate 'mixed', channel 0, position (6, 6)")
    rows = page.eval_on_selector_all("#steps table.pieces tbody tr",
                                     "all => all.map(r => [...r.cells].map(c => c.textContent).concat(r.cells[0].className))")
    assert rows == [["0\u20133", "branch1_1x1", "0\u20133", "this"], ["4\u20139", "branch2_3x3", "0\u20135", ""],
                    ["10\u201313", "branch3_5x5", "0\u20133", ""], ["14\u201317", "branch4_1x1", "0\u20133", ""]]
    # a click on a map cell of the concatenation works out that cell
    canvas = page.locator('#maps canvas.fmap[data-layer="mixed"][data-channel="12"]')
    box = canvas.bounding_box()
    with page.expect_response("**/api/explain") as response_info:
        canvas.click(position={"x": box["width"] * 0.5 / 13, "y": box["height"] * 2.5 / 13})
    assert response_info.value.request.post_data_json["position"] == [2, 0]
    page.wait_for_function("document.querySelector('#steps-title').textContent.includes('channel 12, position (2, 0)')")
    assert "branch3_5x5's channel 2" in page.locator("#steps-body").inner_text()
    page.screenshot(path=str(ARTIFACTS / "serve-graph-inception-page.png"), full_page=True)

    # the sliding-window player lists each conv and pooling layer with what it reads, and slides over that
    page.goto(page.url.split("#")[0] + "#player")
    options = page.eval_on_selector_all("#player-layer option", "all => all.map(o => o.textContent)")
    assert "branch4_1x1 (Conv2D) \u2190 branch4_pool" in options and options[0] == "stem (Conv2D) \u2190 input_layer"
    # opening the player loads its first layer: wait for the answer about the layer chosen, not that one
    with page.expect_response(lambda r: r.url.endswith("/api/slide")
                              and r.request.post_data_json["layer"] == "branch4_1x1") as response_info:
        page.select_option("#player-layer", "branch4_1x1")
    assert response_info.value.json()["input_from"] == "branch4_pool"
    page.wait_for_function("document.querySelector('#player-about').textContent.startsWith(\"Conv2D 'branch4_1x1'\")")
    assert "'branch4_pool', any of its 8 channels" in page.locator("#player-input-scale").inner_text()


def test_a_sequential_model_shows_its_shape_journey_and_no_graph(browser, seed_run: Path) -> None:
    with bench_serve.server(seed_run) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url + "/", wait_until="networkidle")
        page.wait_for_selector("#journey li:nth-child(8)")
        assert page.locator("#graph-panel").is_hidden() and page.eval_on_selector_all("#graph .node", "n => n.length") == 0
        page.close()
