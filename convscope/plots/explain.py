"""Pictures of what `convscope.explain` computes: feature maps, filters, edge filters, conv and
pooling steps.

Every function takes the plain data an explain function returned, writes one PNG atomically and
returns its path; the `*_figure` functions return the matplotlib Figure instead. Images of values
carry a colour bar and a caption saying what the colours mean; 1-D signals are drawn as lines.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from convscope.explain.numbers import count_text
from convscope.plots._figures import (
    add_colorbar,
    colour_words,
    describe,
    grid_shape,
    hide_axes,
    image_style,
    new_figure,
    save_figure,
)
from convscope.plots.steps import (
    conv_steps_figure,
    plot_conv_steps,
    plot_pool_steps,
    pool_steps_figure,
)

__all__ = ["conv_steps_figure", "feature_maps_figure", "filters_figure", "plot_all_feature_maps",
           "plot_conv_steps", "plot_edge_demo", "plot_feature_maps", "plot_filters", "plot_pool_steps",
           "pool_steps_figure"]

PathLike = str | os.PathLike[str]


def feature_maps_figure(layer_maps: Any, max_channels: int = 32,
                        class_names: Sequence[str] | None = None) -> Any:
    """The figure `plot_feature_maps` writes (a matplotlib Figure, not yet saved)."""
    maps = np.asarray(layer_maps.maps, dtype=np.float64)
    title = f"{layer_maps.kind} '{layer_maps.layer}' output {tuple(maps.shape)}"
    sources = tuple(getattr(layer_maps, "sources", ()))
    if len(sources) > 1:  # a merge layer: say what it combined
        title += f" from {', '.join(sources)}"
    if maps.ndim <= 1:
        return _unit_bars(maps, title, getattr(layer_maps, "values_are", "value"), class_names)
    channels = min(maps.shape[-1], max_channels)
    shown = "" if channels == maps.shape[-1] else f" (first {channels} of {maps.shape[-1]} channels)"
    if maps.ndim == 2:
        return _signal_grid(maps, channels, title + shown)
    rows, columns = grid_shape(channels)
    # one or two channels (a grey input): a figure wide enough for its caption still
    figure = new_figure(max(1.5 * columns + 1.2, 4.2), 1.55 * rows + 1.0 + (0.6 if columns < 3 else 0.0))
    grid = figure.subplots(rows, columns, squeeze=False)
    scale = layer_maps.color_scale
    image = None
    for channel, axes in enumerate(grid.flat):
        hide_axes(axes)
        if channel < channels:
            image = axes.imshow(maps[..., channel], **image_style(scale))
            axes.set_title(f"{channel}", fontsize=7)
        else:
            axes.axis("off")
    add_colorbar(figure, image, list(grid.flat), getattr(layer_maps, "values_are", "value"), scale)
    describe(figure, title + shown, f"{_panel_words(layer_maps.kind, len(sources))} One colour scale for the whole "
                                    f"layer, so panels compare: {colour_words(scale)}.", width=max(14 * columns, 48))
    return figure


def _panel_words(kind: str, inputs: int) -> str:
    """What one panel of a layer's maps shows, in words."""
    if kind == "InputLayer":
        return "Each panel is one channel of the model's input, as the network sees it."
    if inputs > 1:
        return f"Each panel is one channel of what the {kind} layer made of its {inputs} inputs, cell by cell."
    return "Each panel is one channel's feature map: how strongly its filter responded at each place."


def _unit_bars(maps: np.ndarray, title: str, values_are: str, class_names: Sequence[str] | None) -> Any:
    """A bar per unit; one per class, named, when `class_names` fit (an output layer)."""
    values = maps.reshape(-1)
    named = class_names is not None and len(class_names) == values.size
    figure = new_figure(max(4.5, min(12.0, (0.5 if named else 0.12) * values.size + 2)), 3.2)
    axes = figure.subplots()
    axes.bar(np.arange(values.size), values, color=np.where(values >= 0, "tab:red", "tab:blue"))
    axes.axhline(0, color="black", linewidth=0.5)
    axes.set_ylabel(values_are)
    if named:
        assert class_names is not None
        long = max(map(len, class_names)) > 3
        axes.set_xticks(np.arange(values.size), list(class_names), rotation=45 if long else 0,
                        ha="right" if long else "center", fontsize=8)
        axes.set_xlabel("class")
    else:
        axes.set_xlabel("unit")
    if values_are == "probability":
        axes.set_ylim(0, 1)
        caption = f"One bar per {'class' if named else 'unit'}: the probability the model gives it."
    else:
        caption = f"One bar per {'class' if named else 'unit'}: red = positive, blue = negative."
    describe(figure, title, caption, width=70)
    return figure


