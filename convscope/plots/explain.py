"""Pictures of what `convscope.explain` computes: feature maps, filters, edge filters, conv steps.

Every function takes the plain data an explain function returned, writes one PNG atomically and
returns its path. Images are drawn as images; 1-D signals are drawn as lines.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from convscope.plots._figures import grid_shape, hide_axes, pyplot, save_figure, set_title

PathLike = str | os.PathLike[str]


def plot_feature_maps(layer_maps: Any, path: PathLike, max_channels: int = 32) -> Path:
    """One layer's output as a grid: one image per channel (2-D), one line per channel (1-D),
    or a bar per unit (a flat vector).

    Args:
        layer_maps: a `LayerMaps` (maps (H, W, C), (L, C) or (units,)).
        max_channels: channels drawn at most (the first ones).
    """
    plt = pyplot()
    maps = np.asarray(layer_maps.maps, dtype=np.float64)
    title = f"{layer_maps.kind} '{layer_maps.layer}' output {tuple(maps.shape)}"
    if maps.ndim <= 1:
        figure, axes = plt.subplots(figsize=(max(4.0, min(12.0, 0.12 * maps.size + 2)), 2.8))
        axes.bar(np.arange(maps.size), maps.reshape(-1), color="tab:blue")
        axes.set_xlabel("unit")
        axes.set_title(title)
        return save_figure(figure, path)
    channels = min(maps.shape[-1], max_channels)
    rows, columns = grid_shape(channels)
    if maps.ndim == 2:
        figure, grid = plt.subplots(rows, columns, figsize=(2.2 * columns, 1.5 * rows), squeeze=False)
        for channel, axes in enumerate(grid.flat):
            if channel < channels:
                axes.plot(maps[:, channel], color="tab:blue", linewidth=1)
                axes.set_title(f"channel {channel}", fontsize=7)
                axes.tick_params(labelsize=6)
            else:
                axes.axis("off")
    else:
        figure, grid = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.7 * rows), squeeze=False)
        for channel, axes in enumerate(grid.flat):
            hide_axes(axes)
            if channel < channels:
                axes.imshow(maps[..., channel], cmap="viridis")
                axes.set_title(f"{channel}", fontsize=7)
            else:
                axes.axis("off")
    shown = "" if channels == maps.shape[-1] else f" (first {channels} of {maps.shape[-1]} channels)"
    set_title(figure, title + shown, fontsize=9)
    return save_figure(figure, path)


def plot_all_feature_maps(all_maps: Sequence[Any], folder: PathLike, max_channels: int = 32) -> list[Path]:
    """One PNG per layer, named '<index>_<layer>.png' inside `folder`."""
    return [plot_feature_maps(maps, Path(folder) / f"{maps.index:02d}_{maps.layer}.png", max_channels)
            for maps in all_maps]


def plot_filters(filters: Any, path: PathLike, max_filters: int = 64) -> Path:
    """A conv layer's filters: 2-D kernels as small images (the first input channel, or RGB for
    3 input channels), 1-D kernels as lines (one per input channel).

    Args:
        filters: a `LearnedFilters` (kernel (kh, kw, C_in, C_out) or (k, C_in, C_out)).
    """
    plt = pyplot()
    kernel = np.asarray(filters.kernel, dtype=np.float64)
    count = min(kernel.shape[-1], max_filters)
    rows, columns = grid_shape(count)
    figure, grid = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.6 * rows), squeeze=False)
    limit = float(np.abs(kernel).max()) or 1.0
    for index, axes in enumerate(grid.flat):
        if index >= count:
            axes.axis("off")
            continue
        one = kernel[..., index]
        if kernel.ndim == 3:
            for channel in range(min(one.shape[-1], 8)):
                axes.plot(one[:, channel], marker="o", markersize=2, linewidth=1)
            axes.axhline(0, color="grey", linewidth=0.5)
            axes.tick_params(labelsize=5)
        else:
            hide_axes(axes)
            if one.shape[-1] == 3:  # colour filters: each channel scaled into [0, 1] together
                axes.imshow((one - one.min()) / (np.ptp(one) or 1.0))
            else:
                axes.imshow(one[..., 0], cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_title(f"{index}", fontsize=7)
    note = "input channel 0" if kernel.ndim == 4 and kernel.shape[2] not in (1, 3) else ""
    set_title(figure, f"{filters.kind} '{filters.layer}' filters {tuple(kernel.shape)} {note}".strip(), fontsize=9)
    return save_figure(figure, path)


def plot_edge_demo(demo: Any, path: PathLike) -> Path:
    """One row per kernel: the input, the kernel, the filtered result after ReLU, the pooled one.

    Args:
        demo: an `EdgeDemo` (2-D image or 1-D signal).
    """
    plt = pyplot()
    names = list(demo.kernels)
    figure, grid = plt.subplots(len(names), 4, figsize=(11, 2.7 * len(names)), squeeze=False)
    for row, name in zip(grid, names, strict=True):
        panels = [("input", demo.image), (f"'{name}' kernel", demo.kernels[name]),
                  (f"after filter + ReLU {demo.activated[name].shape}", demo.activated[name]),
                  (f"after {demo.pool_size}x max pool {demo.pooled[name].shape}", demo.pooled[name])]
        for axes, (title, values) in zip(row, panels, strict=True):
            if demo.rank == 1:
                axes.plot(values, marker="o" if values.size <= 9 else None, linewidth=1)
                axes.tick_params(labelsize=6)
            else:
                hide_axes(axes)
                kernel_panel = values.shape == demo.kernels[name].shape and title.endswith("kernel")
                limit = float(np.abs(values).max()) or 1.0
                if kernel_panel:
                    axes.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
                    for (i, j), value in np.ndenumerate(values):
                        axes.text(j, i, f"{value:g}", ha="center", va="center", fontsize=8,
                                  color="white" if abs(value) > limit / 2 else "black")
                else:
                    axes.imshow(values, cmap="gray")
            axes.set_title(title, fontsize=8)
    set_title(figure, "Hand-set line filters: before and after", fontsize=10)
    return save_figure(figure, path)


def plot_conv_steps(steps: Any, path: PathLike) -> Path:
    """The window of input channel 0, the filter's weights, and their products, with numbers.

    Args:
        steps: a `ConvSteps` for a Conv2D cell (a Conv1D cell is drawn as one row).
    """
    plt = pyplot()
    terms = [t for t in steps.terms if t.channel == 0]
    shape = tuple(max(t.tap[axis] for t in terms) + 1 for axis in range(len(terms[0].tap)))
    shape = shape if len(shape) == 2 else (1, shape[0])
    window = np.array([t.input_value for t in terms]).reshape(shape)
    weights = np.array([t.weight for t in terms]).reshape(shape)
    figure, grid = plt.subplots(1, 3, figsize=(10, 3.6))
    for axes, (title, values) in zip(grid, [("input window", window), ("weights", weights),
                                            ("input x weight", window * weights)], strict=True):
        hide_axes(axes)
        if title == "input window":
            low = min(float(values.min()), 0.0)
            axes.imshow(values, cmap="gray", vmin=low, vmax=max(float(values.max()), low + 1e-12))
        else:
            limit = float(np.abs(values).max()) or 1.0
            axes.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        if values.size <= 49:
            for (i, j), value in np.ndenumerate(values):
                axes.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=8,
                          bbox={"facecolor": "white", "alpha": 0.6, "linewidth": 0})
        axes.set_title(title, fontsize=9)
    channels = len(steps.channel_sums)
    more = f" (channel 0 of {channels})" if channels > 1 else ""
    set_title(figure, f"{steps.kind} '{steps.layer}' filter {steps.filter} at {steps.position}{more}: "
                    f"total = {steps.output:.6g}", fontsize=10)
    return save_figure(figure, path)
