"""Side-by-side training benchmark: convscope vs a plain PyTorch loop vs Keras/TensorFlow.

The same seed model (Conv2D 64 3x3 -> MaxPool 2 -> Conv2D 64 3x3 -> MaxPool 2 -> Flatten ->
Dense 128 -> Dense 10) on the same Fashion-MNIST arrays; with --model residual, the zoo's
residual-cnn and its Keras twin (convscope and Keras only; their parameter counts must agree).
Every peer runs in its own process, one at a time, so each has the machine to itself and its
peak RSS is its own. Prints one table with the ratios of convscope to each peer and the
fraction of this machine's measured matmul peak, and appends the run to benchmarks/RESULTS.md.

    python benchmarks/bench_train.py                 # full run (about 10 minutes on 2 cores)
    python benchmarks/bench_train.py --quick         # seconds: 4,096 images, 1 epoch
    python benchmarks/bench_train.py --peers convscope torch --no-write
    python benchmarks/bench_train.py --busy 0 1 2    # also with 1 and 2 competing busy processes
    python benchmarks/bench_train.py --precisions float32 bfloat16   # one convscope column each
    python benchmarks/bench_train.py --model residual --rounds 2     # the residual CNN vs Keras
    convscope bench ...                              # the same, from the CLI

The Keras peer needs benchmarks/.keras-env (run benchmarks/setup_keras.sh); without it the
Keras column is skipped with a note.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PEERS = ("convscope", "torch", "keras")
PEER_SCRIPTS = {"convscope": "convscope_peer.py", "torch": "torch_peer.py", "keras": "keras_peer.py"}
KERAS_PYTHON = HERE / ".keras-env" / "bin" / "python"


# ----------------------------------------------------------------------------- running peers


def peer_python(peer: str) -> Path | None:
    if peer == "keras":
        return KERAS_PYTHON if KERAS_PYTHON.exists() else None
    return Path(sys.executable)


def convscope_columns(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    """(column label, extra options) per precision convscope runs at: one column "convscope",
    or one per precision ("convscope float32", "convscope bfloat16") when several are asked."""
    precisions = list(dict.fromkeys(args.precisions))
    if len(precisions) == 1:
        return [("convscope", [] if precisions[0] == "auto" else ["--precision", precisions[0]])]
    return [(f"convscope {precision}", ["--precision", precision]) for precision in precisions]


def peer_columns(args: argparse.Namespace) -> list[tuple[str, str, list[str]]]:
    """(peer, column label, extra options) for every column of the run, in running order."""
    columns: list[tuple[str, str, list[str]]] = []
    for peer in args.peers:
        if peer == "convscope":
            columns += [(peer, label, options) for label, options in convscope_columns(args)]
        else:
            columns.append((peer, peer, []))
    return columns


def run_peer(peer: str, options: list[str], timeout: float, label: str | None = None) -> dict[str, Any]:
    """Run one peer in a fresh process; its JSON result (under `label`, the peer's name unless
    given) plus the peak RSS the kernel saw."""
    result = run_peer_process(peer, options, timeout)
    result["peer"] = label or peer
    return result


def run_peer_process(peer: str, options: list[str], timeout: float) -> dict[str, Any]:
    python = peer_python(peer)
    if python is None:
        return {"peer": peer, "error": "no benchmarks/.keras-env: run benchmarks/setup_keras.sh"}
    command = [str(python), str(HERE / PEER_SCRIPTS[peer]), *options]
    env = {**os.environ, "BENCH_T0": repr(time.time()), "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=HERE.parent)
        deadline = time.time() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = [line for line in out.read().splitlines() if line.startswith("{")]
        if process.returncode != 0 or not lines:
            tail = err.read().strip().splitlines()[-3:]
            return {"peer": peer, "error": f"exit {process.returncode}: {' | '.join(tail)}",
                    "command": shlex.join(command)}
    result: dict[str, Any] = json.loads(lines[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)  # the child's whole life, KiB -> MiB
    result["command"] = shlex.join(command)
    return result


def measure_peak(quick: bool) -> dict[str, Any]:
    size, seconds = ("1024", "0.3") if quick else ("2048", "1.5")
    proc = subprocess.run([sys.executable, str(HERE / "peak_flops.py"), "--size", size,
                           "--seconds", seconds], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the run


# Instruction-set caps every peer inherits (a CPU without AVX-512 or bfloat16, emulated).
ISA_CAPS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA")


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines()
                  if line.startswith("flags")), [])
    wanted = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    caps = [f"{name}={os.environ[name]}" for name in ISA_CAPS if os.environ.get(name)]
    return {"cpu": model, "cores": str(os.cpu_count()), "flags": " ".join(wanted),
            "caps": " ".join(caps), "python": platform.python_version(), "os": platform.platform()}


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def common_options(args: argparse.Namespace, seed: int | None = None) -> list[str]:
    return ["--model", args.model, "--train-images", str(args.train_images), "--test-images", str(args.test_images),
            "--seed", str(args.seed if seed is None else seed), "--predict-batch", *map(str, args.predict_batch)]


@contextlib.contextmanager
def competitors(count: int) -> Iterator[None]:
    """`count` processes that keep a core busy (a pure Python loop) while the block runs: the
    browser, notebook or second job a user's machine always has."""
    processes = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for process in processes:
            process.kill()
            process.wait()


