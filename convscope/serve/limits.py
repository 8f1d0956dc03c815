"""What keeps the server's memory bounded under hostile input and load.

`UploadLimit` refuses request bodies over a size; `Admission` lets only a few requests that do
real work (POSTs) run at once, queues a few more, answers 503 to the rest, and when the last one
is answered hands the memory they freed back to the operating system (`trim_heap`).

    app.add_middleware(Admission, active=2, waiting=32)
    app.add_middleware(UploadLimit, limit=5 * 1024 * 1024)   # added last: runs first
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import platform
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from convscope.inference.images import InputError


class UploadLimit:
    """ASGI middleware: answer 413 to request bodies over `limit` bytes, from the
    Content-Length header when there is one and by counting the bytes as they arrive otherwise."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self.too_large(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise InputError(self.message(), 413)
            return message

        await self.app(scope, counting_receive, send)

    def message(self) -> str:
        return f"the request body is over the {self.limit / 1024 / 1024:g} MB upload limit; send a smaller image."

    async def too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse({"error": self.message()}, status_code=413, headers={"Connection": "close"})
        await response(scope, receive, send)


class Admission:
    """ASGI middleware: at most `active` POST requests at work at once, `waiting` more queued
    (each for at most `timeout` seconds); any more get 503 with Retry-After at once. When no
    request is left, the heap is trimmed.

    A queued request has not read its body yet, so it holds a connection and what the server
    buffers of its body (64 KiB in uvicorn): peak memory is about `active` times one request's (a 4096x4096 RGB upload decodes to 64 MiB).
    """

    def __init__(self, app: ASGIApp, active: int = 2, waiting: int = 32, timeout: float = 60.0,
                 retry_after: int = 2) -> None:
        if active < 1 or waiting < 0 or timeout <= 0:
            raise ValueError(f"Admission needs active >= 1, waiting >= 0 and timeout > 0; got active={active}, "
                             f"waiting={waiting}, timeout={timeout}.")
        self.app, self.active, self.waiting, self.timeout = app, active, waiting, timeout
        self.retry_after = retry_after
        self.admitted = 0  # at work or queued
        self.slots: asyncio.Semaphore | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.admitted >= self.active + self.waiting:
            await self.busy(scope, receive, send, f"it works on {self.active} request{'s' * (self.active > 1)} "
                            f"at once and queues {self.waiting}, all taken")
            return
        slots = self.semaphore()
        self.admitted += 1
        try:
            try:
                await asyncio.wait_for(slots.acquire(), self.timeout)
            except asyncio.TimeoutError:
                await self.busy(scope, receive, send, f"waited {self.timeout:g} s in the queue")
                return
            try:
                await self.app(scope, receive, send)
            finally:
                slots.release()
        finally:
            self.admitted -= 1
        if self.admitted == 0:  # idle again: the burst is over
            await run_in_threadpool(trim_heap)

    def semaphore(self) -> asyncio.Semaphore:
        """The slots of the running event loop (a test client may start a new loop)."""
        loop = asyncio.get_running_loop()
        if self.slots is None or self.loop is not loop:
            self.slots, self.loop = asyncio.Semaphore(self.active), loop
        return self.slots

    async def busy(self, scope: Scope, receive: Receive, send: Send, why: str) -> None:
        response = JSONResponse(
            {"error": f"the server is busy ({why}); try again in {self.retry_after} s."},
            status_code=503, headers={"Retry-After": str(self.retry_after)})
        await response(scope, receive, send)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def trim_heap() -> None:
    """Return the free pages inside malloc's heaps to the operating system (glibc only; elsewhere
    a no-op).

    Once convscope has predicted, glibc keeps freed blocks under 32 MiB in its heaps for reuse
    (`convscope.engine.allocator`), decoded images included, so without this an idle server
    holds on to the memory of its busiest moment. The free top of each worker thread's heap
    stays (glibc trims only the main heap's top here): at most 64 MiB per thread.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
