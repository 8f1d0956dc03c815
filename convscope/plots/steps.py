"""Pictures of one conv or pooling cell, stage by stage, from `ConvSteps` / `PoolSteps`.

Conv: the input window, x the weights, = the products (each with a colour bar), then the chain
sum -> + bias -> activation -> output in words. With many input channels the strongest few
channels are drawn, a bar chart shows the partial sums largest first, and the rest are counted.
Pooling: the window with its winner outlined (or its mean), then the output.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from convscope.explain.maps import color_scale
from convscope.plots._figures import (
    add_colorbar,
    colour_words,
    describe,
    hide_axes,
    image_style,
    new_figure,
    save_figure,
)

PathLike = str | os.PathLike[str]
TOP_CHANNELS = 3    # channels drawn as windows / weights / products
TOP_BARS = 10       # channels in the partial-sum chart


def _as_image(values: np.ndarray) -> np.ndarray:
    """A kernel-shaped array as 2-D: (kh, kw) stays, (k,) becomes one row."""
    return values if values.ndim == 2 else values.reshape(1, -1)


def _numbers(axes: Any, values: np.ndarray, padded: np.ndarray | None = None) -> None:
    """Each cell's value written on it: 3 digits up to 4 columns, 2 in smaller type up to 6,
    none beyond (the colour bar tells them then). Padding is written "pad"."""
    columns = values.shape[-1]
    if columns > 6 or values.size > 36:
        return
    digits, size = (3, 7) if columns <= 4 else (2, 5)
    for (i, j), value in np.ndenumerate(values):
        is_pad = np.isnan(value) or (padded is not None and bool(padded[i, j]))
        text = "pad" if is_pad else f"{value + 0.0:.{digits}g}"  # + 0.0: no "-0"
        axes.text(j, i, text, ha="center", va="center", fontsize=size,
                  bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0, "pad": 1})


def _chain_lines(steps: Any) -> list[str]:
    """The stages after the products, one line each."""
    by_name = {stage.name: stage for stage in steps.stages}
    count = len(steps.channel_sums)
    first = f"sum of {count} partial sums" if count > 1 else f"sum of the {len(steps.terms)} products"
    lines = [f"{first} = {steps.weighted_sum:.4g}",
             f"+ bias {steps.bias:.4g} = {steps.pre_activation:.4g}"]
    if steps.activation == "linear":
        lines.append("no activation (linear)")
    else:
        lines.append(f"{steps.activation}({steps.pre_activation:.4g}) = {steps.output:.4g}")
        if steps.activation == "relu" and steps.pre_activation < 0:
            lines.append("(ReLU turns a negative sum into 0)")
    lines.append(f"output = {steps.output:.4g}")
    if steps.engine_output is not None:
        lines.append(by_name["output"].text.split("; ", 1)[-1])
    return lines


def _draw_chain(axes: Any, lines: list[str], title: str = "then") -> None:
    axes.axis("off")
    axes.set_title(title, fontsize=9)
    axes.text(0.0, 1.0, "\n".join(lines), va="top", ha="left", family="monospace", fontsize=8,
              transform=axes.transAxes, linespacing=1.6)


def _conv_title(steps: Any) -> str:
    where = ", ".join(str(p) for p in steps.position)
    head = f"{steps.kind} '{steps.layer}', filter {steps.filter}, output ({where})"
    inner = f"{steps.weighted_sum:.4g} + {steps.bias:.4g}"
    if steps.activation == "linear":
        return f"{head}: {inner} = {steps.output:.4g}"
    return f"{head}: {steps.activation}({inner}) = {steps.output:.4g}"


def _panel_row(row: Any, part: Any, scales: list[Any]) -> list[Any]:
    """Window, weights and products of one channel in three axes; returns their images."""
    images = []
    padded = None if part.padded is None else _as_image(part.padded)
    for column, (axes, values, scale) in enumerate(zip(row, [part.window, part.weights, part.products],
                                                       scales, strict=True)):
        hide_axes(axes)
        shown = _as_image(values)
        style = image_style(scale) if scale.diverging else {"cmap": "gray", "vmin": scale.low, "vmax": scale.high}
        images.append(axes.imshow(shown, **style))
        _numbers(axes, shown, padded if column == 0 else None)
    return images


COLUMN_TITLES = ("input window", "x weights", "= products")
COLUMN_LABELS = ("input value", "weight", "input x weight")


def conv_steps_figure(steps: Any) -> Any:
    """The figure `plot_conv_steps` writes (a matplotlib Figure, not yet saved)."""
    table = steps.channel_table
    shown = table[:TOP_CHANNELS]
    many = len(table) > 1
    figure = new_figure(12.5 if many else 12.0, 2.3 * len(shown) + 1.6 if many else 3.9)
    left, right = figure.subfigures(1, 2, width_ratios=[3, 1.7] if many else [3, 1.2])
    grid = left.subplots(len(shown), 3, squeeze=False)
    columns = [[part.window for part in shown], [part.weights for part in shown],
               [part.products for part in shown]]
    scales = [color_scale(np.concatenate([a.ravel() for a in column]), signed=index > 0)
              for index, column in enumerate(columns)]
    for row, part in zip(grid, shown, strict=True):
        images = _panel_row(row, part, scales)
        row[2].set_xlabel(f"sum = {part.partial_sum:.4g}", fontsize=8)
        if many or steps.groups > 1:  # a grouped filter's one channel need not be channel 0
            row[0].set_ylabel(f"channel {part.channel}\npartial sum {part.partial_sum:.3g}", fontsize=8)
    for column, (title, label) in enumerate(zip(COLUMN_TITLES, COLUMN_LABELS, strict=True)):
        grid[0, column].set_title(title, fontsize=9)
        add_colorbar(left, images[column], list(grid[:, column]), label, scales[column])
    if many:
        top, bottom = right.subplots(2, 1, height_ratios=[3, 2])
        _partial_sum_bars(top, table)
        _draw_chain(bottom, _chain_lines(steps))
    else:
        _draw_chain(right.subplots(), _chain_lines(steps), "products -> output")
    describe(figure, _conv_title(steps), _conv_caption(steps, len(table), len(shown)))
    return figure


def _conv_caption(steps: Any, channels: int, shown: int) -> str:
    pad = "; 'pad' = zero padding outside the input" if any(term.padded for term in steps.terms) else ""
    group = f"{steps.group_text[:1].upper()}{steps.group_text[1:]}, its group's share. " if steps.groups > 1 else ""
    text = (f"{group}Each product is an input value times the weight at the same place (red = positive, "
            f"blue = negative, white = 0; grey input: black = lowest, white = highest{pad}). ")
    if channels == 1:
        return text + "The products add up to the total; the bias is added, then the activation gives the output."
    more = channels - TOP_BARS
    return text + (f"The filter reads {channels} input channels: the {shown} with the largest partial sums "
                   f"are drawn, the chart lists the strongest {min(TOP_BARS, channels)}"
                   + (f" and adds the other {more} in one bar" if more > 0 else "")
                   + ". The partial sums add up to the total; the bias is added, then the activation "
                     "gives the output.")


def _partial_sum_bars(axes: Any, table: list[Any]) -> None:
    """Horizontal bars: the strongest channels' partial sums, then the rest together."""
    shown = table[:TOP_BARS]
    labels = [f"ch {part.channel}" for part in shown]
    values = [part.partial_sum for part in shown]
    rest = table[TOP_BARS:]
    if rest:
        labels.append(f"{len(rest)} more")
        values.append(sum(part.partial_sum for part in rest))
    colours = ["tab:red" if value >= 0 else "tab:blue" for value in values]
    if rest:
        colours[-1] = "tab:grey"
    positions = np.arange(len(values))
    axes.barh(positions, values, color=colours)
    axes.set_yticks(positions, labels, fontsize=7)
    axes.invert_yaxis()
    axes.axvline(0, color="black", linewidth=0.6)
    axes.tick_params(axis="x", labelsize=7)
    axes.set_xlabel("partial sum (window x weights, added up)", fontsize=8)
    axes.set_title(f"sum per input channel, largest first ({len(table)} channels)", fontsize=9)


