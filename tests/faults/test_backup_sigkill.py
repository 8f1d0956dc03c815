"""A Keras-style fit with BackupAndRestore, killed with SIGKILL mid-training and started again
with the same code, continues from its last backup (an epoch end, or every N batches: mid-epoch)
and ends with the weights of a run never interrupted, bit for bit (seed CNN, Adam, CPU, one
thread); the backup folder is gone after the normal end."""

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

SCRIPT = Path(__file__).with_name("backup_training.py")
STARTED = re.compile(r"training from step (\d+)")
TOTAL_STEPS = 18  # 3 epochs of 6 steps


def start(folder: Path, save_freq: str) -> tuple[subprocess.Popen[str], int]:
    """Start (or start again) the run: the process and the global step it starts from."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}
    process = subprocess.Popen([sys.executable, str(SCRIPT), str(folder), save_freq], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    line = process.stdout.readline()  # type: ignore[union-attr]
    match = STARTED.match(line)
    assert match, (line, process.stderr.read() if process.poll() is not None else "")  # type: ignore[union-attr]
    return process, int(match.group(1))


def wait_for_step(process: subprocess.Popen[str], target: int) -> None:
    for line in process.stdout:  # type: ignore[union-attr]
        if line.strip() == f"step {target}":
            return
    raise AssertionError(f"the run ended before step {target}: {process.stderr.read()}")  # type: ignore[union-attr]


def run_to_end(folder: Path, save_freq: str) -> tuple[int, dict]:
    """Run (or continue) to the end: where it started and the final weights."""
    process, started = start(folder, save_freq)
    if started < TOTAL_STEPS:  # a kill that landed after the last epoch's backup leaves nothing to train
        wait_for_step(process, TOTAL_STEPS)
    assert process.stdout.readline().strip() == "done", process.stderr.read()  # type: ignore[union-attr]
    _, errors = process.communicate(timeout=60)
    assert process.returncode == 0, errors
    return started, load_file(str(folder / "final.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize(("save_freq", "kills", "backups"),
                         [("epoch", [8, 15], {6, 12, 18}),  # 18: the last epoch's backup, before fit returns
                          ("4", [6, 13], {4, 8, 12, 16})])  # 12: the backup after the last batch of epoch 2
def test_killed_fit_started_again_ends_with_the_uninterrupted_weights(tmp_path: Path, save_freq: str,
                                                                      kills: list[int], backups: set[int]) -> None:
    (tmp_path / "uninterrupted").mkdir()
    assert run_to_end(tmp_path / "uninterrupted", save_freq)[0] == 0
    reference = load_file(str(tmp_path / "uninterrupted" / "final.safetensors"))
    folder = tmp_path / "killed"
    folder.mkdir()
    moments = random.Random(20261123)
    floor, started = 0, []
    for target in kills:
        process, step = start(folder, save_freq)
        assert step in {0, *backups} and step >= floor, (step, floor)
        started.append(step)
        wait_for_step(process, target)
        time.sleep(moments.uniform(0.0, 0.04))  # in the script's pause, or inside the next step or backup write
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        assert process.returncode == -signal.SIGKILL
        # The backups up to the step printed were written before it was printed; the run may
        # have written one more before the kill landed.
        floor = max(point for point in backups if point <= target)
    assert not (folder / "final.safetensors").exists()
    began, resumed = run_to_end(folder, save_freq)
    assert began in backups and began >= floor, (began, floor)
    started.append(began)
    assert set(resumed) == set(reference)
    for name in reference:
        assert resumed[name].equal(reference[name]), f"weight {name} differs after kills at {kills} (resumed at {started})"
    assert not (folder / "backup").exists()
