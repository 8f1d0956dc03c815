"""Reproducibility helpers."""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def set_seed(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and PyTorch so two runs on the same machine give identical weights.

    With `deterministic=True` PyTorch is also asked for deterministic kernels (on a GPU this
    may be slower, and operations without a deterministic kernel raise an error).
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"set_seed expects an integer; got {seed!r}.")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