def plot_conv_steps(steps: Any, path: PathLike) -> Path:
    """The cell's stages as a PNG: window x weights = products (top channels when there are
    many, with a chart of every channel's partial sum), then total, + bias, activation, output.

    Args:
        steps: a `ConvSteps` (Conv2D or Conv1D cell).
    """
    return save_figure(conv_steps_figure(steps), path)


# --------------------------------------------------------------------------- pooling


def pool_steps_figure(steps: Any) -> Any:
    """The figure `plot_pool_steps` writes: the window (winner outlined), then the output."""
    from matplotlib.patches import Rectangle

    by_name = {stage.name: stage for stage in steps.stages}
    window = _as_image(by_name["window"].values)
    figure = new_figure(8.0, 3.4)
    axes, text = figure.subplots(1, 2, width_ratios=[1, 1.3])
    hide_axes(axes)
    scale = color_scale(window[np.isfinite(window)])
    image = axes.imshow(window, **image_style(scale))
    _numbers(axes, window)
    add_colorbar(figure, image, axes, "value in the feature map", scale)
    axes.set_title("window", fontsize=9)
    if steps.reduction == "max" and steps.winner is not None:
        index = steps.window_positions.index(steps.winner)
        row, column = np.unravel_index(index, window.shape)
        axes.add_patch(Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="tab:red", linewidth=3))
    _draw_chain(text, [by_name["reduce"].text.replace(", at", "\nat"), by_name["output"].text.replace("; ", "\n")],
                "the winner -> output" if steps.reduction == "max" else "the mean -> output")
    where = ", ".join(str(p) for p in steps.position)
    rule = ("the largest value in the window (outlined in red) becomes the output" if steps.reduction == "max"
            else "the mean of the window's values becomes the output")
    describe(figure, f"{steps.kind} '{steps.layer}', channel {steps.channel}, output ({where}) = "
                     f"{steps.output:.4g}", f"Pooling: {rule}. Colours: {colour_words(scale)}.", width=90)
    return figure


def plot_pool_steps(steps: Any, path: PathLike) -> Path:
    """The pooling cell's stages as a PNG (window, the winner or the mean, the output).

    Args:
        steps: a `PoolSteps` (2-D or 1-D window).
    """
    return save_figure(pool_steps_figure(steps), path)
