"""Training progress: a live bar with ETA, throughput and metrics on a terminal (or in a
notebook), exactly one plain line per epoch anywhere else, so logs never fill with bars."""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Mapping
from typing import IO, Any

from convscope.engine.callbacks import Callback, History


def in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        return bool(shell) and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - any failure means: not a notebook
        return False


def resolve_verbose(verbose: int | str, stream: IO[str] | None = None) -> int:
    """'auto' -> 1 (live bar) on a terminal or notebook, 2 (a line per epoch) otherwise.
    A live bar requested where there is no terminal also becomes a line per epoch."""
    stream = stream or sys.stdout
    live = in_notebook() or (hasattr(stream, "isatty") and stream.isatty())
    if verbose == "auto":
        return 1 if live else 2
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto'; got {verbose!r}.")
    return 2 if verbose == 1 and not live else int(verbose)


def format_metrics(logs: Mapping[str, float]) -> str:
    return " - ".join(f"{key}: {value:.4f}" for key, value in logs.items() if key != "learning_rate")


class ProgressLogger(Callback):
    """Prints training progress. verbose: 0 silent, 1 live bar, 2 one line per epoch."""

    refresh_seconds = 0.2

    def __init__(self, verbose: int, stream: IO[str] | None = None) -> None:
        self.verbose, self.stream = verbose, stream or sys.stdout
        self.progress: Any = None

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.epochs, self.steps = self.params["epochs"], self.params["steps"]
        self.samples = self.params["samples"]

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.epoch_start = self.last_refresh = time.perf_counter()
        if self.verbose != 1:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(file=self.stream, force_jupyter=in_notebook() or None)
        self.progress = Progress(
            TextColumn(f"Epoch {epoch + 1}/{self.epochs}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), TextColumn("{task.fields[speed]}"), TextColumn("{task.fields[metrics]}"),
            console=console, transient=True, auto_refresh=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=self.steps, speed="", metrics="")

    def on_train_batch_end(self, batch: int, logs: Mapping[str, float] | None = None) -> None:
        if self.progress is None:
            return
        now = time.perf_counter()
        if now - self.last_refresh < self.refresh_seconds and batch + 1 < self.steps:
            return
        self.last_refresh = now
        seen = min((batch + 1) * self.params["batch_size"], self.samples)
        speed = f"{seen / max(now - self.epoch_start, 1e-9):,.0f} img/s"
        self.progress.update(self.task, completed=batch + 1, speed=speed, metrics=format_metrics(logs or {}))
        self.progress.refresh()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
        if self.verbose == 0:
            return
        seconds = time.perf_counter() - self.epoch_start
        speed = self.samples / max(seconds, 1e-9)
        line = f"Epoch {epoch + 1}/{self.epochs} - {seconds:.1f}s - {speed:,.0f} img/s - {format_metrics(logs or {})}"
        print(line, file=self.stream, flush=True)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def history_html(history: History) -> str:
    """A small HTML table of a History, one row per epoch (for notebooks)."""
    keys = list(history.history)
    head = "".join(f"<th>{html.escape(key)}</th>" for key in ["epoch", *keys])
    rows = "".join(
        "<tr><td>{}</td>{}</tr>".format(
            epoch + 1, "".join(f"<td>{history.history[key][i]:.4f}</td>" for key in keys))
        for i, epoch in enumerate(history.epoch))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
