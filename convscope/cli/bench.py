"""`convscope bench`: the side-by-side training benchmark (convscope, plain PyTorch, Keras/TF).

Runs benchmarks/bench_train.py from a source checkout; the harness and its peers live there,
not in the installed package, because the Keras peer needs its own environment
(benchmarks/setup_keras.sh).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

HARNESS = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_train.py"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark training and predict against plain PyTorch and Keras/TensorFlow",
        description="Train the seed CNN on Fashion-MNIST with convscope, a plain PyTorch loop and "
        "Keras/TensorFlow, one process each, and print images/s, accuracy, time to 91%%, "
        "predict speed, peak memory and the ratios. Results are appended to benchmarks/RESULTS.md.",
    )
    harness = load_harness() if HARNESS.exists() else None
    if harness is not None:
        harness.add_arguments(parser)
    parser.set_defaults(func=run)


def load_harness() -> Any:
    """Import benchmarks/bench_train.py by path (it is not part of the installed package)."""
    sys.path.insert(0, str(HARNESS.parent))
    spec = importlib.util.spec_from_file_location("convscope_bench_train", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(args: argparse.Namespace) -> int:
    from convscope.cli import CommandError

    if not HARNESS.exists():
        raise CommandError(
            f"the benchmark harness is not installed with the package (looked for {HARNESS})",
            hint="run `convscope bench` from a source checkout of convscope",
        )
    harness = load_harness()
    harness.finish_args(args)
    return int(harness.main_with_args(args))