def _signal_grid(maps: np.ndarray, channels: int, title: str) -> Any:
    rows, columns = grid_shape(channels)
    figure = new_figure(2.2 * columns, 1.5 * rows + 0.8)
    grid = figure.subplots(rows, columns, squeeze=False, sharey=True)
    for channel, axes in enumerate(grid.flat):
        if channel < channels:
            axes.plot(maps[:, channel], color="tab:blue", linewidth=1)
            axes.axhline(0, color="grey", linewidth=0.5)
            axes.set_title(f"channel {channel}", fontsize=7)
            axes.tick_params(labelsize=6)
        else:
            axes.axis("off")
    describe(figure, title, "Each panel is one channel's output along the signal (x: position, y: value; "
                            "one y scale for all channels).", width=16 * columns)
    return figure


def plot_feature_maps(layer_maps: Any, path: PathLike, max_channels: int = 32,
                      class_names: Sequence[str] | None = None) -> Path:
    """One layer's output as a grid: one image per channel (2-D) on one shared colour scale with a
    colour bar, one line per channel (1-D), or a bar per unit (a flat vector).

    Args:
        layer_maps: a `LayerMaps` (maps (H, W, C), (L, C) or (units,)).
        max_channels: channels drawn at most (the first ones).
        class_names: names for the bars of a layer with one unit per class (the output).
    """
    return save_figure(feature_maps_figure(layer_maps, max_channels, class_names), path)


def plot_all_feature_maps(all_maps: Sequence[Any], folder: PathLike, max_channels: int = 32,
                          class_names: Sequence[str] | None = None) -> list[Path]:
    """One PNG per layer, named '<index>_<layer>.png' inside `folder` (a shared layer's call
    "conv2d[1]" becomes "conv2d_1_" in the file name)."""
    return [plot_feature_maps(maps, Path(folder) / f"{maps.index:02d}_{re.sub(r'[^A-Za-z0-9_.-]', '_', maps.layer)}.png",
                              max_channels, class_names) for maps in all_maps]


def filters_figure(filters: Any, max_filters: int = 64) -> Any:
    """The figure `plot_filters` writes (a matplotlib Figure, not yet saved)."""
    kernel = np.asarray(filters.kernel, dtype=np.float64)
    count = min(kernel.shape[-1], max_filters)
    rows, columns = grid_shape(count)
    figure = new_figure(1.45 * columns + 1.2, 1.55 * rows + 1.1)
    grid = figure.subplots(rows, columns, squeeze=False)
    scale = filters.color_scale
    image, note = None, ""
    for index, axes in enumerate(grid.flat):
        if index >= count:
            axes.axis("off")
            continue
        one = kernel[..., index]
        if kernel.ndim == 3:
            _filter_lines(axes, one, scale)
        elif one.shape[-1] == 3 and filters.groups == 1:
            hide_axes(axes)
            axes.imshow((one - one.min()) / (np.ptp(one) or 1.0))
        else:
            hide_axes(axes)
            channel = filters.strongest_input(index)  # the input channel, by its number in the layer's input
            image = axes.imshow(one[..., channel - filters.input_channels(index)[0]], **image_style(scale))
            note = "" if one.shape[-1] == 1 and filters.groups == 1 else f" (in {channel})"
        axes.set_title(f"{index}{note}", fontsize=7)
    if image is not None:
        add_colorbar(figure, image, list(grid.flat), "weight", scale)
    describe(figure, f"Filters of {filters.kind} '{filters.layer}', kernel {tuple(kernel.shape)}",
             _filters_caption(kernel, scale, filters.groups), width=15 * columns)
    return figure


