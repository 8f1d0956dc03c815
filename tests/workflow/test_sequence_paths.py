"""Three sequence models a user brings, through every user path in a fresh process: a scientist's
Conv1D -> MaxPooling1D -> LSTM -> Dense on 1-D signals, Embedding(mask_zero=True) ->
Bidirectional(GRU) -> Dense on token ids, and TimeDistributed(Conv2D) -> TimeDistributed(Flatten)
-> LSTM -> Dense on short clips. Each is read from the .keras file real Keras wrote
(tests/keras/make_keras_sequence_paths_fixtures.py) and from convscope's own saved format, and
its answers are checked against Keras's predictions stored beside it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convscope
from convscope import runs

FIXTURES = Path(__file__).parents[1] / "keras" / "fixtures"
MODELS = ("seq_signal", "seq_tokens", "seq_clips")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}


def fixture(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Keras's inputs (the token ids end in padding of different lengths) and predictions."""
    with np.load(FIXTURES / f"{name}.npz") as stored:
        return stored["x0"], stored["y0"]


def cli(*argv: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "convscope", *argv], capture_output=True, text=True,
                            env=ENV, timeout=300, check=False)
    assert result.returncode == expect, f"convscope {' '.join(argv)}: exit {result.returncode}\n{result.stderr}"
    return result


