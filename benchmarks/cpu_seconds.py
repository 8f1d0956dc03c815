"""Images per CPU-second: convscope and Keras on one thread each, measured in CPU time.

On a machine other work keeps busy, wall-clock throughput swings 2-5x between identical runs
and two OpenMP threads on two busy cores collapse (benchmarks/LEVERS.md). One thread's CPU time
is what the wall clock would show on an idle core, so ratios measured this way hold under load.
Every run is its own process; the runs alternate over rounds and the median is reported.

    python benchmarks/cpu_seconds.py                          # convscope float32 vs Keras
    python benchmarks/cpu_seconds.py --precisions float32 bfloat16 --rounds 5
    python benchmarks/cpu_seconds.py --checkouts before=/tmp/base after=.   # two versions
    python benchmarks/cpu_seconds.py --isa avx2               # every library capped at AVX2

Each run trains the seed CNN on the first --images Fashion-MNIST images for one warm-up epoch
and three timed ones (the best counts), then predicts 2,000 test images three times.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
KERAS_PYTHON = HERE / ".keras-env" / "bin" / "python"
AVX2_CAP = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def child(peer: str, batch: int, images: int, precision: str) -> dict[str, float]:
    """One run, in this process: CPU seconds per epoch and per predict call, as images/s."""
    sys.path.insert(0, str(HERE))
    import bench_common

    x, y, x_test, _ = bench_common.load_fashion(images, 2000)
    if peer == "keras":
        import keras
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras_peer

        keras.utils.set_random_seed(0)
        model = keras_peer.build_model(keras)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        fit = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # noqa: E731
        predict = lambda: model.predict(x_test, batch_size=128, verbose=0)  # noqa: E731
    else:
        import convscope_peer

        import convscope

        convscope.set_seed(0)
        model = convscope_peer.build_model(convscope)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                      precision=precision, threads=1)
        fit = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # noqa: E731
        predict = lambda: model.predict(x_test, batch_size=128)  # noqa: E731
    return {"train": len(x) / best_cpu_seconds(fit, 3), "predict": len(x_test) / best_cpu_seconds(predict, 3)}


def best_cpu_seconds(work: Any, repeats: int) -> float:
    work()  # warm-up: tracing, allocation, kernel selection
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        work()
        best = min(best, time.process_time() - start)
    return best


def run(peer: str, checkout: str | None, batch: int, args: argparse.Namespace, precision: str) -> dict[str, float]:
    python = str(KERAS_PYTHON) if peer == "keras" else sys.executable
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(AVX2_CAP if args.isa == "avx2" else {})}
    if checkout:
        env["PYTHONPATH"] = str(Path(checkout).resolve())
    command = [python, __file__, "--child", peer, str(batch), str(args.images), precision]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{peer} failed: {out.stderr.strip()[-500:]}")
    result: dict[str, float] = json.loads(lines[-1])
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        peer, batch, images, precision = sys.argv[2:6]
        print(json.dumps(child(peer, int(batch), int(images), precision)))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 32])
    parser.add_argument("--precisions", nargs="+", default=["float32"], choices=["float32", "bfloat16", "auto"])
    parser.add_argument("--checkouts", nargs="+", default=[],
                        help="NAME=PATH: convscope from each source tree (PYTHONPATH), e.g. before and after")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--images", type=int, default=6400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--isa", choices=["native", "avx2"], default="native")
    args = parser.parse_args()
    checkouts = [tuple(item.split("=", 1)) for item in args.checkouts] or [("convscope", None)]
    columns = [] if args.no_keras else [("keras", "keras", None, "float32")]
    columns += [(f"{name} {precision}", "convscope", path, precision) for precision in args.precisions
                for name, path in checkouts]
    results: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    for round_index in range(args.rounds):
        for batch in args.batches:
            order = columns if round_index % 2 == 0 else columns[::-1]  # alternate, so a slow spell hits all
            for label, peer, path, precision in order:
                result = run(peer, path, batch, args, precision)
                results[(label, f"train, batch {batch}")].append(result["train"])
                results[(label, "predict, batch 128")].append(result["predict"])  # pooled over the runs
                print(f"round {round_index + 1}, batch {batch}, {label}: {result}", file=sys.stderr, flush=True)
    print(f"Images per CPU-second, 1 thread each, median of {args.rounds} alternated rounds ({args.isa}):\n")
    print("| metric | " + " | ".join(label for label, *_ in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for metric in [*(f"train, batch {batch}" for batch in args.batches), "predict, batch 128"]:
        medians = [statistics.median(results[(label, metric)]) for label, *_ in columns]
        keras = medians[0] if not args.no_keras else None
        cells = [f"{value:,.0f}" + (f" ({value / keras:.2f}x)" if keras and index else "")
                 for index, value in enumerate(medians)]
        print(f"| {metric} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
