"""The page's 1D view, sliding-window player, lesson mode and input modes in headless Chromium,
against the real server; the numbers shown are checked against the NumPy reference."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import make_fashion_run, make_linear_run, make_strided_run
from test_live_server import draw_seven

from convscope import explain
from convscope.explain import reference
from convscope.runs import Run

SCREENSHOTS = Path("/tmp/t16w")
pytestmark = pytest.mark.slow


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def shown(page, selector: str) -> float:
    return float(page.locator(selector).inner_text())


def test_1d_view_shows_the_signal_strips_and_one_cells_stages(open_page, signal_run: Path) -> None:
    page = open_page(signal_run)
    page.wait_for_selector("canvas.strips")
    layers = page.eval_on_selector_all("canvas.strips", "all => all.map(c => [c.dataset.layer, +c.dataset.length, +c.dataset.channels])")
    assert layers == [["conv1d", 40, 32], ["max_pooling1d", 20, 32], ["conv1d_1", 20, 64],
                      ["max_pooling1d_1", 10, 64], ["conv1d_2", 10, 64]]
    widths = page.eval_on_selector_all("canvas.strips", "all => all.map(c => Math.round(c.getBoundingClientRect().width))")
    plot = page.locator("#signal-plot").bounding_box()
    assert all(abs(width - plot["width"]) <= 2 for width in widths)  # the strips line up under the signal
    with page.expect_response("**/api/explain") as response_info:
        strip = page.locator('canvas.strips[data-layer="conv1d"]').bounding_box()
        # position 1 of 40 (its window reaches into the left padding), channel 6 of 32
        page.mouse.click(strip["x"] + 1.5 * strip["width"] / 40, strip["y"] + 6.5 * strip["height"] / 32)
    sent = response_info.value.request.post_data_json
    assert sent["layer"] == "conv1d" and sent["position"] == [1] and sent["channel"] == 6
    page.wait_for_selector("#steps:not([hidden])")
    assert page.locator("#steps-title").inner_text().startswith("Conv1D 'conv1d', filter 6, position (1)")
    stages = page.eval_on_selector_all("#steps .stage", "all => all.map(s => s.dataset.stage)")
    assert stages == ["products", "total", "bias", "activation", "output"]
    assert "positions -1\u20133" in page.locator("#steps .stage h4").first.inner_text()
    pads = page.eval_on_selector_all("#steps table.window td.pad", "all => all.length")
    assert pads == 1
    signal = np.asarray(sent["pixels"], np.float64)
    filters = explain.learned_filters(Run.open(signal_run).load_model(), "conv1d")
    pre = reference.conv1d(signal, filters.kernel, filters.bias, padding="same")[1, 6]
    assert shown(page, '#steps .stage[data-stage="bias"] .value') == pytest.approx(pre, rel=1e-3, abs=1e-4)
    assert shown(page, '#steps .stage[data-stage="output"] .value') == pytest.approx(max(pre, 0.0), rel=1e-3, abs=1e-4)
    shaded = page.evaluate("""() => { const c = document.getElementById('signal-plot');
        const d = c.getContext('2d').getImageData(0, 5, c.width, 1).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] > 240 && d[i + 1] < 235) n++; return n / c.width; }""")
    assert 0.05 < shaded < 0.12  # positions 0..3 of 40 shaded: what the value depends on
    shot(page, "view1d")


def player_steps(page, count: int) -> dict:
    for _ in range(count):
        page.click("#player-next")
    return page.eval_on_selector("#player-readout", "r => ({...r.dataset, text: r.innerText})")


def test_player_slides_with_stride_and_padding(open_page, tmp_path: Path) -> None:
    run = make_strided_run(tmp_path / "strided")
    page = open_page(run)
    page.wait_for_selector("#journey li:nth-child(4)")
    with page.expect_response("**/api/predict") as response_info:
        draw_seven(page)
    answer = response_info.value
    assert answer.ok, f"/api/predict answered {answer.status}: {answer.text()}"
    seen = np.asarray(answer.json()["input"], np.float64)
    page.wait_for_selector(".fmap")
    page.click("a[data-view=player]")
    page.fill("#player-channel", "1")
    page.press("#player-channel", "Tab")  # leaving the field changes the filter
    page.wait_for_function("document.getElementById('player-about').textContent.includes('filter 1:')")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("document.getElementById('player-readout').textContent.startsWith('Step 0 of 196')")
    formula = page.locator("#player-formula").inner_text()
    assert "\u230a(28 + 0 + 1 \u2212 1\u00b72 \u2212 1) / 2\u230b + 1 = 14" in formula
    filters = explain.learned_filters(Run.open(run).load_model(), "conv2d")
    expected = reference.relu(reference.conv2d(seen, filters.kernel, filters.bias, stride=2, padding="same"))[..., 1]
    readout = player_steps(page, 23)  # cell 22: row 1, column 8
    assert readout["step"] == "23" and readout["position"] == "1,8"
    assert float(readout["value"]) == pytest.approx(expected[1, 8], abs=1e-4)
    assert "rows 2\u20134, columns 16\u201318" in readout["text"]
    page.click("#player-end")
    readout = page.eval_on_selector("#player-readout", "r => ({...r.dataset, text: r.innerText})")
    # the last window: rows 26..28, of which 28 is the padding 'same' adds at the end
    assert readout["position"] == "13,13" and "rows 26\u201328, columns 26\u201328" in readout["text"]
    assert float(readout["value"]) == pytest.approx(expected[13, 13], abs=1e-4)
    page.click("#player-why")
    page.wait_for_selector("#player-steps:not([hidden])")
    assert page.locator("#player-steps-title").inner_text().startswith("Conv2D 'conv2d', filter 1, position (13, 13)")
    assert page.eval_on_selector_all("#player-steps table.window td.pad", "all => all.length") == 5
    shot(page, "player2d")


def test_player_on_a_conv1d_layer_starts_in_the_padding(open_page, signal_run: Path) -> None:
    page = open_page(signal_run, path="/#player")  # the example signal reaches the player once predicted
    page.wait_for_function("document.getElementById('player-readout').textContent.startsWith('Step 0 of 40')")
    readout = player_steps(page, 1)
    assert readout["position"] == "0" and "positions -2\u20132" in readout["text"]
    page.click("#player-play")
    page.wait_for_function("document.getElementById('player-readout').dataset.step === '40'", timeout=15_000)
    assert page.locator("#player-play").inner_text() == "Play"  # stopped at the end
    shot(page, "player1d")


def lesson_cells(page, table: str) -> list[str]:
    return page.eval_on_selector_all(f"table.{table} td", "all => all.map(td => td.textContent)")


def test_lesson_mode_works_the_seeds_examples(open_page, seed_run: Path) -> None:
    page = open_page(seed_run, path="/#lesson")
    page.wait_for_function("document.getElementById('lesson-stage').textContent.startsWith('Step 0 of 6')")
    page.click("#lesson-next")
    assert page.locator("#lesson-sum").inner_text().replace(" ", "").endswith("=2\u21922")
    assert lesson_cells(page, "lesson-conv") == ["2", "", "", ""]
    page.click("#lesson-all")
    assert lesson_cells(page, "lesson-conv") == ["2", "0", "3", "5"]
    assert lesson_cells(page, "lesson-relu") == ["2", "0", "3", "5"]
    assert lesson_cells(page, "lesson-pool") == ["5"]  # seed 003: Pool(ReLU(Conv(I))) = 5
    assert page.eval_on_selector("table.lesson-relu td.win", "td => td.textContent") == "5"
    shot(page, "lesson")
    page.select_option("#lesson-preset", "seed004")
    page.wait_for_function("document.getElementById('lesson-stage').textContent.startsWith('Step 0 of 2')")
    page.click("#lesson-next")
    assert lesson_cells(page, "lesson-conv") == ["577"]  # seed 004's new pixel
    assert page.locator("#lesson-sum").inner_text().startswith("0 + 0 + (-256) + 24 + 864 + (-216) + 213 + 452 + (-504) = 577")
    assert page.locator("table.lesson-pool").count() == 0  # one pixel: nothing to pool
    shot(page, "lesson_577")


def test_lesson_mode_with_stride_padding_and_a_typed_matrix(open_page, seed_run: Path) -> None:
    page = open_page(seed_run, path="/#lesson")
    page.select_option("#lesson-preset", "strided")
    page.wait_for_function("document.getElementById('lesson-stage').textContent.startsWith('Step 0 of 11')")
    page.click("#lesson-next")
    page.click("#lesson-next")
    assert page.eval_on_selector_all("table.lesson-input td.window", "all => all.length") == 9
    assert page.eval_on_selector_all("table.lesson-input td.window.pad", "all => all.length") == 3  # top row is padding
    page.click("#lesson-all")
    matrix = np.tile([0, 0, 1, 1, 1], (5, 1))
    conv = reference.conv2d(matrix, [[-1, 0, 1]] * 3, stride=2, padding=1)
    assert [float(v) for v in lesson_cells(page, "lesson-conv")] == conv.ravel().tolist()
    assert [float(v) for v in lesson_cells(page, "lesson-pool")] == reference.max_pool2d(reference.relu(conv)).ravel().tolist()
    rng = np.random.default_rng(3)
    matrix, kernel = rng.integers(-5, 6, (6, 5)), rng.integers(-2, 3, (3, 2))
    page.fill("#lesson-matrix", "\n".join(" ".join(map(str, row)) for row in matrix))
    page.fill("#lesson-kernel", "\n".join(" ".join(map(str, row)) for row in kernel))
    page.fill("#lesson-bias", "-1")
    page.select_option("#lesson-pool", "average")
    page.click("#lesson-run")
    page.wait_for_function("document.getElementById('lesson-stage').textContent.startsWith('Step 0 of')")
    page.click("#lesson-all")
    conv = reference.conv2d(matrix, kernel, -1.0, stride=2, padding=1)
    assert [float(v) for v in lesson_cells(page, "lesson-conv")] == pytest.approx(conv.ravel().tolist())
    pooled = reference.avg_pool2d(reference.relu(conv))
    assert [float(v) for v in lesson_cells(page, "lesson-pool")] == pytest.approx(pooled.ravel().tolist(), rel=1e-3)
    page.fill("#lesson-matrix", "1 2\n3")
    page.click("#lesson-run")
    page.wait_for_function("document.getElementById('lesson-error').textContent.length > 0")
    assert "rows of equal length" in page.locator("#lesson-error").inner_text()


def test_a_fashion_model_takes_uploads_only(open_page, tmp_path: Path) -> None:
    page = open_page(make_fashion_run(tmp_path / "fashion"))
    page.wait_for_selector("#upload-box:not([hidden])")
    assert page.locator("#draw").is_hidden() and "fashion_mnist" in page.locator("#upload-note").inner_text()
    assert page.locator("#input-title").inner_text() == "1. Upload a picture"
    from PIL import Image, ImageDraw
    picture = tmp_path / "trousers.png"
    image = Image.new("L", (90, 90), 0)
    ImageDraw.Draw(image).rectangle((30, 5, 60, 85), fill=210)
    image.save(picture)
    page.set_input_files("#upload-only", str(picture))
    page.wait_for_selector(".fmap")
    names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    assert page.locator("#prediction").inner_text().split(" (")[0] in names


def test_a_speck_gets_a_warning_and_a_word_of_doubt(open_page, seed_run: Path) -> None:
    page = open_page(seed_run)
    page.wait_for_selector("#journey li:nth-child(8)")
    box = page.locator("#draw").bounding_box()
    page.mouse.move(box["x"] + 140, box["y"] + 140)
    page.mouse.down()
    page.mouse.move(box["x"] + 142, box["y"] + 141, steps=2)
    page.mouse.up()
    page.wait_for_selector("#warnings:not([hidden])")
    assert "tiny" in page.locator("#warnings").inner_text()
    assert re.match(r"\d \(\d+\.\d%\)", page.locator("#prediction").inner_text())
    assert page.locator("#doubt").is_visible() and page.locator("#doubt").inner_text() in ("not sure", "only a guess")


@pytest.mark.parametrize("width", [1280, 390])
def test_steps_do_not_push_the_maps_away(open_page, seed_run: Path, width: int) -> None:
    page = open_page(seed_run, width=width)
    page.wait_for_selector("#journey li:nth-child(8)")
    draw_seven(page)
    page.wait_for_selector(".fmap")
    target = page.locator('canvas.fmap[data-layer="conv2d_1"][data-channel="0"]')
    target.scroll_into_view_if_needed()
    before = target.bounding_box()
    target.click(position={"x": 10, "y": 10})
    page.wait_for_selector("#steps:not([hidden])")
    page.wait_for_selector("#steps table.channel-table tr.part")
    after = target.bounding_box()
    steps = page.locator("#steps").bounding_box()
    assert after["y"] == pytest.approx(before["y"], abs=1)  # the maps did not move down
    if width >= 900:
        first_map = page.locator("canvas.fmap").first.bounding_box()
        assert steps["x"] > first_map["x"] + 300  # beside the maps
        assert steps["y"] < page.viewport_size["height"]
    else:
        assert page.eval_on_selector("#steps", "s => getComputedStyle(s).position") == "fixed"
        assert steps["y"] + steps["height"] == pytest.approx(page.viewport_size["height"], abs=2)
        assert steps["height"] <= 0.56 * page.viewport_size["height"]
    rows = page.eval_on_selector_all("#steps table.channel-table tr.part", "all => all.length")
    assert rows == 8
    sums = [abs(float(v)) for v in page.eval_on_selector_all(
        "#steps table.channel-table tr.part td:nth-child(3)", "all => all.map(td => td.textContent)")]
    assert sums == sorted(sums, reverse=True)
    page.click("#steps .link.more")
    assert page.eval_on_selector_all("#steps table.channel-table tr.part", "all => all.length") == 64
    page.locator("#steps tr.part button").first.click()
    assert page.eval_on_selector_all("#steps tr.detail table", "all => all.map(t => t.querySelector('caption').textContent)")[1:] == [
        "weights, filter 0", "products"]
    shot(page, f"steps_{width}")


LEGENDS = """all => all.map(section => { const legend = section.querySelector('.legend');
    return legend && { layer: section.dataset.layer, bar: legend.querySelectorAll('canvas.scale-bar').length,
        low: legend.querySelector('.scale-low').textContent, high: legend.querySelector('.scale-high').textContent,
        diverging: legend.dataset.diverging, caption: legend.querySelector('.scale-caption').textContent }; })"""


def check_legends(shown: list[dict], feature_maps: list[dict]) -> None:
    """Every layer section has a colour bar whose printed ends are the API's scale for that layer:
    0 and the largest value of any channel (after a ReLU), or -m and m for signed values."""
    assert [legend["layer"] for legend in shown] == [layer["layer"] for layer in feature_maps]
    for legend, layer in zip(shown, feature_maps):
        scale = layer["scale"]
        assert legend["bar"] == 1, legend
        assert float(legend["low"]) == pytest.approx(scale["low"], rel=1e-3, abs=1e-6)
        assert float(legend["high"]) == pytest.approx(scale["high"], rel=1e-3)
        largest = max(max(layer["max"]), -min(layer["min"]))
        assert float(legend["high"]) == pytest.approx(largest, rel=1e-3)
        if scale["diverging"]:
            assert legend["diverging"] == "true" and float(legend["low"]) == -float(legend["high"])
            assert legend["caption"].startswith("blue = negative, red = positive, white = 0 (no response)")
        else:
            assert float(legend["low"]) == 0 == min(0, min(layer["min"]))
            assert legend["caption"] == (f"black = 0 (no response), white = {legend['high']} "
                                         "(the strongest response in this layer)")


def test_every_layer_of_a_2d_model_shows_its_colour_scale(open_page, seed_run: Path) -> None:
    page = open_page(seed_run)
    page.wait_for_selector("#journey li:nth-child(8)")
    with page.expect_response("**/api/explain") as response_info:
        draw_seven(page)
    feature_maps = response_info.value.json()["feature_maps"]
    page.wait_for_selector(".fmap")
    check_legends(page.eval_on_selector_all("#maps .layer", LEGENDS), feature_maps)
    # one scale a layer: each channel's brightest pixel is its own largest value on the layer's scale
    first = feature_maps[0]
    brightest = page.evaluate("""() => [...document.querySelectorAll('canvas.fmap[data-layer="conv2d"]')].map(c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let most = 0;
        for (let i = 0; i < d.length; i += 4) most = Math.max(most, d[i]); return most; })""")
    expected = [round(high / first["scale"]["high"] * 255) for high in first["max"]]
    assert max(abs(a - b) for a, b in zip(brightest, expected)) <= 1
    assert max(brightest) == 255 and min(brightest) < 200  # not every channel stretched to white
    ends = page.eval_on_selector(".legend canvas.scale-bar", """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, 1).data;
        return [d[0], d[d.length - 4]]; }""")
    assert ends[0] < 5 and ends[1] > 250  # black on the left, white on the right


def test_a_signed_layer_gets_a_diverging_scale(open_page, tmp_path: Path) -> None:
    page = open_page(make_linear_run(tmp_path / "linear"))
    page.wait_for_selector("#journey li:nth-child(5)")
    with page.expect_response("**/api/explain") as response_info:
        draw_seven(page)
    feature_maps = response_info.value.json()["feature_maps"]
    page.wait_for_selector(".fmap")
    legends = page.eval_on_selector_all("#maps .layer", LEGENDS)
    check_legends(legends, feature_maps)
    assert [legend["diverging"] for legend in legends] == ["true", "false", "false"]
    hues = page.evaluate("""() => { let blue = 0, red = 0;
        for (const c of document.querySelectorAll('canvas.fmap[data-layer="conv2d"]')) {
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < d.length; i += 4) { if (d[i + 2] > d[i] + 40) blue++; if (d[i] > d[i + 2] + 40) red++; } }
        return [blue, red]; }""")
    assert hues[0] > 0 and hues[1] > 0  # negative values blue, positive red


def test_every_strip_of_a_1d_model_shows_its_colour_scale(open_page, signal_run: Path) -> None:
    page = open_page(signal_run)
    page.wait_for_selector("canvas.strips")
    with page.expect_response("**/api/explain") as response_info:
        page.click("#signal-example")
    feature_maps = response_info.value.json()["feature_maps"]
    page.wait_for_function(f"document.querySelectorAll('.strips-layer .legend').length === {len(feature_maps)}")
    legends = page.eval_on_selector_all("#maps .strips-layer", LEGENDS)
    for legend in legends:
        legend["caption"] = legend["caption"].removesuffix("; a row per channel, all against these ends")
    check_legends(legends, feature_maps)


def test_the_player_shows_the_scales_of_its_input_and_output(open_page, signal_run: Path, seed_run: Path) -> None:
    page = open_page(signal_run, path="/#player")
    page.wait_for_function("document.getElementById('player-readout').textContent.startsWith('Step 0 of 40')")
    with page.expect_response("**/api/slide") as response_info:
        page.fill("#player-channel", "1")
        page.press("#player-channel", "Tab")
    answer = response_info.value.json()
    page.wait_for_function("document.getElementById('player-about').textContent.includes('filter 1:')")
    shown = {name: page.eval_on_selector(f"#player-{name}-scale .legend", """l => ({diverging: l.dataset.diverging,
        low: +l.querySelector('.scale-low').textContent, high: +l.querySelector('.scale-high').textContent,
        caption: l.querySelector('.scale-caption').textContent})""") for name in ("input", "output")}
    for name in ("input", "output"):
        scale = answer[f"{name}_scale"]
        assert shown[name]["low"] == pytest.approx(scale["low"], rel=1e-3, abs=1e-6)
        assert shown[name]["high"] == pytest.approx(scale["high"], rel=1e-3)
    assert shown["input"]["diverging"] == "true"  # the example signal dips below zero
    assert shown["input"]["caption"].startswith("blue = negative, red = positive, white = 0; ")
    assert shown["input"]["caption"].endswith("the largest magnitude in the input")
    assert shown["output"]["caption"].endswith("(the strongest response in 'conv1d', any of its 32 channels)")
    page = open_page(seed_run)
    page.wait_for_selector("#journey li:nth-child(8)")
    draw_seven(page)
    page.wait_for_selector(".fmap")
    page.click("a[data-view=player]")
    page.select_option("#player-layer", "conv2d_1")
    page.wait_for_function("document.getElementById('player-about').textContent.includes(\"'conv2d_1'\")")
    caption = page.locator("#player-input-scale .scale-caption").inner_text()
    assert caption.startswith("black = 0 (no response), white = ")
    assert caption.endswith("(the strongest response in 'max_pooling2d', any of its 64 channels)")
    shot(page, "player_scales")
