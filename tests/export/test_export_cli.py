"""`convscope export RUN --format ...` and the export API's argument checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import convscope
from convscope import Sequential, layers
from convscope.cli import main
from convscope.export import export_model, resolve_format

pytestmark = pytest.mark.filterwarnings("ignore:.*torch.jit.* is deprecated:DeprecationWarning")


def spectra_model(folder: Path) -> Sequential:
    """A saved Conv1D model over (batch, 32 steps, 2 channels)."""
    convscope.set_seed(1)
    model = Sequential([layers.Conv1D(4, 5, activation="relu", input_shape=(32, 2)), layers.MaxPooling1D(2),
                        layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.save(folder / "model")
    return model


def test_format_from_suffix_and_errors() -> None:
    assert resolve_format("a.onnx", None) == "onnx"
    assert resolve_format("a.pt", None) == "torchscript"
    assert resolve_format("a.bin", "ONNX") == "onnx"
    with pytest.raises(ValueError, match="cannot tell the format from 'a.bin'"):
        resolve_format("a.bin", None)
    with pytest.raises(ValueError, match="unknown format 'tflite'; expected one of onnx, torchscript"):
        resolve_format("a.onnx", "tflite")


def test_unbuilt_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="export: the model's input shape is unknown"):
        export_model(Sequential([layers.Dense(2)]), tmp_path / "m.onnx")


def test_cli_torchscript_from_run_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = spectra_model(tmp_path)
    assert main(["export", str(tmp_path), "--format", "torchscript"]) == 0
    output = capsys.readouterr().out
    assert f"wrote {tmp_path / 'model.pt'} (torchscript" in output
    assert "input:  (batch, 32, 2) float32, channels-last" in output
    x = np.random.default_rng(0).random((5, 32, 2), dtype=np.float32)
    with torch.no_grad():
        exported = torch.jit.load(str(tmp_path / "model.pt"))(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(exported, model.predict(x), atol=1e-6)


def test_cli_reports_missing_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", str(tmp_path / "nothing")]) == 1
    assert "no saved model here" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_onnx_conv1d_with_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from convscope.export import onnx_predict

    model = spectra_model(tmp_path)
    out = tmp_path / "ship" / "spectra.onnx"
    assert main(["export", str(tmp_path / "model"), "--out", str(out)]) == 0
    output = capsys.readouterr().out
    assert "ONNX Runtime vs convscope on 8 random inputs: max abs difference" in output
    x = np.random.default_rng(2).random((17, 32, 2), dtype=np.float32)
    assert np.abs(onnx_predict(out, x) - model.predict(x)).max() < 1e-5
    assert [path.name for path in out.parent.iterdir()] == ["spectra.onnx"], "no temporary files left"
