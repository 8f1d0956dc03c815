"""The host allocator setting: freed activation-sized blocks are reused instead of page-faulted
in again, and the setting stays off wherever the user chose otherwise."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from convscope.engine import allocator

# A training step's pattern: several large buffers held at once, then all freed. Five 16 MiB
# blocks: 80 MiB freed at the top of the heap, more than glibc's default trim threshold can ever
# be (at most 64 MiB), so without the setting part of it goes back to the kernel after every step
# and is faulted in again by the next.
FAULTS_SCRIPT = """
import json, resource, torch
from convscope.engine import allocator
applied = allocator.tune_host_allocator()
def step():
    held = [torch.empty(4 * 1024 * 1024).fill_(1.0) for _ in range(5)]
    del held
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    step()
print(json.dumps({"applied": applied, "faults": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10}))
"""


def faults_per_step(**env: str) -> dict[str, object]:
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "CONVSCOPE_HOST_ALLOCATOR")}
    result = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT], capture_output=True, text=True,
                            check=True, env={**environment, **env})
    return json.loads(result.stdout)


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc malloc only")
def test_tuned_allocator_reuses_large_blocks_instead_of_faulting_them_in() -> None:
    tuned = faults_per_step()
    plain = faults_per_step(CONVSCOPE_HOST_ALLOCATOR="system")
    assert tuned["applied"] is True and plain["applied"] is False
    assert plain["faults"] > 500  # measured 1,200-2,900 a step

    assert tuned["faults"] < 10


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc malloc only")
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