@pytest.fixture(scope="module", params=["keras", "convscope"])
def sources(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each model as the .keras file, or saved again in convscope's own format."""
    if request.param == "keras":
        return {name: FIXTURES / f"{name}.keras" for name in MODELS}
    folder = tmp_path_factory.mktemp("own")
    for name in MODELS:
        convscope.load_model(FIXTURES / f"{name}.keras").save(folder / name)
    return {name: folder / name for name in MODELS}


@pytest.mark.parametrize("name", MODELS)
def test_summary_lists_the_recurrent_layers(name: str) -> None:
    text = cli("summary", str(FIXTURES / f"{name}.keras")).stdout
    expected = {"seq_signal": ["conv1d (Conv1D)", "(None, 18, 8)", "lstm (LSTM)", "(None, 6)", "Total params: 429"],
                "seq_tokens": ["embedding (Embedding)", "bidirectional (Bidirectional)", "(None, 8)",
                               "Total params: 382"],
                "seq_clips": ["time_distributed (TimeDistributed)", "(None, 4, 6, 6, 3)", "(None, 4, 108)",
                              "lstm (LSTM)", "Total params: 2,328"]}[name]
    assert all(part in text for part in expected), text


@pytest.mark.parametrize("name", MODELS)
def test_predict_answers_a_batch_file_row_by_row(name: str, sources: dict[str, Path], tmp_path: Path) -> None:
    x, y = fixture(name)
    np.save(tmp_path / "batch.npy", x)
    results = json.loads(cli("predict", "--json", "--top", "3", str(sources[name]), str(tmp_path / "batch.npy")).stdout)
    assert [result["file"] for result in results] == [f"{tmp_path / 'batch.npy'}[{i}]" for i in range(len(x))]
    for result, expected in zip(results, y):
        assert result["prediction"]["class"] == int(expected.argmax())
        assert result["prediction"]["probability"] == pytest.approx(float(expected.max()), abs=1e-5)
    np.save(tmp_path / "one.npy", x[2])
    (one,) = json.loads(cli("predict", "--json", str(sources[name]), str(tmp_path / "one.npy")).stdout)
    assert one["prediction"]["probability"] == pytest.approx(float(y[2].max()), abs=1e-5)


def test_token_ids_are_never_scaled_like_pixels(tmp_path: Path) -> None:
    """A run folder whose training data were integers records scale 1/255; uint8 token ids must
    still reach the Embedding as ids."""
    x, y = fixture("seq_tokens")
    model = convscope.load_model(FIXTURES / "seq_tokens.keras")
    runs.save_model_run(model, tmp_path / "run", preprocessing=runs.Preprocessing((10,), 1 / 255, "mixed", "resize", 0),
                        class_names=["negative", "positive"])
    np.save(tmp_path / "ids.npy", x.astype(np.uint8))
    results = json.loads(cli("predict", "--json", str(tmp_path / "run"), str(tmp_path / "ids.npy")).stdout)
    assert [r["prediction"]["probability"] for r in results] == pytest.approx(y.max(axis=1).tolist(), abs=1e-5)
    assert all(r["notes"] == ["token ids used as given"] for r in results)


@pytest.mark.parametrize(("ids", "message"), [
    ([3, 25, 0, 0, 0, 0, 0, 0, 0, 0], "this model reads token ids in 0..19 (its Embedding has 20 entries); got 0..25."),
    ([1.5] * 10, "the values must be whole numbers, got fractions."),
    ([1, 2, 3], "'pixels' has shape [3]; this model reads [10] token ids (pad shorter sequences with 0)."),
])
def test_predict_refuses_what_is_not_token_ids(ids: list[float], message: str, tmp_path: Path) -> None:
    np.save(tmp_path / "bad.npy", np.array(ids))
    result = cli("predict", str(FIXTURES / "seq_tokens.keras"), str(tmp_path / "bad.npy"), expect=1)
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("name", MODELS)
def test_evaluate_takes_arrays_shaped_like_the_inputs(name: str, sources: dict[str, Path], tmp_path: Path) -> None:
    x, y = fixture(name)
    labels = np.array([0, 1, 1, 0]) % y.shape[1]
    np.savez(tmp_path / "test.npz", x=x, y=labels)
    result = json.loads(cli("evaluate", str(sources[name]), "--data", str(tmp_path / "test.npz"), "--json").stdout)
    expected_loss = float(-np.log(y[np.arange(len(y)), labels]).mean())  # Keras's probabilities
    assert result["samples"] == 4
    assert result["loss"] == pytest.approx(expected_loss, abs=1e-5)
    assert result["accuracy"] == pytest.approx(float(np.mean(y.argmax(axis=1) == labels)))


@pytest.mark.parametrize("name", MODELS)
def test_onnx_export_matches_keras(name: str, sources: dict[str, Path], tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from convscope.export import onnx_predict

    x, y = fixture(name)
    out = cli("export", str(sources[name]), "--out", str(tmp_path / "model.onnx")).stdout
    assert np.abs(onnx_predict(tmp_path / "model.onnx", x) - y).max() < 1e-5  # for tokens: a masked batch
    last = out.strip().splitlines()[-1]
    assert float(last.rsplit(" ", 1)[1]) < 1e-5, out
    if name == "seq_tokens":
        assert "token ids in 0..19 (0 pads)" in out and "8 random token sequences, padded" in last


def test_explain_views_for_sequences(tmp_path: Path) -> None:
    signal, tokens, clips = (str(FIXTURES / f"{name}.keras") for name in MODELS)
    assert "journey: 40 -> 36 -> 18 -> 6 -> 3" in cli("explain", "shapes", "--model", signal).stdout
    assert "return_sequences=False: h after the last step -> (5)" in cli("explain", "shapes", "--model", clips).stdout
    missing = cli("explain", "rnn", "--model", signal, expect=1).stderr
    assert "hint: pass --image FILE.npy holding one input shaped (40, 1)" in missing
    for name, source in (("seq_signal", signal), ("seq_clips", clips)):
        np.save(tmp_path / f"{name}.npy", fixture(name)[0][1])
        text = cli("explain", "rnn", "--model", source, "--image", str(tmp_path / f"{name}.npy")).stdout
        assert "LSTM 'lstm', unit 0 of" in text and "(agrees" in text, text
    conv = cli("explain", "conv", "--model", signal, "--image", str(tmp_path / "seq_signal.npy")).stdout
    assert "Conv1D 'conv1d'" in conv and "(agrees" in conv
    np.save(tmp_path / "tokens.npy", fixture("seq_tokens")[0][1])
    refused = cli("explain", "rnn", "--model", tokens, "--image", str(tmp_path / "tokens.npy"), expect=1).stderr
    assert "explain: no SimpleRNN, LSTM or GRU in the model. 'bidirectional' is a Bidirectional" in refused


def test_explain_rnn_reads_uint8_token_ids_as_ids(tmp_path: Path) -> None:
    """Embedding -> LSTM (tests/keras/fixtures/masked_text): ids saved as uint8 are not divided by 255."""
    x, _ = fixture("masked_text")
    row = next(row for row in x if (row != 0).all())  # an example without padding: explain refuses padding
    np.save(tmp_path / "ids.npy", row.astype(np.uint8))
    np.save(tmp_path / "ids32.npy", row.astype(np.int32))
    source = str(FIXTURES / "masked_text.keras")
    as_uint8 = cli("explain", "rnn", "--model", source, "--image", str(tmp_path / "ids.npy")).stdout
    assert as_uint8 == cli("explain", "rnn", "--model", source, "--image", str(tmp_path / "ids32.npy")).stdout


# -- the web page and its API ----------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kind"), [("seq_signal", "signal"), ("seq_tokens", "tokens"), ("seq_clips", "sequence")])
def test_serve_api_predicts_sequences(name: str, kind: str, sources: dict[str, Path]) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient
    from convscope.serve import create_app

    x, y = fixture(name)
    with TestClient(create_app(sources[name])) as client:
        model = client.get("/api/model").json()
        assert model["input_kind"] == kind
        assert model["vocabulary"] == (20 if kind == "tokens" else None)
        assert [step["kind"] for step in model["shape_journey"]][-2:] == \
            ["Bidirectional" if kind == "tokens" else "LSTM", "Dense"]
        for row, expected in zip(x, y):
            answer = client.post("/api/predict", json={"pixels": row.tolist()})
            assert answer.status_code == 200, answer.text
            assert answer.json()["probabilities"] == pytest.approx(expected.tolist(), abs=1e-5)
        if kind != "signal":  # token ids and clips are not pictures
            upload = client.post("/api/predict", files={"file": ("a.png", b"\x89PNG\r\n\x1a\n", "image/png")})
            assert upload.status_code == 415 and "not images; send them as JSON" in upload.json()["error"]
    if kind == "tokens":
        with TestClient(create_app(sources[name])) as client:
            bad = client.post("/api/predict", json={"pixels": [-1.196, 0.3, 1.3, 0, 0, 0, 0, 0, 0, 0]})
            assert bad.status_code == 422
            assert bad.json()["error"] == "'pixels': this model reads token ids (an Embedding of 20 entries first); " \
                                           "the values must be whole numbers, got fractions."
