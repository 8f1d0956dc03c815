"""Helpers for CLI tests: run `convscope` in-process or in a fresh process, mask what changes
between runs, tiny data. Golden files are compared by the `golden` fixture (tests/conftest.py)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from convscope.cli import main


def run_cli(*argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `convscope ARGV` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def run_fresh(*argv: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m convscope ARGV` in a new interpreter, as a user runs it (nothing imported before)."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.run([sys.executable, "-m", "convscope", *argv], capture_output=True, text=True,
                          env=environment, timeout=timeout, check=False)


def mask(text: str, **paths: Path) -> str:
    """Hide what changes between runs: times, throughput, temporary paths."""
    for name, path in paths.items():
        text = text.replace(str(path), f"<{name}>")
    text = re.sub(r"\d+\.\d+s - [\d,]+ img/s", "<time>s - <n> img/s", text)
    return text


def write_bars_dataset(root: Path, per_class: int = 12, classes: int = 4, seed: int = 0) -> Path:
    """An image folder: class k is a bright bar at row 4 + 5k on a dark 28x28 frame, with noise."""
    rng = np.random.default_rng(seed)
    for label in range(classes):
        folder = root / f"bar{label}"
        folder.mkdir(parents=True)
        for index in range(per_class):
            pixels = rng.integers(0, 20, (28, 28)).astype(np.uint8)
            start = int(rng.integers(4, 10))
            pixels[4 + 5 * label: 7 + 5 * label, start:start + 14] = 230
            Image.fromarray(pixels).save(folder / f"{index:03d}.png")
    return root
