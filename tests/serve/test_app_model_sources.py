"""create_app reads its model as every command does (`convscope.runs.resolve_model`): a run
folder, the model/ folder inside one, a folder written by model.save or a built-in name."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which is not installed here
    from fastapi.testclient import TestClient

from convscope import utils, zoo
from convscope.runs import resolve_model
from convscope.serve import create_app


def saved_rgb_model(folder: Path) -> Path:
    """The seed CNN sized for 32x32 RGB images, written by model.save (no run around it)."""
    utils.set_seed(1, deterministic=False)
    zoo.build("seed-cnn", (32, 32, 3)).save(folder)
    return folder


# (how to name the model, the kind resolve_model reports, the input shape the app takes)
SOURCES: dict[str, tuple[Callable[[Path, Path], str | Path], str, list[int]]] = {
    "run folder": (lambda run, tmp: run, "run folder", [28, 28, 1]),
    "run folder as str": (lambda run, tmp: str(run), "run folder", [28, 28, 1]),
    "model/ inside a run": (lambda run, tmp: run / "model", "run folder", [28, 28, 1]),
    "saved model (RGB)": (lambda run, tmp: saved_rgb_model(tmp / "rgb"), "saved model", [32, 32, 3]),
    "built-in name": (lambda run, tmp: "seed-cnn", "built-in model", [28, 28, 1]),
}


@pytest.mark.parametrize("source", list(SOURCES))
def test_every_kind_of_model_source_serves_predictions(source: str, seed_run: Path, tmp_path: Path) -> None:
    name_it, kind, shape = SOURCES[source]
    named = name_it(seed_run, tmp_path)
    app = create_app(named)
    predictor = app.state.predictor
    assert predictor.run.kind == kind
    pixels = np.random.default_rng(2).random(shape).astype(np.float32)
    with TestClient(app) as client:
        info = client.get("/api/model").json()
        assert info["name"] == "seed_cnn" and info["input"]["shape"] == shape and info["classes"] == 10
        assert info["shape_journey"][0]["input_shape"] == shape
        answer = client.post("/api/predict", json={"pixels": pixels.tolist()})
        assert answer.status_code == 200, answer.text
        malformed = client.post("/api/predict", json={"pixels": [[2.0, 3.0]]})
        assert malformed.status_code == 422 and "0..1" in malformed.json()["error"]
    if kind == "built-in model":  # random weights: the app's own model is the reference
        model = predictor.model
    else:  # the same folder read again gives the same weights
        model = resolve_model(named).load_model()
    expected = model.predict(pixels[None])[0]
    np.testing.assert_allclose(answer.json()["probabilities"], expected, atol=1e-5)


def test_a_built_in_name_takes_its_input_settings_from_the_zoo() -> None:
    app = create_app("mnist1d-cnn")
    with TestClient(app) as client:
        info = client.get("/api/model").json()
        assert info["run"] == "mnist1d-cnn" and info["input"]["shape"] == [40, 1]
        signal = np.linspace(-2, 3, 40)
        answer = client.post("/api/predict", json={"pixels": signal.tolist()}).json()
    assert answer["notes"] == ["values used as given"]
    expected = app.state.predictor.model.predict(signal.reshape(1, 40, 1).astype(np.float32))[0]
    np.testing.assert_allclose(answer["probabilities"], expected, atol=1e-5)


def test_a_name_that_is_neither_a_folder_nor_built_in_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no built-in model of that name.*seed-cnn"):
        create_app("seed-cn")
    not_a_folder = tmp_path / "weights.safetensors"
    not_a_folder.write_bytes(b"")
    with pytest.raises(ValueError, match="a file, not a model"):
        create_app(not_a_folder)
