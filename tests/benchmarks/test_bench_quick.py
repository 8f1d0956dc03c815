"""The benchmark harness in quick mode: convscope and the plain PyTorch peer, no Keras."""

from __future__ import annotations

import json
import os
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


def test_report_compares_accuracy_over_seeds() -> None:
    sys.path.insert(0, str(HARNESS.parent))
    from bench_report import render_table

    def run(peer: str, kind: str, final: float) -> dict[str, object]:
        return {"peer": peer, "kind": kind, "batch": 128, "images_per_s": 1000.0, "epoch_train_s": [1.0, 1.0],
                "test_accuracy": [0.5, final], "peak_rss_mb": 100.0, "precision": "float32"}

    report = {"peak": {}, "load_before": "0", "load_after": "0", "runs": [
        run("convscope", "throughput", 0.8800), run("convscope", "accuracy", 0.8700), run("convscope", "accuracy", 0.8900),
        run("keras", "throughput", 0.8850), run("keras", "accuracy", 0.8830),
    ]}
    table = render_table(report)
    row = next(line for line in table.splitlines() if "mean over seeds" in line)
    assert "after 2 epochs, batch 128" in row
    assert "0.8800 (0.8700-0.8900, 3 seeds)" in row and "0.8840 (0.8830-0.8850, 2 seeds)" in row
    assert "-0.40 points" in row


@pytest.mark.slow
def test_recipe_run_trains_as_the_cli_does(fashion_dir: Path) -> None:
    from convscope.training import TrainSettings

    proc = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "convscope_peer.py"), "--recipe", "--train-images", "2000",
         "--test-images", "500"],
        capture_output=True, text=True, timeout=600, check=True, cwd=REPO,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    settings = TrainSettings(model="seed-cnn", data="fashion_mnist")
    assert result["batch"] == settings.batch_size
    assert len(result["test_accuracy"]) == settings.epochs
    assert result["epoch_train_s"] and result["test_accuracy"][-1] > 0.5


def test_rounds_merge_to_medians() -> None:
    sys.path.insert(0, str(HARNESS.parent))
    from bench_train import merge_rounds

    def run(speed: float, predict: float) -> dict[str, object]:
        return {"peer": "convscope", "kind": "throughput", "batch": 128, "images_per_s": speed,
                "predict_images_per_s_by_batch": {"128": predict, "256": predict / 2}}

    merged = merge_rounds([run(4000.0, 9000.0), run(5000.0, 21000.0), {"error": "timed out"}, run(4500.0, 20000.0)])
    assert merged["images_per_s"] == 4500.0 and merged["images_per_s_rounds"] == [4000.0, 5000.0, 4500.0]
    assert merged["predict_images_per_s_by_batch"] == {"128": 20000.0, "256": 10000.0}
    assert (merged["predict_batch"], merged["predict_images_per_s"]) == ("128", 20000.0)
    single = run(4000.0, 9000.0)
    assert merge_rounds([single]) is single


def test_busy_runs_are_reported_beside_idle_ones_and_kept_out_of_accuracy() -> None:
    sys.path.insert(0, str(HARNESS.parent))
    from bench_report import render_table

    def run(peer: str, busy: int, speed: float, final: float) -> dict[str, object]:
        return {"peer": peer, "kind": "throughput", "batch": 128, "busy": busy, "images_per_s": speed,
                "epoch_train_s": [1.0], "test_accuracy": [final], "peak_rss_mb": 100.0, "precision": "float32",
                "predict_images_per_s": speed * 4}

    report = {"peak": {}, "load_before": "0", "load_after": "0", "runs": [
        run("convscope", 0, 2400.0, 0.88), run("keras", 0, 1200.0, 0.88),
        run("convscope", 1, 1500.0, 0.10), run("keras", 1, 600.0, 0.10),
        run("convscope", 2, 900.0, 0.10), run("keras", 2, 400.0, 0.10)]}
    rows = {line.split(" | ")[0].lstrip("| "): line for line in render_table(report).splitlines()}
    assert rows["train images/s, batch 128, 1 busy process"].endswith("| 1,500 | 600 | 2.50x |")
    assert rows["busy / idle training, batch 128, 1 busy process"].startswith(
        "| busy / idle training, batch 128, 1 busy process | 0.62 | 0.50 |")
    assert rows["train images/s, batch 128, 2 busy processes"].endswith("| 900 | 400 | 2.25x |")
    assert rows["predict images/s, batch 128, 2 busy processes"].endswith("| 3,600 | 1,600 | 2.25x |")
    assert not any("0.10" in line for line in rows.values() if "accuracy" in line)


def test_competitors_run_while_the_block_runs_and_stop_after() -> None:
    sys.path.insert(0, str(HARNESS.parent))
    from bench_train import competitors

    with competitors(2):
        children = [line for line in subprocess.run(["ps", "-o", "args=", "--ppid", str(os.getpid())],
                                                   capture_output=True, text=True).stdout.splitlines()
                    if "while True: pass" in line]
        assert len(children) == 2
    after = subprocess.run(["ps", "-o", "args=", "--ppid", str(os.getpid())], capture_output=True, text=True).stdout
    assert "while True: pass" not in after


