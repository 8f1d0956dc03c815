"""Admission control: a few requests at work, a few queued, 503 with Retry-After past that, and
the heap trimmed once the server is idle again."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from convscope.serve import limits
from convscope.serve.limits import Admission


class Blocking:
    """An ASGI app whose POSTs wait until `release` is set; counts the requests it worked on."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.worked = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["method"] == "POST":
            await self.release.wait()
        self.worked += 1
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})


def client_for(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def until(condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met within a second")


def test_one_at_work_one_queued_and_the_third_gets_503(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(limits, "trim_heap", lambda: trims.append(1))

    async def scenario() -> None:
        inner = Blocking()
        gate = Admission(inner, active=1, waiting=1, retry_after=3)
        async with client_for(gate) as client:
            first = asyncio.create_task(client.post("/predict"))
            second = asyncio.create_task(client.post("/predict"))
            await until(lambda: gate.admitted == 2)
            busy = await client.post("/predict")
            assert busy.status_code == 503 and busy.headers["retry-after"] == "3"
            assert busy.json()["error"] == ("the server is busy (it works on 1 request at once and queues 1, "
                                            "all taken); try again in 3 s.")
            assert (await client.get("/health")).status_code == 200  # GETs are not queued
            assert trims == []
            inner.release.set()
            assert [(await first).status_code, (await second).status_code] == [200, 200]
        assert gate.admitted == 0 and inner.worked == 3
        assert trims == [1]  # once, when the last request was answered

    asyncio.run(scenario())


def test_a_request_queued_too_long_gets_503() -> None:
    async def scenario() -> None:
        inner = Blocking()
        gate = Admission(inner, active=1, waiting=4, timeout=0.05)
        async with client_for(gate) as client:
            first = asyncio.create_task(client.post("/predict"))
            await until(lambda: gate.admitted == 1)
            late = await client.post("/predict")
            assert late.status_code == 503 and "waited 0.05 s in the queue" in late.json()["error"]
            inner.release.set()
            assert (await first).status_code == 200
        assert gate.admitted == 0

    asyncio.run(scenario())


def test_admission_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="active >= 1"):
        Admission(Blocking(), active=0)


def test_trim_heap_runs_here() -> None:
    limits.trim_heap()  # a no-op where the C library is not glibc
