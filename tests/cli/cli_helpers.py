"""Helpers for CLI tests: run `convscope` in-process or in a fresh process, mask what changes
between runs. Golden files are compared by the `golden` fixture (tests/conftest.py)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

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
