"""The page in headless Chromium for three sequence models real Keras wrote
(tests/keras/make_keras_sequence_paths_fixtures.py): signals into Conv1D -> LSTM, token ids into
Embedding(mask_zero=True) -> Bidirectional(GRU), and clips into TimeDistributed(Conv2D) -> LSTM."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[1] / "keras" / "fixtures"
MODELS = ("seq_signal", "seq_tokens", "seq_clips")


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_page_shows_each_sequence_model(name: str, open_page) -> None:
    """The page loads without JavaScript errors (open_page fails the test on any), its shape
    journey lists the recurrent layer, and it predicts from signals and token ids, or says it
    takes clips through the API."""
    from convscope.inference import Predictor
    from convscope.runs import resolve_model

    page = open_page(FIXTURES / f"{name}.keras", wait_for="#journey li:nth-child(5)" if name != "seq_tokens"
                     else "#journey li:nth-child(4)")
    journey = page.locator("#journey").inner_text()
    assert {"seq_signal": "lstm 6", "seq_tokens": "bidirectional 8", "seq_clips": "lstm 5"}[name] in journey
    if name == "seq_clips":
        page.wait_for_selector("#sequence-note:not([hidden])")
        assert "cannot draw or upload" in page.locator("#sequence-note").inner_text()
        assert page.locator("#signal-box").is_hidden() and page.locator("#prediction").inner_text() == "\u2013"
        return
    if name == "seq_tokens":  # the example: ids 1..7 then padding; the answer the server gives for it
        predictor = Predictor(resolve_model(str(FIXTURES / "seq_tokens.keras")))
        ids, _ = predictor.values_to_input([1, 2, 3, 4, 5, 6, 7, 0, 0, 0])
        best = predictor.top(predictor.probabilities(ids), 1)[0]
        expected = f"{best['name']} ({best['probability'] * 100:.1f}%)"
        page.wait_for_function("text => document.getElementById('prediction').textContent === text", arg=expected)
        assert page.locator("#input-title").inner_text() == "1. Enter token ids"
        assert page.locator("#signal-pad").is_hidden()
        page.fill("#signal-values", "1, 2, 0.5, 0, 0, 0, 0, 0, 0, 0")
        page.click("#signal-use")
        page.wait_for_selector("#error:not([hidden])")
        assert "whole numbers" in page.locator("#error").inner_text()
        return
    page.wait_for_function("() => /\\(\\d+\\.\\d%\\)$/.test(document.getElementById('prediction').textContent)")
    assert page.locator("#error").is_hidden()
