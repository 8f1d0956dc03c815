"""The host allocator setting: freed activation-sized blocks are reused instead of page-faulted
in again, and the setting stays off wherever the user chose otherwise."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from convscope.ops import allocator

# A training step's pattern: several large buffers held at once, then all freed. The script first
# sets glibc's thresholds to its initial values with no adjustment (every block over 128 KiB is
# mmapped and unmapped again: the state that costs a training step its page faults), counts the
# faults per step, then applies convscope's setting and counts again.
FAULTS_SCRIPT = """
import ctypes, json, resource, torch
from convscope.ops import allocator
libc = ctypes.CDLL("libc.so.6")
assert libc.mallopt(allocator.M_MMAP_THRESHOLD, 128 * 1024) and libc.mallopt(allocator.M_TRIM_THRESHOLD, 128 * 1024)
def step():
    held = [torch.empty(4 * 1024 * 1024).fill_(1.0) for _ in range(5)]
    del held
def faults_per_step():
    for _ in range(3):
        step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
plain = faults_per_step()
applied = allocator.tune_host_allocator()
print(json.dumps({"applied": applied, "plain": plain, "tuned": faults_per_step()}))
"""


def measure(**env: str) -> dict[str, object]:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "CONVSCOPE_HOST_ALLOCATOR")}
    result = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT], capture_output=True, text=True,
                            check=True, env={**environment, **env})
    return json.loads(result.stdout)


GLIBC = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="glibc malloc only")


@GLIBC
def test_tuned_allocator_reuses_large_blocks_instead_of_faulting_them_in() -> None:
    counts = measure()
    assert counts["applied"] is True
    assert counts["plain"] > 15_000  # five 16 MiB blocks are 20,480 pages, faulted in every step
    # Measured: 0 in most runs; in about one run in four, one block in three steps is faulted in
    # again (1,229 a step on average), still a sixteenth of the plain count.
    assert counts["tuned"] < counts["plain"] / 10


@GLIBC
def test_opting_out_leaves_malloc_alone() -> None:
    counts = measure(CONVSCOPE_HOST_ALLOCATOR="system")
    assert counts["applied"] is False
    assert counts["tuned"] > 15_000


@pytest.mark.parametrize(("variable", "value", "reason"), [
    ("CONVSCOPE_HOST_ALLOCATOR", "system", "CONVSCOPE_HOST_ALLOCATOR=system"),
    ("MALLOC_TRIM_THRESHOLD_", "1000000", "MALLOC_TRIM_THRESHOLD_ is set"),
    ("LD_PRELOAD", "/usr/lib/libjemalloc.so.2", "another allocator is preloaded"),
])
def test_a_choice_already_made_is_respected(variable: str, value: str, reason: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, value)
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert allocator.reason_to_skip() == reason
    else:
        assert allocator.reason_to_skip() is not None


def test_the_policy_is_applied_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(allocator, "_tuned", None)
    monkeypatch.setattr(allocator, "reason_to_skip", lambda: None)
    monkeypatch.setattr(allocator, "set_malloc_thresholds", lambda: (calls.append(1), True)[1])
    assert not allocator.host_allocator_tuned()
    assert allocator.tune_host_allocator() is True and allocator.tune_host_allocator() is True
    assert calls == [1] and allocator.host_allocator_tuned()


def test_a_skipped_policy_is_not_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(allocator, "_tuned", None)
    monkeypatch.setenv("CONVSCOPE_HOST_ALLOCATOR", "system")
    monkeypatch.setattr(allocator, "set_malloc_thresholds", lambda: (calls.append(1), True)[1])
    assert allocator.tune_host_allocator() is False
    monkeypatch.delenv("CONVSCOPE_HOST_ALLOCATOR")
    assert allocator.tune_host_allocator() is False  # decided for the process at the first call
    assert calls == [] and not allocator.host_allocator_tuned()
