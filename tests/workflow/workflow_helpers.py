"""Driving `convscope` as a user does: each command in a fresh process, on a run folder that
`convscope train` wrote."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Workflow:
    """One model's trip through the CLI: what was trained, where, and the data it was tested on."""

    model: str
    data: str
    folder: Path
    env: dict[str, str]
    train_output: str = ""
    x_test: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)  # raw, as loaded
    y_test: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def inputs(self) -> np.ndarray:
        """The test inputs the way the model takes them (8-bit images divided by 255)."""
        scale = 1 / 255 if self.x_test.dtype == np.uint8 else 1.0
        return self.x_test.astype(np.float32) * np.float32(scale)

    def cli(self, *argv: str, expect: int = 0, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run `python -m convscope ARGV` in a new process and check its exit status."""
        result = subprocess.run([sys.executable, "-m", "convscope", *argv], capture_output=True, text=True,
                                env=self.env, timeout=timeout, check=False)
        assert result.returncode == expect, f"convscope {' '.join(argv)}: exit {result.returncode}\n" \
                                            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result


def user_environment(data_dir: Path, cache_dir: Path) -> dict[str, str]:
    """The environment of every command: the shared data, a private cache, one thread, no display."""
    return {**os.environ, "CONVSCOPE_DATA_DIR": str(data_dir), "CONVSCOPE_CACHE_DIR": str(cache_dir),
            "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def reported_test_accuracy(train_output: str) -> float:
    """The accuracy on the 'Test: loss L - accuracy A (N samples)' line `convscope train` prints."""
    found = re.search(r"^Test: loss [\d.]+ - accuracy ([\d.]+) \(\d+ samples\)$", train_output, re.MULTILINE)
    assert found, train_output[-2000:]
    return float(found.group(1))


def is_png(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 100 and path.read_bytes()[:8] == PNG_SIGNATURE
