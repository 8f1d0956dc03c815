"""How many threads a CPU training run uses, chosen while it runs.

Each parallel region of a training step (a convolution, its backward, an optimizer step) waits
for all of its threads. On an idle machine two threads on two cores are the fastest; with one
other busy process on those cores, the operating system deschedules one of our threads now and
then and the other spins until it comes back: a step can take 3-6x longer, where one thread
would have lost only the fair 2x (`benchmarks/LEVERS.md`, "Threads under load").

`ThreadPolicy` watches the run: every window of about a second it reads how long this process's
threads waited for a core (Linux's per-thread schedstat, `convscope.ops.threads`) and the steps
per second. When the
threads wait, it tries fewer threads for a window and keeps them if they are faster; on fewer
threads it tries more again every `recheck_seconds`, so a machine that becomes idle again gets
all its cores back. Each change prints one line with the reason.

`predict` and `evaluate` are usually too short for trials: `convscope.ops.threads.InferenceThreads`
looks at the first 50 ms of batches and halves the threads for the rest of the call when they
waited.

The user decides instead with `compile(threads=N)`, `CONVSCOPE_THREADS=N` or `OMP_NUM_THREADS`
(PyTorch's own setting): a fixed count is never changed. `CONVSCOPE_THREADS=auto` (the default)
lets the policy choose on the CPU, outside torch.distributed (whose processes share the cores by
design).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO

import torch

from convscope.engine.callbacks import Callback
from convscope.ops.threads import (
    WAIT_FRACTION,
    requested_threads,
    runqueue_wait_seconds,
    usable_cores,
)

WINDOW_SECONDS = 1.0  # long enough for a steady step rate, short enough to react within an epoch
MIN_WINDOW_STEPS = 4
BETTER = 1.05  # a trial must be this much faster to be kept (rates drift by a few % anyway)
RECHECK_SECONDS = 15.0
WARMUP_STEPS = 3  # the first steps create oneDNN primitives and grow the allocator's pools


@dataclass
class Window:
    """Steps and waiting measured since the window began."""

    started: float
    waited: float | None
    steps: int = 0


class ThreadPolicy(Callback):
    """Chooses the intra-op thread count during `fit` on the CPU (see the module text).

    `clock` and `waiting` are injectable for tests: seconds now, and total run-queue wait.
    """

    def __init__(self, most: int, stream: IO[str] | None = None, *, verbose: bool = True,
                 clock: Callable[[], float] = time.perf_counter,
                 waiting: Callable[[], float | None] = runqueue_wait_seconds,
                 recheck_seconds: float = RECHECK_SECONDS) -> None:
        self.most, self.stream, self.verbose = max(1, most), stream or sys.stdout, verbose
        self.clock, self.waiting, self.recheck_seconds = clock, waiting, recheck_seconds
        self.threads = self.before = torch.get_num_threads()
        self.window: Window | None = None
        self.trial: tuple[int, float] | None = None  # (threads before the trial, their rate)
        self.steps_seen = 0
        self.up_interval = recheck_seconds
        self.next_down = self.next_up = 0.0  # no trial in either direction before these times
        self.changes: list[tuple[int, int, str]] = []

    # -- events ---------------------------------------------------------------------------------
    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.before = torch.get_num_threads()
        self.set_threads(self.most)
        self.next_up = self.clock() + self.up_interval

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.window = None  # validation and callbacks between epochs are not training steps

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        self.steps_seen += 1
        if self.steps_seen <= WARMUP_STEPS:
            return
        if self.window is None:
            self.window = Window(self.clock(), self.waiting())
            return
        self.window.steps += 1
        elapsed = self.clock() - self.window.started
        if elapsed >= WINDOW_SECONDS and self.window.steps >= MIN_WINDOW_STEPS:
            self.decide(self.window.steps / elapsed, self.wait_fraction(elapsed))
            self.window = Window(self.clock(), self.waiting())

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        torch.set_num_threads(self.before)

    # -- decisions ------------------------------------------------------------------------------
    def wait_fraction(self, elapsed: float) -> float:
        """Share of our threads' time spent waiting for a core during the window."""
        assert self.window is not None
        now = self.waiting()
        if now is None or self.window.waited is None:
            return 0.0
        return (now - self.window.waited) / (elapsed * self.threads)

    def decide(self, rate: float, waited: float) -> None:
        """After a window of `rate` steps/s whose threads waited `waited` of their time."""
        now = self.clock()
        if self.trial is not None:
            self.finish_trial(rate, now)
        elif self.threads > 1 and waited > WAIT_FRACTION and now >= self.next_down:
            self.start_trial(max(1, self.threads // 2), rate)
        elif self.threads < self.most and now >= self.next_up:
            self.start_trial(min(self.most, self.threads * 2), rate)

    def finish_trial(self, rate: float, now: float) -> None:
        """Keep the trial's thread count if it was faster; else go back and wait longer before
        trying that direction again."""
        assert self.trial is not None
        threads, their_rate = self.trial
        self.trial = None
        went_up = self.threads > threads
        if rate > their_rate * BETTER:
            self.report(threads, self.threads, f"{rate / their_rate:.2f}x the step rate of {threads}")
            self.up_interval = self.recheck_seconds
            self.next_up = now + self.up_interval
            return
        self.set_threads(threads)
        if went_up:  # still busy: look again later, less and less often
            self.up_interval = min(self.up_interval * 2, 8 * self.recheck_seconds)
            self.next_up = now + self.up_interval
        else:  # fewer threads did not help: the waiting has another cause
            self.next_down = now + self.recheck_seconds

    def start_trial(self, threads: int, rate: float) -> None:
        self.trial = (self.threads, rate)
        self.set_threads(threads)

    def set_threads(self, threads: int) -> None:
        self.threads = threads
        torch.set_num_threads(threads)

    def report(self, before: int, after: int, why: str) -> None:
        reason = ("other processes are using the cores" if after < before
                  else "the cores are free again")
        self.changes.append((before, after, why))
        if self.verbose:
            print(f"threads: {before} -> {after} ({reason}: {why})", file=self.stream, flush=True)


def thread_policy(device: torch.device, compile_threads: int | str | None, verbose: bool,
                  distributed: bool) -> ThreadPolicy | None:
    """The policy for a `fit` on `device`, or None where the thread count stays as it is (a
    count the user fixed is applied here)."""
    fixed = requested_threads(compile_threads)
    if fixed is not None:
        if fixed != torch.get_num_threads() and device.type == "cpu":
            torch.set_num_threads(fixed)
        return None
    if device.type != "cpu" or distributed:
        return None
    return ThreadPolicy(min(usable_cores(), torch.get_num_threads()), verbose=verbose)
