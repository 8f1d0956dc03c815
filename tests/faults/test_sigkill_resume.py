"""A run killed with SIGKILL at random moments and resumed each time ends with the same weights,
bit for bit, as a run never interrupted (CPU, float32, one thread)."""

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


def start(folder: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    return subprocess.Popen([sys.executable, str(SCRIPT), str(folder)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def progress_at_start(process: subprocess.Popen[str]) -> float:
    """Wait for the "training from ..." line; the fraction of all steps already done."""
    line = process.stdout.readline()  # type: ignore[union-attr]
    match = STARTED.match(line)
    assert match, (line, process.stderr.read() if process.poll() is not None else "")  # type: ignore[union-attr]
    epoch, step, epochs, steps = map(int, match.groups())
    return (epoch * steps + step) / (epochs * steps)


def run_to_end(folder: Path) -> tuple[dict, float]:
    """Run (or resume) to the end: (final weights, seconds spent training)."""
    process = start(folder)
    progress_at_start(process)
    began = time.perf_counter()
    assert process.stdout.readline().strip() == "done", process.stderr.read()  # type: ignore[union-attr]
    duration = time.perf_counter() - began
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    return load_file(str(folder / "final.safetensors")), duration


@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume_gives_identical_weights(tmp_path: Path) -> None:
    (tmp_path / "uninterrupted").mkdir()
    reference, duration = run_to_end(tmp_path / "uninterrupted")
    folder = tmp_path / "killed"
    folder.mkdir()
    moments = random.Random(20261122)
    delays, progress = [], []
    for _ in range(KILLS):
        process = start(folder)
        done = progress_at_start(process)
        progress.append(round(done, 3))
        delay = moments.uniform(0.02, 0.7) * duration * (1 - done)  # land while training still runs
        delays.append(round(delay, 3))
        time.sleep(delay)
        assert process.poll() is None, f"the run ended before its kill at {delay:.2f}s"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL
    assert not (folder / "final.safetensors").exists()
    assert progress == sorted(progress), f"each resume should start at or after the previous one: {progress}"
    print(f"SIGKILL after {delays} s of training; resumed at step fractions {progress}")
    resumed, _ = run_to_end(folder)
    assert set(resumed) == set(reference)
    for name in reference:
        assert resumed[name].equal(reference[name]), (
            f"weight {name} differs after kills at {delays} s (resumed at fractions {progress})")
    leftovers = [path.name for path in (folder / "checkpoints").iterdir() if path.name.startswith(".")]
    assert leftovers == [], f"temporary checkpoint folders left behind: {leftovers}"
