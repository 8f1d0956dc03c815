"""Training progress: a live bar with ETA, throughput and metrics on a terminal (or in a
notebook), exactly one plain line per epoch anywhere else, so logs never fill with bars."""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Mapping
from typing import IO, Any

from convscope.engine.callbacks import Callback, shown_value


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
    """'loss: 0.3120 - accuracy: 0.9000'; a vector value shows its mean, as Keras's bar does."""
    return " - ".join(f"{key}: {shown_value(value):.4f}" for key, value in logs.items() if key != "learning_rate")


class ProgressLogger(Callback):
    """Prints training progress. verbose: 0 silent, 1 live bar, 2 one line per epoch."""

    refresh_seconds = 0.2

    def __init__(self, verbose: int, stream: IO[str] | None = None) -> None:
        self.verbose, self.stream = verbose, stream or sys.stdout
        self.progress: Any = None

    def on_train_begin(self, logs: Mapping[str, float] | None = None) -> None:
        self.epochs, self.steps = self.params["epochs"], self.params["steps"]
        self.samples: int = self.fit_state.samples or 0  # a source's: set from its first batch

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        self.epoch_start = self.last_refresh = time.perf_counter()
        if self.verbose != 1:
            return
        if in_notebook():  # rich's live display needs ipywidgets there; a display handle does not
            self.progress = NotebookBar(f"Epoch {epoch + 1}/{self.epochs}", self.steps)
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
        seen = min((batch + 1) * (self.fit_state.batch_size or 0), self.samples)
        speed = f"{seen / max(now - self.epoch_start, 1e-9):,.0f} img/s"
        if isinstance(self.progress, NotebookBar):
            self.progress.show(batch + 1, now - self.epoch_start, speed, format_metrics(logs or {}))
            return
        self.progress.update(self.task, completed=batch + 1, speed=speed, metrics=format_metrics(logs or {}))
        self.progress.refresh()

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        bar, self.progress = self.progress, None
        if bar is not None and not isinstance(bar, NotebookBar):
            bar.stop()
        if self.verbose == 0:
            return
        seconds = time.perf_counter() - self.epoch_start
        speed = self.samples / max(seconds, 1e-9)
        line = f"Epoch {epoch + 1}/{self.epochs} - {seconds:.1f}s - {speed:,.0f} img/s - {format_metrics(logs or {})}"
        if isinstance(bar, NotebookBar):  # the bar becomes the epoch's line: one output per epoch
            bar.finish(line)
            return
        print(line, file=self.stream, flush=True)

    def on_train_end(self, logs: Mapping[str, float] | None = None) -> None:
        if self.progress is not None and not isinstance(self.progress, NotebookBar):
            self.progress.stop()
        self.progress = None


class NotebookBar:
    """A progress line in a notebook, redrawn in place through an IPython display handle."""

    def __init__(self, label: str, total: int) -> None:
        from IPython.display import display

        self.label, self.total = label, max(int(total), 1)
        self.handle = display(self.bundle(0, 0.0, "", ""), raw=True, display_id=True)

    def bundle(self, done: int, seconds: float, speed: str, metrics: str) -> dict[str, str]:
        """The same line as plain text and as HTML with a <progress> bar."""
        left = seconds / done * (self.total - done) if done else 0.0
        eta = f"ETA {left:.0f}s" if done < self.total else f"{seconds:.1f}s"
        tail = " - ".join(part for part in (f"{done}/{self.total}", eta, speed, metrics) if part)
        filled = round(30 * done / self.total)
        text = f"{self.label} [{'=' * filled}{'.' * (30 - filled)}] {tail}"
        markup = (f"<code>{html.escape(self.label)}</code> <progress value='{done}' max='{self.total}' "
                  f"style='width:16em'></progress> <code>{html.escape(tail)}</code>")
        return {"text/plain": text, "text/html": markup}

    def show(self, done: int, seconds: float, speed: str, metrics: str) -> None:
        if self.handle is not None:
            self.handle.update(self.bundle(done, seconds, speed, metrics), raw=True)

    def finish(self, line: str) -> None:
        if self.handle is not None:
            self.handle.update({"text/plain": line, "text/html": f"<code>{html.escape(line)}</code>"}, raw=True)

