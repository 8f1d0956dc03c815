"""`convscope serve RUN`: the web page and JSON API for a trained run, on 127.0.0.1 by default.

    convscope serve runs/fashion --port 8000     # then open http://127.0.0.1:8000
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

from convscope.cli import CommandError


def register(subparsers: Any) -> None:
    """Add the `serve` command."""
    parser = subparsers.add_parser("serve", help="web page to draw a digit and watch the network think",
                                   description="Serve a page (draw or upload an image; probabilities, feature "
                                               "maps, shape journey, worked conv steps) and its JSON API.")
    parser.add_argument("run", metavar="RUN", help="run folder from `convscope train`, a saved model folder or a built-in model name")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--max-upload-mb", type=float, default=5.0, help="largest accepted request body (default 5)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0..65535; got {args.port}.")
    if not args.max_upload_mb > 0:
        raise ValueError(f"--max-upload-mb must be positive; got {args.max_upload_mb}.")
    try:
        import uvicorn

        from convscope.serve import create_app
    except ImportError as error:
        raise CommandError(f"serving needs {error.name}", hint='pip install "convscope[serve]"') from error
    from convscope.cli import open_model

    listening = listen(args.host, args.port)  # a taken port fails before the model loads
    app = create_app(open_model(args.run), max_upload_bytes=int(args.max_upload_mb * 1024 * 1024), device=args.device)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}: anyone who can reach this machine can use the page")
    port = listening.getsockname()[1]
    where = f"[{args.host}]" if ":" in args.host else args.host
    print(f"Serving {args.run} on http://{where}:{port} (Ctrl+C stops)", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[listening])
    return 0


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port) before the server starts, so that --port 0's free port is
    known (and printed) and a taken port is a clear error instead of a server that exits."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = socket.socket(family, socket.SOCK_STREAM)
    except OSError as error:
        raise CommandError(f"cannot listen on {host}: {error.strerror or error}",
                           hint="give --host an address of this machine, e.g. 127.0.0.1") from error
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind((host, port))
    except OSError as error:
        listening.close()
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror or error}",
                           hint="choose another --port, or --port 0 for a free one") from error
    return listening
