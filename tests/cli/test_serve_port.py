"""`convscope serve --port`: port 0 prints the free port the server took, and a taken port is a
one-line error before the model loads."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_serve  # noqa: E402


def test_port_zero_prints_the_port_it_listens_on() -> None:
    with bench_serve.server_process("seed-cnn") as (url, _):
        host, port = url.removeprefix("http://").rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0  # the line says where, not ":0"
        import httpx

        assert httpx.get(f"{url}/api/health", timeout=10).json()["status"] == "ok"


def test_a_taken_port_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = run_cli("serve", "seed-cnn", "--port", str(port))
    assert code != 0 and "Serving" not in out
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err
    assert "--port 0 for a free one" in err


def test_an_unknown_host_is_a_clear_error() -> None:
    code, _, err = run_cli("serve", "seed-cnn", "--host", "no-such-host.invalid", "--port", "0")
    assert code != 0 and "cannot listen on no-such-host.invalid" in err


@pytest.mark.parametrize("port", ["-1", "65536"])
def test_ports_out_of_range_are_refused(port: str) -> None:
    code, _, err = run_cli("serve", "seed-cnn", "--port", port)
    assert code != 0 and "--port must be 0..65535" in err
