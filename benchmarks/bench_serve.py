"""Load test of `convscope serve` on 127.0.0.1: N predict requests, C at a time.

Starts the server for RUN on a free port (or uses --url), posts the same drawn-digit PNG as
multipart `file` to /api/predict, and reports errors, throughput and p50/p90/p99 latency.

    python benchmarks/bench_serve.py runs/fashion --requests 1000 --concurrency 8
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx


def digit_png(size: int = 280) -> bytes:
    """A white '7' drawn on black, like a stroke on the page's canvas."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(image)
    draw.line([(70, 60), (210, 60), (120, 230)], fill=255, width=size // 14, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def wait_until_up(url: str, process: subprocess.Popen[str] | None, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before answering")
        try:
            if httpx.get(f"{url}/api/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@contextmanager
def server(run: str | Path, *extra: str) -> Iterator[str]:
    """`convscope serve RUN` on a free 127.0.0.1 port; yields its URL; always stops it."""
    with server_process(run, *extra) as (url, _):
        yield url


@contextmanager
def server_process(run: str | Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """`convscope serve RUN --port 0`: the server binds a free port itself and prints its URL,
    so two servers started at once never race for one port; yields (URL, process id) once it
    answers; always stops it."""
    command = [sys.executable, "-m", "convscope", "serve", str(run), "--port", "0", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        url = served_url(process)
        wait_until_up(url, process)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def served_url(process: subprocess.Popen[str]) -> str:
    """The URL in the server's "Serving RUN on http://HOST:PORT" line; its later output is
    drained in the background so that a full pipe never blocks it."""
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        found = re.search(r"Serving .* on (http://\S+) ", line)
        if found:
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return found.group(1)
    process.wait()
    raise RuntimeError(f"the server exited with code {process.returncode} before saying where it listens: "
                       f"{''.join(lines)[-500:]}")


def load_test(url: str, requests: int = 1000, concurrency: int = 8, payload: bytes | None = None) -> dict:
    """Send `requests` predictions, `concurrency` at a time; latencies in milliseconds."""
    payload = payload or digit_png()
    errors: list[str] = []

    def one(client: httpx.Client) -> float:
        started = time.perf_counter()
        try:
            response = client.post(f"{url}/api/predict", files={"file": ("digit.png", payload, "image/png")})
            if response.status_code != 200 or "prediction" not in response.json():
                errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
        except httpx.HTTPError as error:
            errors.append(f"{type(error).__name__}: {error}")
        return (time.perf_counter() - started) * 1000

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    with httpx.Client(timeout=30.0, limits=limits) as client, ThreadPoolExecutor(concurrency) as pool:
        latencies = sorted(pool.map(lambda _: one(client), range(requests)))
    seconds = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"requests": requests, "concurrency": concurrency, "errors": len(errors), "first_errors": errors[:5],
            "seconds": round(seconds, 3), "requests_per_second": round(requests / seconds, 1),
            "p50_ms": round(quantiles[49], 2), "p90_ms": round(quantiles[89], 2),
            "p99_ms": round(quantiles[98], 2), "max_ms": round(latencies[-1], 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="run folder to serve (omit with --url)")
    parser.add_argument("--url", help="an already running server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if not args.url and not args.run:
        parser.error("give RUN or --url")
    if args.url:
        result = load_test(args.url, args.requests, args.concurrency)
    else:
        with server(args.run) as url:
            load_test(url, 20, args.concurrency)  # warm up
            result = load_test(url, args.requests, args.concurrency)
    print(json.dumps(result, indent=2))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
