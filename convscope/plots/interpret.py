"""Pictures of interpretation results: confusion matrix, per-class accuracy, top losses,
saliency maps and training curves. Each `plot_*` function writes one PNG atomically and returns
its path; `saliency_figure` and `training_curves_figure` return the Figure instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from convscope.plots._figures import (
    add_colorbar,
    describe,
    grid_shape,
    hide_axes,
    new_figure,
    pyplot,
    save_figure,
    set_title,
)

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


def saliency_title(saliency: Any) -> str:
    """E.g. "Grad-CAM for class 'Sandal' from 'conv2d_1' (logit 6.22, probability 97.1%)"."""
    label = "Grad-CAM" if saliency.method == "grad_cam" else "Gradient saliency"
    where = f" from '{saliency.layer}'" if saliency.layer else ""
    described = getattr(saliency, "score_text", f"logit {saliency.score:.3g}")
    return f"{label} for class '{getattr(saliency, 'label', saliency.target)}'{where} ({described})"


def _saliency_caption(saliency: Any) -> str:
    kind = getattr(saliency, "score_kind", "logit")
    name = getattr(saliency, "label", saliency.target)
    if saliency.method == "grad_cam":
        return (f"Bright = the places whose features in '{saliency.layer}' raised the {kind} of class "
                f"'{name}' most (scaled so the strongest is 1); dark = no evidence for it.")
    return (f"Bright = pixels where a small change moves the {kind} of class '{name}' most "
            f"(|gradient|, largest over colour channels); dark = little effect.")


def saliency_figure(saliency: Any) -> Any:
    """The figure `plot_saliency` writes (a matplotlib Figure, not yet saved)."""
    example = np.asarray(saliency.example, dtype=np.float64)
    heatmap = np.asarray(saliency.heatmap, dtype=np.float64)
    bar_label = "relevance (0..1)" if saliency.method == "grad_cam" else "|gradient|"
    if heatmap.ndim == 1:
        figure = new_figure(8, 4.4)
        axes = figure.subplots(2, 1, sharex=True)
        axes[0].plot(example.reshape(example.shape[0], -1), linewidth=1)
        axes[0].set_title("input", fontsize=9)
        axes[1].fill_between(np.arange(heatmap.size), heatmap, color="tab:red", alpha=0.6)
        axes[1].set_ylabel(bar_label, fontsize=8)
        axes[1].set_xlabel("position")
    else:
        figure = new_figure(10, 3.9)
        axes = figure.subplots(1, 3)
        for panel in axes:
            hide_axes(panel)
        _draw_example(axes[0], example)
        axes[0].set_title("input", fontsize=9)
        image = axes[1].imshow(heatmap, cmap="inferno", vmin=0)
        axes[1].set_title("heatmap", fontsize=9)
        _draw_example(axes[2], example)
        axes[2].imshow(heatmap, cmap="inferno", alpha=0.5, vmin=0)
        axes[2].set_title("heatmap over the input", fontsize=9)
        add_colorbar(figure, image, list(axes[1:]), bar_label)
    describe(figure, saliency_title(saliency), _saliency_caption(saliency), width=120)
    return figure


def plot_saliency(saliency: Any, path: PathLike) -> Path:
    """Input, heatmap (with a colour bar), and heatmap over the input (for signals: the signal
    with the heatmap), titled with the class name and the score in words (logit or probability)."""
    return save_figure(saliency_figure(saliency), path)


METRIC_TITLES = {"loss": "Loss (lower is better)", "accuracy": "Accuracy (higher is better)",
                 "learning_rate": "Learning rate", "lr": "Learning rate"}


def _epoch_axis(axes: Any, epochs: list[int]) -> None:
    """Whole epochs only, with half an epoch of margin (one epoch is not a 0.95..1.05 axis)."""
    from matplotlib.ticker import MaxNLocator

    axes.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    if len(epochs) <= 12:
        axes.set_xticks(epochs)
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")


def training_curves_figure(curves: Any) -> Any:
    """The figure `plot_training_curves` writes (a matplotlib Figure, not yet saved)."""
    metrics = list(curves.curves)
    figure = new_figure(4.2 * len(metrics), 3.6)
    grid = figure.subplots(1, len(metrics), squeeze=False)
    single = len(curves.epochs) == 1
    for axes, metric in zip(grid[0], metrics, strict=True):
        for split, values in curves.curves[metric].items():
            epochs = curves.epochs[:len(values)]
            axes.plot(epochs, values, marker="o", markersize=5 if len(epochs) <= 20 else 2.5, linewidth=1.5,
                      label=split)
            if single:
                axes.annotate(f"{values[0]:.4g}", (epochs[0], values[0]), textcoords="offset points",
                              xytext=(8, 0), va="center", fontsize=8)
        _epoch_axis(axes, curves.epochs)
        axes.set_title(METRIC_TITLES.get(metric, metric.replace("_", " ")), fontsize=10)
        axes.legend(fontsize=8)
        axes.grid(alpha=0.3)
    count = len(curves.epochs)
    caption = ("After one epoch each curve is a single point: train again with more --epochs to see a trend."
               if single else "One point per epoch: training set and, where recorded, the validation set.")
    describe(figure, f"Training curves ({count} epoch{'s' if count != 1 else ''})", caption)
    return figure


def plot_training_curves(curves: Any, path: PathLike) -> Path:
    """One panel per metric with its training and validation values per epoch: markers joined by
    lines on a whole-epoch axis, so that 1 epoch and 50 both read well.

    Args:
        curves: a `TrainingCurves` (from `training_curves(history)`).
    """
    return save_figure(training_curves_figure(curves), path)
