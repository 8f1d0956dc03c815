"""Measure this machine's attainable matmul FLOP/s: the ceiling the training numbers are read against.

Large square matmuls in float32 (PyTorch's BLAS and NumPy's, which may differ: MKL vs
OpenBLAS) and bfloat16 (PyTorch, oneDNN/AMX where present), each the best of several runs
after a warm-up, with the threads the training runs use. Prints one JSON line.

    python benchmarks/peak_flops.py [--size 2048] [--seconds 1.0]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np


def best_rate(matmul: Callable[[], object], flops: float, seconds: float) -> float:
    """GFLOP/s of the fastest call within about `seconds` of repeated calls."""
    matmul()  # warm-up: allocation, kernel selection, thread pool start
    best = float("inf")
    deadline = time.perf_counter() + seconds
    calls = 0
    while calls < 3 or time.perf_counter() < deadline:
        start = time.perf_counter()
        matmul()
        best = min(best, time.perf_counter() - start)
        calls += 1
    return flops / best / 1e9


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (what convscope's precision='auto' asks)."""
    try:
        import torch

        from convscope.ops.device import native_bfloat16 as native
    except ImportError:
        return False
    return native(torch.device("cpu"))


def measure(size: int, seconds: float) -> dict[str, float]:
    flops = 2.0 * size**3
    result: dict[str, float] = {}
    a32 = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b32 = np.random.default_rng(1).random((size, size), dtype=np.float32)
    result["numpy_float32_gflops"] = best_rate(lambda: a32 @ b32, flops, seconds)
    try:
        import torch
    except ImportError:
        return result
    ta, tb = torch.from_numpy(a32), torch.from_numpy(b32)
    result["torch_float32_gflops"] = best_rate(lambda: ta @ tb, flops, seconds)
    if native_bfloat16():  # emulated bfloat16 runs at ~0.3 GFLOP/s: minutes per probe, and no peak
        ha, hb = ta.bfloat16(), tb.bfloat16()
        result["torch_bfloat16_gflops"] = best_rate(lambda: ha @ hb, flops, seconds)
    result["torch_threads"] = torch.get_num_threads()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    result = measure(args.size, args.seconds)
    float32 = max(v for k, v in result.items() if k.endswith("float32_gflops"))
    result["peak_float32_gflops"] = float32
    result["peak_bfloat16_gflops"] = max(float32, result.get("torch_bfloat16_gflops", 0.0))
    result["size"] = args.size
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
