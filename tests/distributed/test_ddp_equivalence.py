"""Two gloo processes train to the same weights as one process with the same global batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

SCRIPT = Path(__file__).with_name("ddp_training.py")


def train(nproc: int, out: Path) -> tuple[dict[str, torch.Tensor], dict[str, str], str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    done = subprocess.run([sys.executable, str(SCRIPT), str(nproc), str(out)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    with safe_open(str(out), framework="pt") as handle:
        return {key: handle.get_tensor(key) for key in handle.keys()}, handle.metadata(), done.stdout


@pytest.mark.slow
def test_two_processes_match_one_process(tmp_path: Path) -> None:
    single, single_meta, _ = train(1, tmp_path / "one.safetensors")
    double, double_meta, output = train(2, tmp_path / "two.safetensors")
    assert (single_meta["world"], double_meta["world"]) == ("1", "2")
    assert output.count("wrote") == 1, f"only rank 0 writes and prints: {output}"
    assert output.count("Epoch 1/2") == 1, output
    for name, tensor in single.items():
        torch.testing.assert_close(double[name], tensor, rtol=1e-5, atol=1e-6)
    losses = [eval(meta["loss"]) for meta in (single_meta, double_meta)]  # noqa: S307 - our own repr of floats
    assert losses[0] == pytest.approx(losses[1], rel=1e-5), "epoch losses are reduced over all ranks"
    assert not torch.equal(single["w0"], torch.zeros_like(single["w0"]))