def run_throughput(args: argparse.Namespace, batch: int, busy: int) -> list[dict[str, Any]]:
    """Every peer's throughput at `batch` with `busy` competing processes, rounds alternating."""
    columns = peer_columns(args)
    rounds: dict[str, list[dict[str, Any]]] = {label: [] for _, label, _ in columns}
    for round_index in range(args.rounds):  # peers alternate, so a slow spell hits them alike
        for peer, label, extra in columns:
            options = ["--batch", str(batch), "--epochs", str(args.epochs), "--predict", *common_options(args), *extra]
            log(f"{label} batch {batch}" + (f", {busy} busy" if busy else "")
                + (f", round {round_index + 1}/{args.rounds}" if args.rounds > 1 else "") + " ...")
            with competitors(busy):
                result = run_peer(peer, options, args.timeout, label)
            result.update(kind="throughput", batch=batch, busy=busy, load=load_average())
            rounds[label].append(result)
            log(f"  {brief(result)}")
    return [merge_rounds(results) for results in rounds.values()]


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": machine(),
                              "command": shlex.join(["python", *sys.argv]), "load_before": load_average(),
                              "model": args.model}
    log(f"machine: {report['machine']['cpu']} ({report['machine']['cores']} cores), load {report['load_before']}")
    report["peak"] = measure_peak(args.quick)
    log(f"peak: {report['peak']}")
    runs: list[dict[str, Any]] = []
    for busy in args.busy:
        for batch in args.batches:
            runs += run_throughput(args, batch, busy)
    first = {peer: (label, extra) for peer, label, extra in reversed(peer_columns(args))}
    for seed in range(args.seed + 1, args.seed + args.accuracy_seeds):
        for peer in [p for p in args.peers if p != "torch"]:  # the accuracy target is against Keras
            label, extra = first[peer]  # convscope at its first precision
            options = ["--batch", "128", "--epochs", str(args.epochs), *common_options(args, seed), *extra]
            log(f"{label} accuracy, batch 128, seed {seed} ...")
            result = run_peer(peer, options, args.timeout, label)
            result.update(kind="accuracy", batch=128, seed=seed, load=load_average())
            runs.append(result)
            log(f"  {brief(result)}")
    if args.target_epochs:
        for peer in args.peers:
            # convscope: `convscope train`'s default recipe; peers: the seed recipe (Adam 1e-3,
            # batch 128) for up to --target-epochs
            options = ["--epochs", str(args.target_epochs), "--until-target", "--max-seconds",
                       str(args.target_seconds), *common_options(args)]
            options += ["--recipe"] if peer == "convscope" else ["--batch", "128"]
            log(f"{first[peer][0]} time to 91% ...")
            result = run_peer(peer, options, args.timeout, first[peer][0])
            result.update(kind="target", load=load_average())
            runs.append(result)
            log(f"  {brief(result)}")
    report["runs"] = runs
    report["load_after"] = load_average()
    report["params"], report["params_error"] = parameter_counts(runs)
    return report


def parameter_counts(runs: list[dict[str, Any]]) -> tuple[dict[str, int], str | None]:
    """Each peer's parameter count, and an error when two peers built models of different sizes
    (then they did not train the same architecture, and the comparison means nothing)."""
    counts: dict[str, int] = {}
    for run in runs:
        if "params" in run:
            counts.setdefault(run["peer"], run["params"])
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{peer} {count:,}" for peer, count in counts.items())
        return counts, f"the peers' models differ: parameter counts {listed}"
    return counts, None


