"""A run of the seed CNN killed with SIGKILL at random moments and resumed each time ends with the
same weights, bit for bit, as a run never interrupted (CPU, one thread; compiled kernels on and
off, float32 and bfloat16)."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

SCRIPT = Path(__file__).with_name("resumable_training.py")
KILLS = 5
STARTED = re.compile(r"training from epoch (\d+) step (\d+) of (\d+) x (\d+)")


MODES = [pytest.param(kernels, precision, id=f"kernels-{kernels}-{precision}")
         for kernels in ("1", "0") for precision in ("float32", "bfloat16")]


def start(folder: Path, kernels: str, precision: str) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
           "CONVSCOPE_CPU_KERNELS": kernels}
    return subprocess.Popen([sys.executable, str(SCRIPT), str(folder), precision], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def progress_at_start(process: subprocess.Popen[str]) -> tuple[int, int]:
    """Wait for the "training from ..." line: (global steps already done, total steps)."""
    line = process.stdout.readline()  # type: ignore[union-attr]
    match = STARTED.match(line)
    assert match, (line, process.stderr.read() if process.poll() is not None else "")  # type: ignore[union-attr]
    epoch, step, epochs, steps = map(int, match.groups())
    return epoch * steps + step, epochs * steps


def wait_for_step(process: subprocess.Popen[str], target: int) -> None:
    """Read the run's "step N" lines until step `target` has finished."""
    for line in process.stdout:  # type: ignore[union-attr]
        if line.strip() == f"step {target}":
            return
    raise AssertionError(f"the run ended before step {target}: {process.stderr.read()}")  # type: ignore[union-attr]


def run_to_end(folder: Path, *mode: str) -> dict:
    """Run (or resume) to the end: the final weights."""
    process = start(folder, *mode)
    _, total = progress_at_start(process)
    wait_for_step(process, total)
    assert process.stdout.readline().strip() == "done", process.stderr.read()  # type: ignore[union-attr]
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    return load_file(str(folder / "final.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize(("kernels", "precision"), MODES)
def test_sigkill_at_random_moments_then_resume_gives_identical_weights(tmp_path: Path, kernels: str,
                                                                       precision: str) -> None:
    (tmp_path / "uninterrupted").mkdir()
    reference = run_to_end(tmp_path / "uninterrupted", kernels, precision)
    folder = tmp_path / "killed"
    folder.mkdir()
    moments = random.Random(20261122)
    delays, progress = [], []
    for kill in range(KILLS):
        process = start(folder, kernels, precision)
        done, total = progress_at_start(process)
        progress.append(done)
        # A random step of what is left (leaving steps for the kills to come), then a random
        # moment inside the next step or checkpoint write.
        target = moments.randint(done + 1, done + max(1, (total - done) // (KILLS - kill + 1)))
        wait_for_step(process, target)
        delay = moments.uniform(0.0, 0.02)
        delays.append((target, round(delay, 3)))
        time.sleep(delay)
        assert process.poll() is None, f"the run ended before its kill after step {target}"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL
    assert not (folder / "final.safetensors").exists()
    assert progress == sorted(progress), f"each resume should start at or after the previous one: {progress}"
    print(f"SIGKILL at (step, seconds after it) {delays}; resumed at steps {progress}")
    resumed = run_to_end(folder, kernels, precision)
    assert set(resumed) == set(reference)
    for name in reference:
        assert resumed[name].equal(reference[name]), (
            f"weight {name} differs after kills at {delays} (resumed at steps {progress})")
    leftovers = [path.name for path in (folder / "checkpoints").iterdir() if path.name.startswith(".")]
    assert leftovers == [], f"temporary checkpoint folders left behind: {leftovers}"