def _filter_lines(axes: Any, one: np.ndarray, scale: Any) -> None:
    for channel in range(min(one.shape[-1], 8)):
        axes.plot(one[:, channel], marker="o", markersize=2, linewidth=1)
    axes.axhline(0, color="grey", linewidth=0.5)
    axes.set_ylim(scale.low * 1.05, scale.high * 1.05)
    axes.tick_params(labelsize=5)


def _filters_caption(kernel: np.ndarray, scale: Any, groups: int = 1) -> str:
    clipped = (f" The scale ends at the 99th percentile of |weight| ({scale.high:.3g}); the "
               f"{scale.clipped:.1%} of weights beyond it show in the end colours." if scale.clipped else "")
    if kernel.ndim == 3:
        return ("Each panel is one filter: its weights along the window, one line per input channel "
                "(first 8); y: weight, one scale for all filters.")
    if kernel.shape[2] == 3 and groups == 1:
        return ("Each panel is one filter's weights on the red, green and blue input channels, "
                "stretched to full brightness per filter.")
    which = ("" if kernel.shape[2] == 1 else
             f" Each filter reads {kernel.shape[2]} input channels; a panel shows its weights on the input "
             f"channel where they are largest ('5 (in 12)' = filter 5, input channel 12).")
    if groups > 1:
        which = (f" The convolution has {groups} groups: each filter reads only the "
                 f"{count_text(kernel.shape[2], 'input channel')} of its group; '5 (in 12)' = filter 5, shown "
                 "on input channel 12.")
    return (f"Each panel is one filter's weights, one colour scale for the layer: red = positive weight, "
            f"blue = negative, white = 0.{which}{clipped}")


def plot_filters(filters: Any, path: PathLike, max_filters: int = 64) -> Path:
    """A conv layer's filters on one shared, zero-centred colour scale with a colour bar: 2-D
    kernels as small images (one input channel, or RGB for 3 input channels), 1-D kernels as
    lines (one per input channel).

    Args:
        filters: a `LearnedFilters` (kernel (kh, kw, C_in, C_out) or (k, C_in, C_out)).
    """
    return save_figure(filters_figure(filters, max_filters), path)


def plot_edge_demo(demo: Any, path: PathLike) -> Path:
    """One row per kernel: the input, the kernel, the filtered result after ReLU, the pooled one,
    each image with its colour bar.

    Args:
        demo: an `EdgeDemo` (2-D image or 1-D signal).
    """
    names = list(demo.kernels)
    figure = new_figure(13.0, 2.7 * len(names) + 0.8)
    grid = figure.subplots(len(names), 4, squeeze=False)
    for row, name in zip(grid, names, strict=True):
        panels = [("input", demo.image, "pixel value"), (f"'{name}' kernel", demo.kernels[name], "weight"),
                  (f"after filter + ReLU {demo.activated[name].shape}", demo.activated[name], "response"),
                  (f"after {demo.pool_size}x max pool {demo.pooled[name].shape}", demo.pooled[name], "response")]
        for axes, (title, values, label) in zip(row, panels, strict=True):
            if demo.rank == 1:
                axes.plot(values, marker="o" if values.size <= 9 else None, linewidth=1)
                axes.tick_params(labelsize=6)
            else:
                _edge_panel(figure, axes, values, label, kernel=label == "weight")
            axes.set_title(title, fontsize=8)
    describe(figure, "Hand-set line filters: before and after",
             "Kernels: red = positive weight, blue = negative, white = 0. Images: black = 0, white = the "
             "largest value in that panel. A line filter lights up where the image has lines of its direction.")
    return save_figure(figure, path)


def _edge_panel(figure: Any, axes: Any, values: np.ndarray, label: str, kernel: bool) -> None:
    hide_axes(axes)
    limit = float(np.abs(values).max()) or 1.0
    if kernel:
        image = axes.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (i, j), value in np.ndenumerate(values):
            axes.text(j, i, f"{value:g}", ha="center", va="center", fontsize=8,
                      color="white" if abs(value) > limit / 2 else "black")
    else:
        image = axes.imshow(values, cmap="gray", vmin=min(float(values.min()), 0.0), vmax=limit)
    add_colorbar(figure, image, axes, label)
