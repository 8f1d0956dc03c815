"""The real server's memory under a burst of large uploads, read from /proc/PID/status."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import serve_load

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/status")
def test_16_concurrent_4096_pngs_keep_memory_bounded(seed_run: Path) -> None:
    with serve_load.server_process(seed_run) as (url, pid):
        result = serve_load.burst(url, pid, count=16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "serve-memory.json").write_text(json.dumps(result, indent=2))
    print(f"\nburst of 16 4096x4096 uploads: {json.dumps(result)}")
    assert result["statuses"] == {"200": 16}  # queued, not refused: 16 fit in the queue
    assert result["vm_hwm_mib"] < 1024  # 3,470 MiB when every upload was decoded whole at once
    assert result["idle_after_mib"] - result["idle_before_mib"] < 200
