"""The `convscope` command line.

Each subcommand lives in its own module `convscope.cli.<name>` exposing
`register(subparsers)`, which adds an argparse parser whose default `func(args)` runs it.
Modules import torch and matplotlib inside `func`, never at import time, so that
`convscope --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convscope.runs import Run

COMMANDS = (
    "train", "evaluate", "predict", "summary", "data", "explain",
    "export", "serve", "bench", "demo",
)


class CommandError(Exception):
    """A user-facing failure: printed as one line, then any `details` lines as they are (e.g.
    every place a dataset was looked for), then an optional hint."""

    def __init__(self, message: str, hint: str | None = None, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.hint = hint
        self.details = list(details)


def open_model(source: str, **options: Any) -> Run:
    """The model `source` names (see `convscope.runs.resolve_model`); says on stderr which it is."""
    from convscope.runs import resolve_model

    run = resolve_model(source, **options)
    print(f"model: {run.description}", file=sys.stderr, flush=True)
    return run


def dataset_not_found(name: str, error: Exception) -> CommandError:
    """The CLI's form of a `DatasetNotFoundError`: every place looked and how to provide the
    files, as the data package wrote them for dataset `name`, then the command's own option."""
    return CommandError(f"dataset {name!r} not found. Looked in, in order:",
                        hint=f"or pass --path DIR, a folder holding the {name} files",
                        details=str(error).splitlines()[1:])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convscope",
        description="Build, train, explain and ship convolutional neural networks.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if importlib.util.find_spec(f"convscope.cli.{name}") is None:
            continue
        importlib.import_module(f"convscope.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("convscope: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `convscope summary seed-cnn | head`
        sys.stdout = None  # type: ignore[assignment]  # nothing more can be written; exit quietly
        return 0
    except (CommandError, ValueError, FileNotFoundError, OSError, KeyError) as error:
        if args.debug:
            raise
        report_error(args.command, error)
        return 1


def report_error(command: str, error: Exception) -> None:
    """The error on stderr: one line, its details, a hint, and how to see the traceback."""
    message = str(error).strip() or type(error).__name__
    print(f"convscope {command}: error: {message.splitlines()[0]}", file=sys.stderr)
    for line in getattr(error, "details", ()):
        print(line, file=sys.stderr)
    hint = getattr(error, "hint", None)
    rest = message.splitlines()[1:]
    if hint or rest:
        print(f"hint: {hint or ' '.join(line.strip() for line in rest)}", file=sys.stderr)
    print("(run with --debug for the full traceback)", file=sys.stderr)