def merge_rounds(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One throughput result from several rounds of the same run: the median of each speed
    (the first round's other fields), with every round's value kept beside it."""
    good = [result for result in results if "error" not in result]
    if len(results) == 1 or not good:
        return results[0]
    merged = dict(good[0])
    speeds = [result["images_per_s"] for result in good]
    merged["images_per_s"], merged["images_per_s_rounds"] = statistics.median(speeds), speeds
    by_batch = [result.get("predict_images_per_s_by_batch", {}) for result in good]
    merged["predict_images_per_s_by_batch"] = {
        size: statistics.median(values[size] for values in by_batch if size in values) for size in by_batch[0]}
    if merged["predict_images_per_s_by_batch"]:
        best = max(merged["predict_images_per_s_by_batch"].items(), key=lambda item: item[1])
        merged["predict_batch"], merged["predict_images_per_s"] = best
    return merged


def brief(result: dict[str, Any]) -> str:
    if "error" in result:
        return f"error: {result['error']}"
    return (f"{result.get('images_per_s', 0):,.0f} img/s, accuracy {result.get('test_accuracy')}, "
            f"to 91% {result.get('time_to_target_s')} s, predict {result.get('predict_images_per_s', 0):,.0f} img/s, "
            f"RSS {result.get('peak_rss_mb')} MiB")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return finish_args(parser.parse_args(argv))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The harness's options (shared with `convscope bench`)."""
    parser.add_argument("--peers", nargs="+", choices=PEERS, default=list(PEERS))
    parser.add_argument("--model", choices=("seed", "residual"), default="seed",
                        help="seed: the seed CNN (every peer); residual: the zoo's residual-cnn and its Keras "
                             "twin (convscope and keras)")
    parser.add_argument("--batches", nargs="+", type=int, default=[32, 128])
    parser.add_argument("--precisions", nargs="+", choices=["auto", "float32", "bfloat16"], default=["auto"],
                        help="convscope's compile(precision=...) for its throughput runs; several give one "
                             "column each (the first also runs the accuracy runs). Keras trains in float32")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-images", type=int, default=60000)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--predict-batch", type=int, nargs="+", default=[0, 128, 256],
                        help="batch sizes to time predict at, for every peer; 0 is each library's own "
                             "default (convscope 128, Keras 32)")
    parser.add_argument("--target-epochs", type=int, default=12,
                        help="epoch cap for the time-to-91%% runs (0 skips them)")
    parser.add_argument("--target-seconds", type=float, default=200.0,
                        help="stop a time-to-91%% run after the epoch that passes this")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1,
                        help="throughput runs per peer and batch, alternating peers; the median is reported")
    parser.add_argument("--accuracy-seeds", type=int, default=3,
                        help="seeds behind the batch-128 accuracy comparison (convscope and Keras; the "
                             "first is the throughput run's)")
    parser.add_argument("--busy", type=int, nargs="+", default=[0],
                        help="competing busy processes during the throughput runs, one pass per count "
                             "(e.g. 0 1 2: idle, one and two busy processes)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per peer run")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 4,096 training images, 1,000 test images, 1 epoch, no time-to-91%%")
    parser.add_argument("--json", type=Path, help="also write the full report as JSON here")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="do not append to RESULTS.md")


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    if args.model != "seed" and "torch" in args.peers:
        log(f"the torch peer builds the seed model only; --model {args.model} runs without it")
        args.peers = [peer for peer in args.peers if peer != "torch"]
    if args.quick:
        args.train_images, args.test_images, args.epochs, args.target_epochs = 4096, 1000, 1, 0
        args.accuracy_seeds = 1
    return args


def main(argv: list[str] | None = None) -> int:
    return main_with_args(parse_args(argv))


def main_with_args(args: argparse.Namespace) -> int:
    """Run, print the table, save; exit status 1 if a convscope or torch run failed."""
    from bench_report import render_markdown, render_table  # NumPy: imported only to run

    report = run_all(args)
    table = render_table(report)
    print(table)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    if not args.no_write:
        with args.results.open("a") as handle:
            handle.write(render_markdown(report, table))
        log(f"appended to {args.results}")
    failed = any("error" in run for run in report["runs"] if run["peer"] != "keras") or report["params_error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
