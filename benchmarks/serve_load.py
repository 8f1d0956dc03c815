"""Hostile load on `convscope serve`: memory under a burst of large uploads, and the answers to
1,000 malformed requests.

Starts the server for RUN (without RUN, for an untrained seed CNN saved to a temporary run
folder) on a free 127.0.0.1 port, then
  1. reads the server's resident memory (VmRSS in /proc/PID/status) when idle after a warm-up,
  2. posts `--burst` white 4096x4096 PNGs (57 KiB each, 64 MiB each once decoded) at once and
     reads the peak (VmHWM) and the resident memory once the server is idle again,
  3. sends `--malformed` bad requests of varied kinds and counts the answers' status codes, and
     how many of them came without a JSON body {"error": ...}.

    python benchmarks/serve_load.py [RUN] [--burst 16] [--malformed 1000]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_serve import digit_png, server_process  # noqa: E402

MIB = 1024 * 1024


def white_png(side: int = 4096) -> bytes:
    """A white RGB square: tiny as a PNG, side * side * 3 bytes once decoded."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (side, side), "white").save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A PNG whose header claims width x height pixels: a decompression bomb's first bytes."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 4096))


def seed_run(folder: Path) -> Path:
    """An untrained seed CNN with MNIST's preprocessing, saved as a run folder."""
    from convscope import runs, utils, zoo

    utils.set_seed(0, deterministic=False)
    spec = runs.Preprocessing((28, 28, 1), 1 / 255, "dark", "center", 20)
    return runs.save_model_run(zoo.build("seed-cnn"), folder, preprocessing=spec,
                               class_names=[str(i) for i in range(10)])


