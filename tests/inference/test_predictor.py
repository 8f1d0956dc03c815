"""Predictor: probabilities, top-k and doubt, the same for the predict command and the page."""

from __future__ import annotations

import numpy as np
import pytest

from convscope import set_seed
from convscope.inference import Predictor
from convscope.inference.predictor import doubt, input_warnings
from convscope.runs import resolve_model


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    set_seed(0, deterministic=False)
    return Predictor(resolve_model("mnist1d-cnn"))


def test_probabilities_and_top_classes(predictor: Predictor) -> None:
    signal = np.sin(np.linspace(0, 6, 40, dtype=np.float32))[:, None]              # (40, 1)
    probabilities = predictor.probabilities(signal)
    assert probabilities.shape == (predictor.classes,) == (10,)
    assert probabilities.sum() == pytest.approx(1.0) and probabilities.min() >= 0
    top = predictor.top(probabilities, 3)
    assert [entry["class"] for entry in top] == list(np.argsort(-probabilities, kind="stable")[:3])
    assert top[0]["probability"] >= top[1]["probability"] >= top[2]["probability"]
    answer = predictor.predict(signal, ["values used as given"], k=2)
    assert answer["prediction"] == answer["top"][0] and len(answer["top"]) == 2
    assert predictor.input_kind == "signal" and predictor.preprocessing.shape == (40, 1)


def test_doubt_and_warnings_in_words(predictor: Predictor) -> None:
    names = ["a", "b", "c"]
    assert doubt(np.array([0.9, 0.05, 0.05]), names)["level"] == "sure"
    assert doubt(np.array([0.6, 0.3, 0.1]), names)["text"].startswith("Not sure: a at 60%")
    assert doubt(np.array([0.4, 0.35, 0.25]), names)["level"] == "guess"
    flat = np.full((40, 1), 0.5, np.float32)
    assert "flat" in input_warnings(flat, predictor.preprocessing)[0]
