"""What a new user reads: help texts, and the error when a dataset is nowhere to be found."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from cli_helpers import run_fresh

from convscope.cli import build_parser

SYSTEM_MNIST = Path("/usr/share/datasets/mnist")


def offline_without_data(tmp_path: Path) -> dict[str, str]:
    """An environment in which no dataset files exist and every download is refused at once."""
    refused = "http://127.0.0.1:9"  # the discard port: nothing listens, so connections fail fast
    return {"CONVSCOPE_DATA_DIR": str(tmp_path / "data"), "CONVSCOPE_CACHE_DIR": str(tmp_path / "cache"),
            "http_proxy": refused, "https_proxy": refused, "HTTP_PROXY": refused, "HTTPS_PROXY": refused,
            "no_proxy": "", "NO_PROXY": ""}


@pytest.mark.skipif(SYSTEM_MNIST.is_dir(), reason="MNIST is installed system-wide here")
@pytest.mark.parametrize("argv", [("train", "seed-cnn", "--data", "mnist", "--epochs", "1"),
                                  ("evaluate", "seed-cnn", "--data", "mnist")])
def test_missing_dataset_lists_every_place_looked(argv: tuple[str, ...], tmp_path: Path) -> None:
    result = run_fresh(*argv, env=offline_without_data(tmp_path))
    lines = [line for line in result.stderr.splitlines() if not line.startswith("model: ")]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert lines[0] == f"convscope {argv[0]}: error: dataset 'mnist' not found. Looked in, in order:"
    assert lines[1:4] == [f"  - CONVSCOPE_DATA_DIR: {tmp_path / 'data' / 'mnist'} (no such folder)",
                          f"  - user cache: {tmp_path / 'cache' / 'mnist'} (no such folder)",
                          f"  - system location: {SYSTEM_MNIST} (no such folder)"]
    assert lines[4].startswith("  - download https://") and "train-images-idx3-ubyte.gz" in lines[4]
    assert "To provide the files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, " in result.stderr
    assert "  - put them in $CONVSCOPE_DATA_DIR/mnist/ (set CONVSCOPE_DATA_DIR to a folder);" in lines
    assert "fashion" not in result.stderr  # the hint is about the dataset asked for
    assert lines[-2:] == ["hint: or pass --path DIR, a folder holding the mnist files",
                          "(run with --debug for the full traceback)"]


def test_fashion_mnist_hint_names_its_debian_package(tmp_path: Path) -> None:
    if Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("Fashion-MNIST is installed system-wide here")
    result = run_fresh("train", "seed-cnn", "--data", "fashion_mnist", env=offline_without_data(tmp_path))
    assert result.returncode == 1
    assert "  - on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist;" in result.stderr.splitlines()


def subparser(name: str) -> argparse.ArgumentParser:
    actions = [action for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)]
    return actions[0].choices[name]


@pytest.mark.parametrize("command", ["bench", "demo", "train", "evaluate", "predict", "export", "serve", "summary"])
def test_every_option_has_help(command: str) -> None:
    undocumented = [action.option_strings for action in subparser(command)._actions
                    if action.option_strings and not action.help]
    assert undocumented == []


def test_bench_and_demo_help_read_right() -> None:
    bench = run_fresh("bench", "--help")
    assert bench.returncode == 0 and "%%" not in bench.stdout and "time to 91%," in bench.stdout.replace("\n", " ")
    demo = run_fresh("demo", "--help")
    assert demo.returncode == 0 and "--resume" not in demo.stdout
