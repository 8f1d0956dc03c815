"""`convscope data show|describe`, run through the real entry point."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convscope.cli import main

DATA_PACKAGE = Path(__file__).resolve().parents[2] / "convscope" / "data"


def test_describe_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "describe", "digits"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Dataset digits\n  train: x (1438, 8, 8, 1) uint8, y (1438,) int64, values 0..255")
    assert "Checks passed" in out


def test_describe_json_of_a_signals_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.savez(tmp_path / "spectra.npz", x=np.ones((10, 16)), y=np.arange(10) % 2)
    assert main(["data", "describe", str(tmp_path / "spectra.npz"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["name"] == "spectra" and report["splits"][0]["x_shape"] == [8, 16, 1]
    assert report["problems"] == []


def test_show_writes_sample_grid_and_distribution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "show", "digits", "--out", str(tmp_path), "--samples", "3"]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["digits-distribution.png", "digits-samples.png"]
    assert f"wrote {tmp_path / 'digits-samples.png'}" in capsys.readouterr().out
    with Image.open(tmp_path / "digits-samples.png") as image:
        assert image.size == (490, 1140) and np.asarray(image.convert("L")).std() > 40


def test_show_of_1d_data_plots_signals(tmp_path: Path) -> None:
    signals = np.sin(np.linspace(0, 6, 50))[None, :] * (1 + np.arange(40) % 4)[:, None]
    np.savez(tmp_path / "spectra.npz", x=signals, y=np.arange(40) % 4)
    out = tmp_path / "out"
    assert main(["data", "show", str(tmp_path / "spectra.npz"), "--out", str(out), "--split", "test"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["spectra-distribution.png", "spectra-signals.png"]


def test_missing_dataset_is_a_one_line_error_after_the_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(tmp_path))
    assert main(["data", "describe", "cifar10", "--no-download"]) == 1
    err = capsys.readouterr().err
    assert f"CONVSCOPE_DATA_DIR: {tmp_path / 'cifar10'} (no such folder)" in err
    assert "convscope data: error: dataset 'cifar10' not found" in err


def test_unknown_name_and_bad_samples_are_user_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "describe", "mnsit"]) == 1
    assert "Unknown dataset 'mnsit'" in capsys.readouterr().err
    assert main(["data", "show", "digits", "--samples", "0"]) == 1
    assert "--samples must be at least 1; got 0" in capsys.readouterr().err


def test_the_data_package_never_imports_torch() -> None:
    for module in sorted(DATA_PACKAGE.glob("*.py")):
        tree = ast.parse(module.read_text())
        imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        imported += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [name for name in imported if name.split(".")[0] == "torch"], module.name


def test_loading_data_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = ("import sys, convscope.datasets as d; d.load('digits'); d.describe('digits'); "
            "d.to_categorical([1]); assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=DATA_PACKAGE.parents[1], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