def memory_mib(pid: int) -> dict[str, float]:
    """{"VmRSS": ..., "VmHWM": ...} of a process, in MiB (HWM: the peak resident size so far)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024  # kB
    return values


def settled_rss(pid: int, seconds: float = 10.0) -> float:
    """The resident size once it stops falling (the server frees memory after answering)."""
    deadline, last = time.monotonic() + seconds, memory_mib(pid)["VmRSS"]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = memory_mib(pid)["VmRSS"]
        if abs(now - last) < 1.0:
            return now
        last = now
    return last


def post_all(url: str, payloads: list[bytes], path: str = "/api/predict") -> Counter[str]:
    """Post every payload as multipart `file` at once, one connection each; count the answers."""
    def one(payload: bytes) -> str:
        try:
            with httpx.Client(timeout=120.0) as client:
                response = client.post(url + path, files={"file": ("image.png", payload, "image/png")})
            return str(response.status_code)
        except httpx.HTTPError as error:
            return type(error).__name__

    with ThreadPoolExecutor(len(payloads)) as pool:
        return Counter(pool.map(one, payloads))


def burst(url: str, pid: int, count: int = 16) -> dict[str, Any]:
    """Idle RSS, peak RSS during `count` concurrent 4096x4096 uploads, RSS when idle again."""
    post_all(url, [digit_png()] * 4)  # warm up: the model's first predictions allocate too
    before = settled_rss(pid)
    peak_seen = before
    done = threading.Event()

    def watch() -> None:  # VmHWM is the process's peak since start; sampling shows the burst alone
        nonlocal peak_seen
        while not done.is_set():
            peak_seen = max(peak_seen, memory_mib(pid)["VmRSS"])
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    try:
        statuses = post_all(url, [white_png()] * count)
    finally:
        done.set()
        watcher.join()
    seconds = time.perf_counter() - started
    after = settled_rss(pid)
    return {"uploads": count, "statuses": dict(sorted(statuses.items())), "seconds": round(seconds, 2),
            "idle_before_mib": round(before, 1), "peak_mib": round(peak_seen, 1),
            "vm_hwm_mib": round(memory_mib(pid)["VmHWM"], 1), "idle_after_mib": round(after, 1),
            "kept_mib": round(after - before, 1)}


def malformed_requests(upload_limit: int) -> list[tuple[str, dict[str, Any]]]:
    """(kind, keyword arguments of httpx's Client.request) for every kind of bad request."""
    def upload(data: bytes, field: str = "file") -> dict[str, Any]:
        return {"method": "POST", "url": "/api/predict", "files": {field: ("x.png", data, "image/png")}}

    def body(content: bytes | str, content_type: str = "application/json",
             url: str = "/api/predict") -> dict[str, Any]:
        data = content.encode() if isinstance(content, str) else content
        return {"method": "POST", "url": url, "content": data, "headers": {"content-type": content_type}}

    deep = 100_000
    huge = "9" * 400
    whole = digit_png()
    boundary = "convscopeboundary"
    return [
        ("JSON nested 100,000 deep", body('{"pixels": ' + "[" * deep + "]" * deep + "}")),
        ("JSON objects nested 100,000 deep", body('{"a": ' * deep + "1" + "}" * deep)),
        ("784 integers of 400 digits", body('{"pixels": [' + ",".join([f"[{','.join([huge] * 28)}]"] * 28) + "]}")),
        ("an integer of 5,000 digits", body('{"pixels": [[0.5]], "top_k": ' + "9" * 5000 + "}")),
        ("invalid JSON", body("{oops")),
        ("invalid UTF-8", body(b'{"pixels": "\xff\xfe"}')),
        ("JSON array, not object", body("[1, 2, 3]")),
        ("no pixels field", body('{"pixel": [[0]]}')),
        ("pixels a string", body('{"pixels": "zero"}')),
        ("pixels an object", body('{"pixels": {"a": 1}}')),
        ("pixels a number", body('{"pixels": 7}')),
        ("ragged pixels", body('{"pixels": [[0.1, 0.2], [0.3]]}')),
        ("words in pixels", body('{"pixels": [["a", "b"], ["c", "d"]]}')),
        ("NaN in pixels", body('{"pixels": [[NaN, 0.5], [0.5, 0.5]]}')),
        ("1e999 in pixels", body('{"pixels": [[1e999, 0.5], [0.5, 0.5]]}')),
        ("pixels out of range", body(json.dumps({"pixels": [[2.0] * 28] * 28}))),
        ("pixels 40 axes deep", body('{"pixels": ' + "[" * 40 + "0.5" + "]" * 40 + "}")),
        ("5 colour channels", body(json.dumps({"pixels": [[[0.5] * 5] * 30] * 30}))),
        ("top_k a word", body(json.dumps({"pixels": [[0.0] * 28] * 28, "top_k": "many"}))),
        ("explain: unknown layer", body(json.dumps({"pixels": [[0.0] * 28] * 28, "layer": "nope",
                                                    "position": [0, 0]}), url="/api/explain")),
        ("explain: position 10**30", body(json.dumps({"pixels": [[0.0] * 28] * 28, "layer": "conv2d",
                                                      "position": [10**30, 0], "maps": False}), url="/api/explain")),
        ("explain: channel 10**30", body(json.dumps({"pixels": [[0.0] * 28] * 28, "layer": "conv2d",
                                                     "position": [1, 1], "channel": 10**30, "maps": False}),
                                         url="/api/explain")),
        ("explain: position words", body(json.dumps({"pixels": [[0.0] * 28] * 28, "layer": "conv2d",
                                                     "position": "a,b"}), url="/api/explain")),
        ("PNG claiming 20000x20000", upload(bomb_png())),
        ("PNG claiming 5000x5000", upload(bomb_png(5000, 5000))),
        ("PNG claiming 0x0", upload(bomb_png(0, 0))),
        ("truncated PNG", upload(whole[:200])),
        ("corrupt PNG data", upload(whole[:60] + bytes(len(whole) - 60))),
        ("empty file", upload(b"")),
        ("text as an image", upload(b"hello, I am text")),
        ("image in the wrong field", upload(whole, field="image")),
        ("multipart without boundary", body(b"--x\r\n", "multipart/form-data")),
        ("broken multipart", body(f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                                  "filename=\"a.png\"\r\n\r\n\x89PNG", f"multipart/form-data; boundary={boundary}")),
        ("three files", {"method": "POST", "url": "/api/predict",
                         "files": [("file", ("a.png", whole, "image/png"))] * 3}),
        ("plain text body", body(b"pixels", "text/plain")),
        ("no body", {"method": "POST", "url": "/api/predict"}),
        (f"body over the {upload_limit:,}-byte limit", body(b"{" + bytes(upload_limit + 1))),
        ("chunked body over the limit", {"method": "POST", "url": "/api/predict",  # no Content-Length
                                         "headers": {"content-type": "application/json"},
                                         "content": [b'{"pixels": '] + [bytes(65536)] * (upload_limit // 65536 + 1)}),
        ("GET on a POST route", {"method": "GET", "url": "/api/predict"}),
        ("unknown route", {"method": "GET", "url": "/api/nothing-here"}),
    ]


def send_malformed(client: httpx.Client, count: int, upload_limit: int) -> dict[str, Any]:
    """`count` bad requests, the kinds in turn; status counts, answers without a JSON body and
    the first answers that were not 4xx."""
    kinds = malformed_requests(upload_limit)
    statuses: Counter[str] = Counter()
    not_json: Counter[str] = Counter()
    not_4xx: dict[str, str] = {}
    for index in range(count):
        kind, request = kinds[index % len(kinds)]
        try:
            response = client.request(**request)
        except httpx.HTTPError as error:
            statuses[type(error).__name__] += 1
            not_4xx.setdefault(kind, type(error).__name__)
            continue
        statuses[str(response.status_code)] += 1
        if not 400 <= response.status_code < 500:
            not_4xx.setdefault(kind, f"{response.status_code}: {response.text[:120]}")
        try:
            is_json = isinstance(response.json().get("error"), str)
        except (ValueError, AttributeError):
            is_json = False
        if not is_json:
            not_json[kind] += 1
    return {"requests": count, "kinds": len(kinds), "statuses": dict(sorted(statuses.items())),
            "without_json_error": sum(not_json.values()), "not_4xx": not_4xx}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", help="run folder to serve (default: an untrained seed CNN)")
    parser.add_argument("--burst", type=int, default=16, help="concurrent 4096x4096 uploads (default 16)")
    parser.add_argument("--malformed", type=int, default=1000, help="bad requests to send (default 1000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run = args.run or seed_run(Path(scratch) / "run")
        with server_process(run) as (url, pid):
            memory = burst(url, pid, args.burst)
            print(json.dumps({"burst": memory}, indent=2), flush=True)
            with httpx.Client(base_url=url, timeout=60.0) as client:
                answers = send_malformed(client, args.malformed, 5 * MIB)
            print(json.dumps({"malformed": answers}, indent=2))
            alive = httpx.get(f"{url}/api/health", timeout=10.0).status_code == 200
            print(json.dumps({"serving_after": alive, "idle_mib": round(settled_rss(pid), 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
