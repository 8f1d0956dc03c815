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
# Help for the harness options that bring none of their own (argparse %-formats help text).
OPTION_HELP = {
    "--peers": "which libraries to run (default: all three)",
    "--batches": "batch sizes of the throughput runs (default: 32 128)",
    "--epochs": "epochs of each throughput and accuracy run (default: 2)",
    "--train-images": "training images used (default: all 60,000)",
    "--test-images": "test images used (default: all 10,000)",
    "--seed": "seed of the first run; the accuracy runs use the following ones (default: 0)",
    "--results": "Markdown file the report is appended to (default: benchmarks/RESULTS.md)",
}


def register(subparsers: Any) -> None:
    """Add the `bench` command (with the harness's options, when the checkout has it)."""
    parser = subparsers.add_parser(
        "bench",
        help="benchmark training and predict against plain PyTorch and Keras/TensorFlow",
        description="Train the seed CNN on Fashion-MNIST with convscope, a plain PyTorch loop and "
        "Keras/TensorFlow, one process each, and print images/s, accuracy, time to 91%, "
        "predict speed, peak memory and the ratios. Results are appended to benchmarks/RESULTS.md.",
    )
    harness = load_harness() if HARNESS.exists() else None
    if harness is not None:
        harness.add_arguments(parser)
        describe_options(parser)
    parser.set_defaults(func=run)


def describe_options(parser: argparse.ArgumentParser) -> None:
    """Give every option without help text its line from OPTION_HELP."""
    for action in parser._actions:
        if action.help is None:
            action.help = next((OPTION_HELP[flag] for flag in action.option_strings if flag in OPTION_HELP), None)


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
