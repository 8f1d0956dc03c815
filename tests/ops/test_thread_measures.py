"""What the thread choices measure and read: the count the user fixed, the cores this process
may use, its run-queue wait, and `InferenceThreads` deciding once within a predict call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from convscope.ops import threads as threads_module
from convscope.ops.threads import requested_threads


def test_fixed_counts_come_from_compile_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONVSCOPE_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert requested_threads(None) is None and requested_threads("auto") is None
    assert requested_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert requested_threads(None) == 1
    monkeypatch.setenv("CONVSCOPE_THREADS", "2")
    assert requested_threads(None) == 2 and requested_threads(4) == 4
    monkeypatch.setenv("CONVSCOPE_THREADS", "auto")
    assert requested_threads(None) == 1  # auto defers to PyTorch's own OMP_NUM_THREADS
    monkeypatch.setenv("CONVSCOPE_THREADS", "many")
    with pytest.raises(ValueError, match="CONVSCOPE_THREADS must be a positive integer or 'auto'; got 'many'"):
        requested_threads(None)


def test_usable_cores_follow_affinity_and_the_cgroup_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threads_module.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    monkeypatch.setattr(threads_module, "cgroup_quota", lambda: None)
    assert threads_module.usable_cores() == 4
    monkeypatch.setattr(threads_module, "cgroup_quota", lambda: 1.5)
    assert threads_module.usable_cores() == 1
    monkeypatch.setattr(threads_module, "cgroup_quota", lambda: 0.5)
    assert threads_module.usable_cores() == 1


def test_the_run_queue_wait_is_read_for_this_process() -> None:
    waited = threads_module.runqueue_wait_seconds()
    assert waited is None or waited >= 0.0


@pytest.mark.parametrize(("waited_share", "lowered"), [(0.0, False), (0.05, False), (0.3, True)])
def test_predict_and_evaluate_halve_the_threads_after_waiting_in_their_first_batches(
        monkeypatch: pytest.MonkeyPatch, waited_share: float, lowered: bool) -> None:
    monkeypatch.delenv("CONVSCOPE_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    clock = {"now": 0.0, "waited": 0.0}
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with threads_module.InferenceThreads(torch.device("cpu"), None, clock=lambda: clock["now"],
                                             waiting=lambda: clock["waited"]) as inference:
            used = []
            for _ in range(10):
                used.append(torch.get_num_threads())
                clock["now"] += 0.02  # a batch
                clock["waited"] += 0.02 * 2 * waited_share
                inference.after_batch()
            assert inference.lowered == lowered
        assert used == [2, 2, 2] + [1 if lowered else 2] * 7  # decided once 50 ms have passed
        assert torch.get_num_threads() == 2  # back after the call
    finally:
        torch.set_num_threads(before)


def test_inference_keeps_a_fixed_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    inference = threads_module.InferenceThreads(torch.device("cpu"), None, clock=lambda: 1.0, waiting=lambda: 9.0)
    assert not inference.watching


@pytest.fixture
def two_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CONVSCOPE_THREADS", raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(("waited_share", "next_starts_at"), [(0.3, 1), (0.05, 2)])
def test_a_call_too_short_to_decide_sets_the_start_of_the_next_calls(
        two_threads: None, waited_share: float, next_starts_at: int) -> None:
    clock = {"now": 100.0, "waited": 0.0}

    def one_call(seconds: float) -> int:
        with threads_module.InferenceThreads(torch.device("cpu"), None, clock=lambda: clock["now"],
                                             waiting=lambda: clock["waited"]):
            used = torch.get_num_threads()
            clock["now"] += seconds  # one batch: the call ends before the probe could decide
            clock["waited"] += seconds * 2 * waited_share
        assert torch.get_num_threads() == 2
        return used

    assert one_call(0.03) == 2
    assert one_call(0.03) == next_starts_at
    clock["now"] += threads_module.REMEMBER_SECONDS  # later, a call probes at the full count again
    waited_share = 0.0
    assert one_call(0.03) == 2
