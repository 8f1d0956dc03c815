"""Keras's `keras.utils.Progbar`: a text progress bar with an ETA, the time per step and
running means of metrics, printed on standard output exactly as Keras 3 prints it
(`get_file` shows downloads with it).

>>> bar = Progbar(target=3)
>>> for step in range(3):
...     bar.update(step + 1, values=[("loss", 0.5)])
3/3 ━━━━━━━━━━━━━━━━━━━━ 0s 1ms/step - loss: 0.5000
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterable

import numpy as np


def _write(message: str) -> None:
    sys.stdout.write(message)
    sys.stdout.flush()


def format_time(time_per_unit: float, unit_name: str) -> str:
    """" 2s/step", " 15ms/step" or " 40us/step", as Keras formats a step's duration."""
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1000.0:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1000000.0:.0f}us/{unit_name}"


def format_eta(eta: float) -> str:
    if eta > 3600:
        return f"{int(eta // 3600)}:{int((eta % 3600) // 60):02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{int(eta)}s"


class Progbar:
    """A progress bar over `target` steps (None when unknown).

    Args:
        target: the number of steps, or None.
        width: the bar's width in characters.
        verbose: 0 silent, 1 a bar redrawn in place, 2 one line when the target is reached.
        interval: the least seconds between two redraws.
        stateful_metrics: names of values shown as given; the others are averaged over steps.
        unit_name: what a step is called ("step", "sample", ...).

    Raises:
        ValueError: `target` not a non-negative integer or None, `width` not a positive integer,
            or `verbose` not 0, 1 or 2.
    """

    def __init__(self, target: int | None, width: int = 20, verbose: int = 1, interval: float = 0.05,
                 stateful_metrics: Iterable[str] | None = None, unit_name: str = "step") -> None:
        if target is not None and (not isinstance(target, (int, np.integer)) or isinstance(target, bool)
                                   or target < 0):
            raise ValueError(f"Progbar: `target` must be a non-negative integer or None; got {target!r}.")
        if not isinstance(width, int) or isinstance(width, bool) or width <= 0:
            raise ValueError(f"Progbar: `width` must be a positive integer; got {width!r}.")
        if verbose not in (0, 1, 2):
            raise ValueError(f"Progbar: `verbose` must be 0, 1 or 2; got {verbose!r}.")
        self.target, self.width, self.verbose = target, width, verbose
        self.interval, self.unit_name = interval, unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        # Keras redraws in place on any POSIX system (its test is `"posix" in sys.modules`)
        self._dynamic_display = ((hasattr(sys.stdout, "isatty") and sys.stdout.isatty())
                                 or "ipykernel" in sys.modules or "posix" in sys.modules
                                 or "PYCHARM_HOSTED" in os.environ)
        self._seen_so_far = 0
        self._values: dict[str, list[float]] = {}  # name -> [sum of value * steps, steps]
        self._values_order: list[str] = []
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first_step: float | None = None
        self._prev_total_width = 0

    def update(self, current: int, values: Iterable[tuple[str, float]] | None = None,
               finalize: bool | None = None) -> None:
        """Show step `current`; `values` are `(name, value_for_this_step)` pairs.

        `finalize` (default: `current >= target`) ends the bar with a newline.
        """
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._record(current, values or [], finalize)
        now = time.time()
        time_per_unit = self._estimate_step_duration(current, now)
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            self._draw_bar(current, now, time_per_unit, finalize)
        elif self.verbose == 2 and finalize and self.target:
            count = f"%{int(math.log10(self.target)) + 1}d/%d" % (current, self.target)
            info = f"{count} - {now - self._start:.0f}s -{format_time(time_per_unit, self.unit_name)}"
            for name in self._values_order:
                total, steps = self._values[name]
                average = total / max(1, steps)
                info += f" - {name}: {average:.4f}" if average > 1e-3 else f" - {name}: {average:.4e}"
            _write(info + "\n")
        self._last_update = now

    def add(self, n: int, values: Iterable[tuple[str, float]] | None = None) -> None:
        """Advance the bar by `n` steps."""
        self.update(self._seen_so_far + n, values)

    def _record(self, current: int, values: Iterable[tuple[str, float]], finalize: bool) -> None:
        for name, value in values:
            if name not in self._values_order:
                self._values_order.append(name)
            value = float(np.mean(value))  # an array shows as its mean
            if name in self.stateful_metrics or finalize:
                self._values[name] = [value, 1]
                continue
            steps = max(current - self._seen_so_far, 1)
            total = self._values.setdefault(name, [0.0, 0])
            total[0] += value * steps
            total[1] += steps
        self._seen_so_far = current

    def _draw_bar(self, current: int, now: float, time_per_unit: float, finalize: bool) -> None:
        message = "\b" * self._prev_total_width + "\r" if self._dynamic_display else "\n"
        hidden = 0  # characters of colour codes, which take no room on screen
        if self.target:
            count = f"%{int(math.log10(self.target)) + 1}d/%d" % (current, self.target)
            bar = f"\x1b[1m{count}\x1b[0m "
            filled = int(self.width * float(current) / self.target)
            if filled > 0:
                bar += f"\33[32m{'━' * filled}\x1b[0m"
                hidden += 9
            bar += f"\33[37m{'━' * (self.width - filled)}\x1b[0m"
            hidden += 17
        else:
            bar = f"{int(current):7d}/Unknown"
        if self.target and not finalize:
            info = f" \x1b[1m{format_eta(time_per_unit * (self.target - current))}\x1b[0m"
        else:
            info = f" \x1b[1m{now - self._start:.0f}s\x1b[0m"
        hidden += 8
        info += format_time(time_per_unit, self.unit_name)
        for name in self._values_order:
            total, steps = self._values[name]
            average = total / max(1, steps)
            info += f" - {name}: {average:.4f}" if abs(average) > 1e-3 else f" - {name}: {average:.4e}"
        total_width = len(bar) + len(info) - hidden
        message += bar + info
        if self._prev_total_width > total_width:
            message += " " * (self._prev_total_width - total_width)
        _write(message + ("\n" if finalize else ""))
        self._prev_total_width = total_width

    def _estimate_step_duration(self, current: int, now: float) -> float:
        """Seconds per step, leaving out the first step (often slow) once there are more."""
        if not current:
            return 0.0
        if self._time_after_first_step is not None and current > 1:
            time_per_unit = (now - self._time_after_first_step) / (current - 1)
        else:
            time_per_unit = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return time_per_unit
