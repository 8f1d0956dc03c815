"""Host memory reuse for training and inference on the CPU: a process-wide malloc policy.

Every training step allocates and frees the same large activation and gradient buffers (on the
seed CNN at batch 128, 1-11 MB each). glibc's malloc gives much of that memory back to the kernel
on free (large blocks are mmapped; the heap top is trimmed), so the next step page-faults it in
again: about 7,000 page faults per step, a quarter to a third of the step time measured on a
2-core CPU (`benchmarks/LEVERS.md`). Raising malloc's mmap threshold to its maximum (32 MiB) and its trim
threshold keeps those blocks in the heap for reuse, the way PyTorch's CUDA caching allocator
keeps GPU memory.

The setting belongs to the whole process, so it is one explicit policy applied once:
`tune_host_allocator()` sets it and later calls change nothing (they return the first answer).
The engine calls it when it first trains, evaluates or predicts on the CPU; a program that runs
the model in its own loop may call it itself. `host_allocator_tuned()` says whether it is in
effect. It is skipped where it does not apply (not Linux with glibc), where the user already
chose (`MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_` in the environment, or a preloaded
allocator such as jemalloc or tcmalloc), and when `CONVSCOPE_HOST_ALLOCATOR=system`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

# mallopt parameter numbers from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 256 * 1024 * 1024

_tuned: bool | None = None  # None until `tune_host_allocator` first runs


def reason_to_skip() -> str | None:
    """Why the malloc settings are left alone, or None when they apply."""
    if os.environ.get("CONVSCOPE_HOST_ALLOCATOR", "").lower() == "system":
        return "CONVSCOPE_HOST_ALLOCATOR=system"
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return "not Linux with glibc"
    chosen = [name for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_") if name in os.environ]
    if chosen:
        return f"{chosen[0]} is set"
    if any(name in os.environ.get("LD_PRELOAD", "") for name in ("jemalloc", "tcmalloc", "mimalloc")):
        return "another allocator is preloaded"
    return None


def tune_host_allocator() -> bool:
    """Apply the malloc settings, once per process (later calls change nothing); True when they
    are in effect.

    >>> tune_host_allocator()  # on Linux with glibc, unless the user chose otherwise
    True
    """
    global _tuned
    if _tuned is None:
        _tuned = reason_to_skip() is None and set_malloc_thresholds()
    return _tuned


def host_allocator_tuned() -> bool:
    """Whether `tune_host_allocator` has put the settings in effect in this process."""
    return bool(_tuned)


def set_malloc_thresholds() -> bool:
    """Set glibc's mmap and trim thresholds; True when both were accepted."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):
        return False
