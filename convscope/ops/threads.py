"""Thread counts for CPU work: what the user fixed, the cores this process may use, and how
long its threads wait for a core.

Each parallel region (a convolution, its backward, an optimizer step) waits for all of its
threads; where other processes hold the cores, the operating system deschedules ours now and
then and the others spin until it comes back (`benchmarks/LEVERS.md`, "Threads under load").
The measurements here let the callers notice: the training loop's `ThreadPolicy`
(`convscope.engine.threads`) tries fewer threads during `fit`, and `InferenceThreads` halves
them for the rest of a `predict` or `evaluate` call whose first batches waited.

The user decides instead with `compile(threads=N)`, `CONVSCOPE_THREADS=N` or `OMP_NUM_THREADS`
(PyTorch's own setting): `requested_threads` reads them, and a fixed count is never changed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

WAIT_FRACTION = 0.10  # share of thread time spent waiting for a core that counts as contention
PROBE_SECONDS = 0.05  # predict/evaluate: how long to watch before deciding
REMEMBER_SECONDS = 5.0  # how long a contended predict/evaluate call makes the next ones start lower


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup (v2 or v1) quota."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_quota()
    return max(1, min(cores, int(quota)) if quota else cores)


def cgroup_quota() -> float | None:
    """CPUs the cgroup allows (quota / period), or None without a limit."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        microseconds = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        every = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return None if microseconds <= 0 else microseconds / every
    except (OSError, ValueError):
        return None


def runqueue_wait_seconds() -> float | None:
    """Total time this process's threads have spent runnable but waiting for a core, or None
    where the kernel does not say (not Linux, or schedstats off)."""
    total = 0
    try:
        for task in os.scandir("/proc/self/task"):
            try:
                total += int(Path(task.path, "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue  # a thread that ended meanwhile
    except OSError:
        return None
    return total / 1e9


def requested_threads(compile_threads: int | str | None) -> int | None:
    """The thread count the user fixed (compile's argument, then CONVSCOPE_THREADS, then
    OMP_NUM_THREADS), or None to let the policy choose."""
    for source, value in (("compile(threads=...)", compile_threads),
                          ("CONVSCOPE_THREADS", os.environ.get("CONVSCOPE_THREADS")),
                          ("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS"))):
        if value is None or str(value).strip().lower() in ("", "auto"):
            continue
        try:
            count = int(value)
        except (TypeError, ValueError):
            count = 0
        if count < 1:
            raise ValueError(f"{source} must be a positive integer or 'auto'; got {value!r}.")
        return count
    return None


class InferenceThreads:
    """Threads for one `predict` or `evaluate` call on the CPU: call `after_batch()` after each
    batch; once `PROBE_SECONDS` have passed, the rest of the call runs on half the threads if
    ours waited for a core more than `WAIT_FRACTION` of their time. The count comes back at the
    end of the `with` block.

    Calls too short to decide within (one large batch, a web request) are judged as a whole when
    they end, and a contended call makes the calls of the next `REMEMBER_SECONDS` start on half
    the threads; after that a call probes at the full count again.

    >>> with InferenceThreads(model.device, None) as threads:
    ...     for batch in batches:
    ...         run(batch); threads.after_batch()
    """

    def __init__(self, device: torch.device, compile_threads: int | str | None, *,
                 clock: Callable[[], float] = time.perf_counter,
                 waiting: Callable[[], float | None] = runqueue_wait_seconds) -> None:
        self.clock, self.waiting = clock, waiting
        self.watching = (device.type == "cpu" and requested_threads(compile_threads) is None
                         and torch.get_num_threads() > 1)
        self.before = torch.get_num_threads()
        self.started = 0.0
        self.waited: float | None = None
        self.lowered = False

    #: Clock time until which calls start on half the threads (a recent call waited for cores).
    contended_until = float("-inf")

    def __enter__(self) -> InferenceThreads:
        self.before = torch.get_num_threads()
        if not self.watching:
            return self
        self.started, self.waited = self.clock(), self.waiting()
        if self.started < InferenceThreads.contended_until:
            self.watching = False
            self.lower()
        return self

    def lower(self) -> None:
        torch.set_num_threads(max(1, self.before // 2))
        self.lowered = True

    def contended(self, now: float, elapsed: float) -> bool:
        """Whether our threads waited for a core more than WAIT_FRACTION of their time so far;
        a contended call is remembered for REMEMBER_SECONDS."""
        waited = self.waiting()
        if waited is None or self.waited is None or elapsed <= 0:
            return False
        if (waited - self.waited) / (elapsed * self.before) <= WAIT_FRACTION:
            return False
        InferenceThreads.contended_until = now + REMEMBER_SECONDS
        return True

    def after_batch(self) -> None:
        if not self.watching:
            return
        now = self.clock()
        if now - self.started < PROBE_SECONDS:
            return
        self.watching = False
        if self.contended(now, now - self.started):
            self.lower()

    def __exit__(self, *exc: object) -> None:
        if self.watching:  # ended before it could decide: judge the whole call for the next ones
            now = self.clock()
            self.contended(now, now - self.started)
        torch.set_num_threads(self.before)
