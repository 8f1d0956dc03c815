"""Numbers and positions as the worked examples write them."""

from __future__ import annotations

import numpy as np


def number(value: float) -> str:
    """A value as the worked examples write it: 577, 0.5, -1.5, 0.1235."""
    value = float(value)
    if not np.isfinite(value) or value != int(value) or abs(value) >= 1e6:
        return f"{value:.4g}"
    return str(int(value))


def position_text(position: tuple[int, ...] | None) -> str:
    """A position as the text writes it: (3, 5), or (3) for a signal."""
    return "none" if position is None else "(" + ", ".join(str(p) for p in position) + ")"


def count_text(count: int, noun: str) -> str:
    """A count with its noun: "1 value", "4 values"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
