"""Each layer's colour scale in the API: one low..high for all the channels of a layer (feature
maps and the sliding-window player), diverging around zero for signed values."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from serve_helpers import make_linear_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which is not installed here
    from fastapi.testclient import TestClient

from convscope import explain
from convscope.runs import Run
from convscope.serve import create_app


def digit_pixels() -> np.ndarray:
    pixels = np.zeros((28, 28))
    pixels[4:24, 12:16] = 1.0
    pixels[4:8, 8:20] = 0.7
    return pixels


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_linear_run(tmp_path_factory.mktemp("serve") / "linear")


def explained(run: Path, pixels: np.ndarray) -> list[dict]:
    with TestClient(create_app(run)) as client:
        answer = client.post("/api/explain", json={"pixels": pixels.tolist()})
    assert answer.status_code == 200, answer.text
    return answer.json()["feature_maps"]


def test_every_map_layer_carries_one_scale_from_its_own_values(seed_run: Path) -> None:
    maps = explained(seed_run, digit_pixels())
    reference = {m.layer: m for m in explain.feature_maps(Run.open(seed_run).load_model(), digit_pixels()[..., None])}
    for layer in maps:
        scale, expected = layer["scale"], reference[layer["layer"]].color_scale
        assert (scale["low"], scale["high"], scale["diverging"]) == pytest.approx(
            (expected.low, expected.high, expected.diverging)), layer["layer"]
        # after a ReLU: from 0 (no response) to the largest value of any channel
        assert scale["low"] == 0 and not scale["diverging"] and scale["clipped"] == 0
        assert scale["high"] == pytest.approx(max(layer["max"]), abs=1e-5)
        assert scale["meaning"].startswith("from 0 (no response)")


def test_a_layer_without_an_activation_gets_a_diverging_scale(linear_run: Path) -> None:
    signed, activated, pooled = explained(linear_run, digit_pixels())
    limit = max(-min(signed["min"]), max(signed["max"]))
    assert min(signed["min"]) < 0 < max(signed["max"])
    assert signed["scale"]["diverging"] and signed["scale"]["low"] == pytest.approx(-limit, abs=1e-5)
    assert signed["scale"]["high"] == pytest.approx(limit, abs=1e-5)
    assert not activated["scale"]["diverging"] and not pooled["scale"]["diverging"]


def test_the_player_sends_the_scales_of_the_whole_input_and_output(seed_run: Path, signal_run: Path) -> None:
    model = Run.open(seed_run).load_model()
    maps = explain.feature_maps(model, digit_pixels()[..., None])
    with TestClient(create_app(seed_run)) as client:
        first = client.post("/api/slide", json={"pixels": digit_pixels().tolist(), "layer": "conv2d", "channel": 3}).json()
        second = client.post("/api/slide", json={"pixels": digit_pixels().tolist(), "layer": "conv2d_1", "channel": 3}).json()
    assert first["input_from"] is None and first["input_scale"]["low"] == 0
    assert first["input_scale"]["high"] == pytest.approx(1.0)
    # the output scale spans every filter of the layer, not only the one played
    assert first["output_scale"]["high"] == pytest.approx(float(maps[0].maps.max()), rel=1e-6)
    assert first["output_scale"]["high"] >= float(np.max(first["output"]))
    assert second["input_from"] == "max_pooling2d"
    assert second["input_scale"]["high"] == pytest.approx(float(maps[1].maps.max()), rel=1e-6)
    signal = np.sin(np.linspace(0, 6, 40)) * 2
    with TestClient(create_app(signal_run)) as client:
        one_d = client.post("/api/slide", json={"pixels": signal.tolist(), "layer": "conv1d", "channel": 0}).json()
    assert one_d["input_scale"]["diverging"]  # a signal goes below zero
    assert one_d["input_scale"]["high"] == pytest.approx(-one_d["input_scale"]["low"])
    assert one_d["input_scale"]["high"] == pytest.approx(float(np.abs(signal).max()), rel=1e-6)
