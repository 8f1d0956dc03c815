"""Every plot writes a PNG of a sensible size with real content (not a blank canvas)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from convscope import Sequential, layers, set_seed
from convscope.explain import (
    Interpretation,
    conv_steps,
    edge_demo,
    feature_maps,
    grad_cam,
    gradient_saliency,
    learned_filters,
    training_curves,
)
from convscope.plots import explain as explain_plots
from convscope.plots import interpret as interpret_plots


@pytest.fixture(scope="module")
def image_model() -> Sequential:
    set_seed(0)
    return Sequential([
        layers.Conv2D(8, 3, activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])


def test_feature_map_plots_for_every_layer(png_drawn: Callable[..., None], image_model: Sequential, digit: np.ndarray, tmp_path: Path) -> None:
    paths = explain_plots.plot_all_feature_maps(feature_maps(image_model, digit), tmp_path)
    assert [p.name for p in paths] == ["00_conv2d.png", "01_max_pooling2d.png", "02_conv2d_1.png",
                                       "03_flatten.png", "04_dense.png"]
    for path in paths:
        png_drawn(path)


def test_signal_feature_maps_are_lines(png_drawn: Callable[..., None], tmp_path: Path) -> None:
    set_seed(1)
    model = Sequential([layers.Conv1D(4, 5, activation="relu", input_shape=(40, 1)), layers.Flatten()])
    signal = np.sin(np.linspace(0, 12, 40, dtype=np.float32))[:, None]
    path = explain_plots.plot_feature_maps(feature_maps(model, signal)[0], tmp_path / "signal.png")
    png_drawn(path)
    filters = explain_plots.plot_filters(learned_filters(model), tmp_path / "signal_filters.png")
    png_drawn(filters, min_width=150, min_height=80)


def test_filter_plot(png_drawn: Callable[..., None], image_model: Sequential, tmp_path: Path) -> None:
    png_drawn(explain_plots.plot_filters(learned_filters(image_model), tmp_path / "f.png"), 300, 100)


def test_edge_demo_plots(png_drawn: Callable[..., None], digit: np.ndarray, tmp_path: Path) -> None:
    png_drawn(explain_plots.plot_edge_demo(edge_demo(digit), tmp_path / "edges.png"), 600, 300)
    signal = np.r_[np.zeros(10), np.ones(10), np.zeros(10)]
    png_drawn(explain_plots.plot_edge_demo(edge_demo(signal), tmp_path / "edges1d.png"), 600, 300)


def test_conv_steps_plot(png_drawn: Callable[..., None], image_model: Sequential, digit: np.ndarray, tmp_path: Path) -> None:
    steps = conv_steps(image_model, digit, position=(6, 12), filter=2)
    png_drawn(explain_plots.plot_conv_steps(steps, tmp_path / "steps.png"), 500, 200)


def test_interpretation_plots(png_drawn: Callable[..., None], digit: np.ndarray, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=60)
    result = Interpretation.from_outputs(probabilities, rng.integers(0, 10, size=60))
    examples = np.repeat(digit[None], 60, axis=0)
    png_drawn(interpret_plots.plot_confusion_matrix(result, tmp_path / "cm.png"), 300, 300)
    png_drawn(interpret_plots.plot_per_class_accuracy(result, tmp_path / "acc.png"), 300, 150)
    png_drawn(interpret_plots.plot_top_losses(result, examples, tmp_path / "top.png"), 400, 400)


def test_saliency_and_curve_plots(png_drawn: Callable[..., None], image_model: Sequential, digit: np.ndarray, tmp_path: Path) -> None:
    png_drawn(interpret_plots.plot_saliency(gradient_saliency(image_model, digit), tmp_path / "g.png"), 500, 150)
    png_drawn(interpret_plots.plot_saliency(grad_cam(image_model, digit), tmp_path / "c.png"), 500, 150)
    curves = training_curves({"loss": [1.0, 0.6, 0.5], "val_loss": [0.9, 0.7, 0.65],
                              "accuracy": [0.6, 0.8, 0.85], "val_accuracy": [0.62, 0.75, 0.8]})
    png_drawn(interpret_plots.plot_training_curves(curves, tmp_path / "curves.png"), 500, 200)


def test_png_write_replaces_atomically(digit: np.ndarray, tmp_path: Path) -> None:
    target = tmp_path / "nested" / "edges.png"
    explain_plots.plot_edge_demo(edge_demo(digit), target)
    first = target.stat().st_mtime_ns
    explain_plots.plot_edge_demo(edge_demo(digit), target)
    assert target.stat().st_mtime_ns >= first
    assert [p.name for p in target.parent.iterdir()] == ["edges.png"]
