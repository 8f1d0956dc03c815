"""Pictures of interpretation results: confusion matrix, per-class accuracy, top losses,
saliency maps and training curves. Each function writes one PNG atomically and returns its path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from convscope.plots._figures import grid_shape, hide_axes, pyplot, save_figure, set_title

PathLike = str | os.PathLike[str]


def plot_confusion_matrix(interpretation: Any, path: PathLike, normalize: bool = False) -> Path:
    """Counts (or row shares) with actual classes down and predicted classes across."""
    plt = pyplot()
    matrix = interpretation.confusion_matrix().astype(np.float64)
    if normalize:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    names = interpretation.class_names
    size = max(4.0, 0.55 * len(names) + 2)
    figure, axes = plt.subplots(figsize=(size, size))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(names)), names, rotation=90 if max(map(len, names)) > 3 else 0)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("actual")
    threshold = matrix.max() / 2 if matrix.size else 0
    for (i, j), value in np.ndenumerate(matrix):
        axes.text(j, i, f"{value:.2f}" if normalize else f"{int(value)}", ha="center", va="center",
                  fontsize=7, color="white" if value > threshold else "black")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04)
    axes.set_title(f"Confusion matrix (accuracy {interpretation.accuracy:.3f})")
    return save_figure(figure, path)


def plot_per_class_accuracy(interpretation: Any, path: PathLike) -> Path:
    """One bar per class: the share of its examples predicted correctly."""
    plt = pyplot()
    values = interpretation.per_class_accuracy()
    names = interpretation.class_names
    figure, axes = plt.subplots(figsize=(max(4.0, 0.5 * len(names) + 2), 3.2))
    axes.bar(range(len(names)), np.nan_to_num(values), color="tab:green")
    axes.set_xticks(range(len(names)), names, rotation=90 if max(map(len, names)) > 3 else 0)
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("accuracy")
    axes.set_title("Per-class accuracy")
    return save_figure(figure, path)


def plot_top_losses(interpretation: Any, examples: Any, path: PathLike, k: int = 9) -> Path:
    """The `k` worst examples, titled 'actual / predicted', then 'loss / p(actual)'.

    Args:
        examples: the inputs (N, H, W, C) or (N, L, C) in the interpretation's order.
    """
    plt = pyplot()
    tops = interpretation.top_losses(k)
    rows, columns = grid_shape(len(tops), max_columns=3 if len(tops) <= 9 else 5)
    figure, grid = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.9 * rows), squeeze=False)
    names = interpretation.class_names
    data = np.asarray(examples)
    for axes, top in zip(grid.flat, tops, strict=False):
        _draw_example(axes, data[top.index])
        axes.set_title(f"{names[top.actual]} / {names[top.predicted]}\n"
                       f"{top.loss:.2f} / {top.actual_probability:.3g}", fontsize=8)
    for axes in list(grid.flat)[len(tops):]:
        axes.axis("off")
    set_title(figure, "actual / predicted\nloss / probability of actual", fontsize=9)
    return save_figure(figure, path)


def _draw_example(axes: Any, example: np.ndarray) -> None:
    """An image (H, W, C) as a picture, a signal (L, C) as lines."""
    values = np.asarray(example, dtype=np.float64)
    if values.ndim == 3:
        hide_axes(axes)
        shown = values[..., 0] if values.shape[-1] == 1 else (values - values.min()) / (np.ptp(values) or 1)
        axes.imshow(shown, cmap="gray" if values.shape[-1] == 1 else None)
    else:
        axes.plot(values.reshape(values.shape[0], -1), linewidth=1)
        axes.tick_params(labelsize=6)


def plot_saliency(saliency: Any, path: PathLike) -> Path:
    """Input, heatmap, and heatmap over the input (for signals: the signal with the heatmap)."""
    plt = pyplot()
    example = np.asarray(saliency.example, dtype=np.float64)
    heatmap = np.asarray(saliency.heatmap, dtype=np.float64)
    label = "Grad-CAM" if saliency.method == "grad_cam" else "gradient saliency"
    where = f" from '{saliency.layer}'" if saliency.layer else ""
    if heatmap.ndim == 1:
        figure, axes = plt.subplots(2, 1, figsize=(8, 4), sharex=True)
        axes[0].plot(example.reshape(example.shape[0], -1), linewidth=1)
        axes[0].set_title("input")
        axes[1].fill_between(np.arange(heatmap.size), heatmap, color="tab:red", alpha=0.6)
        axes[1].set_title(label)
    else:
        figure, axes = plt.subplots(1, 3, figsize=(9, 3.4))
        for panel in axes:
            hide_axes(panel)
        _draw_example(axes[0], example)
        axes[0].set_title("input", fontsize=9)
        axes[1].imshow(heatmap, cmap="inferno")
        axes[1].set_title(label, fontsize=9)
        _draw_example(axes[2], example)
        axes[2].imshow(heatmap, cmap="jet", alpha=0.45)
        axes[2].set_title("overlay", fontsize=9)
    set_title(figure, f"{label} for class {saliency.target}{where} (score {saliency.score:.3g})", fontsize=10)
    return save_figure(figure, path)


def plot_training_curves(curves: Any, path: PathLike) -> Path:
    """One panel per metric with its training and validation curves per epoch.

    Args:
        curves: a `TrainingCurves` (from `training_curves(history)`).
    """
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    metrics = list(curves.curves)
    figure, grid = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.3), squeeze=False)
    for axes, metric in zip(grid[0], metrics, strict=True):
        for split, values in curves.curves[metric].items():
            axes.plot(curves.epochs[:len(values)], values, marker="o", markersize=3, label=split)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(metric)
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
    set_title(figure, "Training curves", fontsize=10)
    return save_figure(figure, path)