def test_each_precision_gets_a_convscope_column_compared_with_every_peer() -> None:
    sys.path.insert(0, str(HARNESS.parent))
    import bench_train
    from bench_report import render_table

    args = bench_train.parse_args(["--peers", "convscope", "keras", "--precisions", "float32", "bfloat16"])
    assert bench_train.peer_columns(args) == [("convscope", "convscope float32", ["--precision", "float32"]),
                                              ("convscope", "convscope bfloat16", ["--precision", "bfloat16"]),
                                              ("keras", "keras", [])]
    single = bench_train.parse_args(["--peers", "convscope"])
    assert bench_train.peer_columns(single) == [("convscope", "convscope", [])]  # precision "auto": no option

    def run(peer: str, speed: float) -> dict[str, object]:
        return {"peer": peer, "kind": "throughput", "batch": 128, "images_per_s": speed, "epoch_train_s": [1.0],
                "test_accuracy": [0.8], "peak_rss_mb": 100.0}

    report = {"peak": {}, "load_before": "0", "load_after": "0",
              "runs": [run("convscope float32", 3000.0), run("convscope bfloat16", 4000.0), run("keras", 1000.0)]}
    lines = render_table(report).splitlines()
    assert lines[0] == ("| metric | convscope float32 | convscope bfloat16 | keras | convscope float32 / keras "
                        "| convscope bfloat16 / keras |")
    row = next(line for line in lines if line.startswith("| train images/s, batch 128 |"))
    assert row.endswith("| 3.00x | 4.00x |")


def test_the_residual_models_cost_is_convscopes_count_of_its_multiply_adds() -> None:
    sys.path.insert(0, str(HARNESS.parent))
    import bench_common

    from convscope import zoo
    from convscope.models.summary import layer_macs

    for name, model in (("seed", "seed-cnn"), ("residual", "residual-cnn")):
        macs = sum(layer_macs(layer) for layer in zoo.build(model).layers)
        assert bench_common.FORWARD_FLOPS[name] == 2 * macs


def test_the_residual_model_runs_without_the_torch_peer_and_peers_must_agree_on_parameters() -> None:
    sys.path.insert(0, str(HARNESS.parent))
    from bench_report import render_table
    from bench_train import parameter_counts, parse_args

    assert parse_args(["--model", "residual"]).peers == ["convscope", "keras"]
    assert parse_args([]).peers == ["convscope", "torch", "keras"]

    def run(peer: str, params: int) -> dict[str, object]:
        return {"peer": peer, "kind": "throughput", "batch": 128, "images_per_s": 1000.0, "epoch_train_s": [1.0],
                "test_accuracy": [0.9], "peak_rss_mb": 100.0, "precision": "float32", "params": params}

    assert parameter_counts([run("convscope", 309_322), run("keras", 309_322)]) == (
        {"convscope": 309_322, "keras": 309_322}, None)
    counts, error = parameter_counts([run("convscope", 309_322), run("keras", 309_898)])
    assert error == "the peers' models differ: parameter counts convscope 309,322, keras 309,898"

    runs = [run("convscope", 309_322), run("keras", 309_322)]
    report = {"peak": {"peak_float32_gflops": 100.0}, "load_before": "0", "load_after": "0", "model": "residual",
              "runs": runs, "params": counts, "params_error": error}
    table = render_table(report)
    assert "Model: residual. Cost: 61.9 MFLOP per training image, 20.6 per predicted image" in table
    assert "- the peers' models differ" in table
    assert "| % of peak FLOP/s, batch 128 | 61.9% of 100 |" in table  # 1,000 img/s x 61.9 MFLOP
    report.update(params={"convscope": 309_322, "keras": 309_322}, params_error=None)
    assert "Model: residual (309,322 parameters in every peer)." in render_table(report)


KERAS_PYTHON = REPO / "benchmarks" / ".keras-env" / "bin" / "python"


@pytest.mark.slow
@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
def test_both_peers_build_the_residual_model_with_the_same_parameters(fashion_dir: Path) -> None:
    options = ["--model", "residual", "--train-images", "512", "--test-images", "200", "--epochs", "1"]
    results = {}
    for peer, python in (("convscope", sys.executable), ("keras", str(KERAS_PYTHON))):
        proc = subprocess.run([python, str(REPO / "benchmarks" / f"{peer}_peer.py"), *options], capture_output=True,
                              text=True, timeout=600, check=True, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
        results[peer] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert results["convscope"]["model"] == results["keras"]["model"] == "residual"
    assert results["convscope"]["params"] == results["keras"]["params"] == 309_322
    assert all(result["images_per_s"] > 0 for result in results.values())


def test_an_instruction_set_cap_is_recorded_with_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run under ATEN_CPU_CAPABILITY / ONEDNN_MAX_CPU_ISA (a CPU without AVX-512 or bfloat16,
    emulated) says so beside the CPU it ran on."""
    sys.path.insert(0, str(HARNESS.parent))
    import bench_train
    from bench_report import render_markdown

    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    capped = {"date": "d", "command": "c", "runs": [], "machine": bench_train.machine()}
    assert "- Instruction sets capped for every peer: `ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2`\n" in \
        render_markdown(capped, "table")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    plain = {**capped, "machine": bench_train.machine()}
    assert "capped" not in render_markdown(plain, "table")
