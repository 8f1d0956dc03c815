"""`convscope train --resume` on the seed CNN, each command in a fresh process: one epoch, then
resumed to two, ends with the same weights, bit for bit, as two epochs in one go (compiled
kernels on and off, float32 and bfloat16)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

MODES = [pytest.param(kernels, precision, id=f"kernels-{kernels}-{precision}")
         for kernels in ("1", "0") for precision in ("float32", "bfloat16")]


def convscope(kernels: str, *argv: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CONVSCOPE_CPU_KERNELS": kernels}
    done = subprocess.run([sys.executable, "-m", "convscope", *argv], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


@pytest.mark.slow
@pytest.mark.parametrize(("kernels", "precision"), MODES)
def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(shared_data_dir: Path, tmp_path: Path,
                                                                   kernels: str, precision: str) -> None:
    recipe = ("seed-cnn", "--data", "mnist", "--path", str(shared_data_dir / "mnist"), "--limit", "640",
              "--test-limit", "100", "--batch-size", "64", "--schedule", "constant", "--precision", precision,
              "--device", "cpu")
    convscope(kernels, "train", *recipe, "--epochs", "2", "--out", str(tmp_path / "straight"))
    convscope(kernels, "train", *recipe, "--epochs", "1", "--out", str(tmp_path / "resumed"))
    output = convscope(kernels, "train", "--resume", str(tmp_path / "resumed"), "--epochs", "2")
    assert "Epoch 2/2" in output and "Epoch 1/2" not in output, output
    straight = load_file(str(tmp_path / "straight" / "model" / "model.safetensors"))
    resumed = load_file(str(tmp_path / "resumed" / "model" / "model.safetensors"))
    assert sorted(straight) == sorted(resumed) and "conv2d_1/kernel" in straight
    different = [name for name in straight if not straight[name].equal(resumed[name])]
    assert different == [], f"weights differ after --resume: {different}"
