"""Plots of a dataset: samples per class, the class distribution, 1D signals per class.

Each function returns a matplotlib `Figure` (built without pyplot, rendered by Agg) and, when
`path` is given, also writes it as a PNG atomically (temp file in the same folder, then rename).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from convscope._atomic import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PathLike = str | os.PathLike[str]


def new_figure(width: float, height: float) -> Figure:
    """A figure attached to an Agg canvas, independent of pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, path: PathLike, dpi: int = 100) -> Path:
    """Write `figure` as a PNG: rendered into a temp file beside `path`, then renamed."""
    with atomic_path(path, suffix=".png") as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)
    return Path(path)


def _labels(y: np.ndarray) -> np.ndarray:
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] > 1:  # one-hot
        return labels.argmax(axis=1)
    return labels.reshape(len(labels))


def _names(labels: np.ndarray, class_names: Sequence[str] | None) -> list[str]:
    count = int(labels.max()) + 1 if labels.size else 0
    if class_names is not None:
        return list(class_names) + [str(i) for i in range(len(class_names), count)]
    return [str(i) for i in range(count)]


def plot_samples(
    x: np.ndarray, y: np.ndarray, *, class_names: Sequence[str] | None = None,
    samples_per_class: int = 5, seed: int | None = 0, title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """A grid with one row per class and `samples_per_class` random images in each row.

    Args:
        x: images (N, H, W), (N, H, W, 1) or (N, H, W, 3); any numeric dtype.
        y: labels (N,) or one-hot (N, C).
        class_names: row titles (index = label).
        seed: seed of the random choice of samples.
        path: also write the figure there as a PNG.
    """
    images, labels = np.asarray(x), _labels(y)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or len(images) != len(labels):
        raise ValueError(f"plot_samples: expected images (N, H, W[, C]) and N labels; got "
                         f"{np.shape(x)} and {len(labels)} labels.")
    names = _names(labels, class_names)
    rng = np.random.default_rng(seed)
    figure = new_figure(1.1 * samples_per_class + 1.6, 1.1 * len(names) + 0.4)
    axes = figure.subplots(len(names), samples_per_class, squeeze=False)
    low, high = float(images.min()), float(images.max())
    for label, row in enumerate(axes):
        members = np.flatnonzero(labels == label)
        chosen = rng.choice(members, size=min(samples_per_class, len(members)), replace=False)
        for column, axis in enumerate(row):
            axis.set_xticks([]), axis.set_yticks([])
            if column < len(chosen):
                _show_image(axis, images[chosen[column]], low, high)
        row[0].set_ylabel(names[label], rotation=0, ha="right", va="center", fontsize=10)
    figure.suptitle(title or f"{samples_per_class} samples per class")
    if path is not None:
        save_figure(figure, path)
    return figure


def _show_image(axis: object, image: np.ndarray, low: float, high: float) -> None:
    if image.ndim == 2:
        axis.imshow(image, cmap="gray", vmin=low, vmax=high, interpolation="nearest")  # type: ignore[attr-defined]
    else:
        scaled = image if image.dtype == np.uint8 else (image - low) / ((high - low) or 1.0)
        axis.imshow(scaled, interpolation="nearest")  # type: ignore[attr-defined]


def plot_class_distribution(
    y: np.ndarray, *, class_names: Sequence[str] | None = None, title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """Bar chart of the number of samples of each class, with the count above each bar."""
    labels = _labels(y)
    names = _names(labels, class_names)
    counts = np.bincount(labels.astype(np.int64), minlength=len(names))
    figure = new_figure(max(6.0, 0.8 * len(names) + 1.5), 4.0)
    axis = figure.subplots()
    bars = axis.bar(np.arange(len(names)), counts, color="#4C72B0")
    axis.bar_label(bars, labels=[str(count) for count in counts], fontsize=8)
    axis.set_xticks(np.arange(len(names)), names, rotation=30 if max(map(len, names)) > 3 else 0, ha="right" if max(map(len, names)) > 3 else "center")
    axis.set_xlabel("class")
    axis.set_ylabel("number of samples")
    axis.set_title(title or f"Class distribution ({len(labels)} samples)")
    if path is not None:
        save_figure(figure, path)
    return figure


def plot_signals(
    x: np.ndarray, y: np.ndarray, *, class_names: Sequence[str] | None = None,
    signals_per_class: int = 3, seed: int | None = 0, title: str | None = None,
    path: PathLike | None = None,
) -> Figure:
    """One panel per class with a few of its 1D signals (or spectra) overlaid.

    Args:
        x: signals (N, L) or (N, L, 1); y: labels (N,) or one-hot (N, C).
    """
    signals, labels = np.asarray(x), _labels(y)
    if signals.ndim == 3 and signals.shape[-1] == 1:
        signals = signals[..., 0]
    if signals.ndim != 2 or len(signals) != len(labels):
        raise ValueError(f"plot_signals: expected signals (N, L) or (N, L, 1) and N labels; got "
                         f"{np.shape(x)} and {len(labels)} labels.")
    names = _names(labels, class_names)
    columns = min(5, len(names))
    rows = -(-len(names) // columns)
    figure = new_figure(2.6 * columns, 1.9 * rows + 0.5)
    axes = np.atleast_1d(figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False)).ravel()
    rng = np.random.default_rng(seed)
    positions = np.arange(signals.shape[1])
    for label, axis in enumerate(axes):
        if label >= len(names):
            axis.set_axis_off()
            continue
        members = np.flatnonzero(labels == label)
        for index in rng.choice(members, size=min(signals_per_class, len(members)), replace=False):
            axis.plot(positions, signals[index], linewidth=1.2)
        axis.set_title(names[label], fontsize=10)
    figure.supxlabel("position")
    figure.supylabel("value")
    figure.suptitle(title or f"{signals_per_class} signals per class")
    if path is not None:
        save_figure(figure, path)
    return figure
