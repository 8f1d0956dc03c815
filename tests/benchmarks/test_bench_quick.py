"""The benchmark harness in quick mode: convscope and the plain PyTorch peer, no Keras."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "benchmarks" / "bench_train.py"


@pytest.mark.slow
def test_quick_run_reports_real_numbers(fashion_dir: Path, tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    results_path = tmp_path / "RESULTS.md"
    proc = subprocess.run(
        [sys.executable, str(HARNESS), "--quick", "--peers", "convscope", "torch",
         "--json", str(report_path), "--results", str(results_path)],
        capture_output=True, text=True, timeout=600, check=False, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(report_path.read_text())

    assert report["peak"]["peak_float32_gflops"] > 0
    runs = {(run["peer"], run["batch"]): run for run in report["runs"]}
    assert set(runs) == {(peer, batch) for peer in ("convscope", "torch") for batch in (32, 128)}
    for run in runs.values():
        assert "error" not in run, run
        assert run["images_per_s"] > 0
        assert run["predict_images_per_s"] > 0
        assert run["peak_rss_mb"] > 50  # the whole child process: Python, torch and the data
        assert all(0.0 < accuracy <= 1.0 for accuracy in run["test_accuracy"])
        assert len(run["epoch_train_s"]) == 1

    table = proc.stdout
    for row in ("train images/s, batch 32", "train images/s, batch 128", "predict images/s",
                "peak RSS MiB", "convscope / torch"):
        assert row in table
    assert "## " in results_path.read_text() and "--quick" in results_path.read_text()


def test_harness_has_no_heavy_imports() -> None:
    """`convscope bench` loads the harness to build its parser: stdlib only at import time."""
    code = (
        f"import sys; sys.path.insert(0, {str(HARNESS.parent)!r}); import bench_train; "
        "print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
