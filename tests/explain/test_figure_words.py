"""Pictures say what they show: colour bars on every image of values, captions in words, class
names and 'logit'/'probability' in saliency titles, whole epochs on training curves, and a run
report that reads well after one epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from convscope import runs, set_seed, zoo
from convscope.explain import (
    conv_steps,
    feature_maps,
    grad_cam,
    gradient_saliency,
    learned_filters,
    pool_steps,
    training_curves,
)
from convscope.plots import explain as explain_plots
from convscope.plots import interpret as interpret_plots

FASHION = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
           "Ankle boot"]


@pytest.fixture(scope="module")
def seed_cnn() -> Any:
    set_seed(0)
    model = zoo.build("seed-cnn")
    model.eval()
    return model


def colorbars(figure: Any) -> list[Any]:
    return [axes for axes in figure.axes if axes.get_label() == "<colorbar>"]


def words(figure: Any) -> str:
    """Every piece of text on the figure: titles, captions, labels."""
    texts = [figure._suptitle, figure._supxlabel] + [t for axes in figure.axes for t in axes.texts]
    texts += [label for axes in figure.axes for label in (axes.title, axes.xaxis.label, axes.yaxis.label)]
    for sub in figure.subfigs:
        texts.append(sub._suptitle)
    return "\n".join(text.get_text() for text in texts if text is not None)


@pytest.mark.parametrize("layer", ["conv2d", "conv2d_1"])
def test_conv_steps_figure_shows_every_stage_with_colour_bars(seed_cnn: Any, digit: np.ndarray, layer: str) -> None:
    steps = conv_steps(seed_cnn, digit, position=(5, 5), filter=2, layer=layer)
    figure = explain_plots.conv_steps_figure(steps)
    assert len(colorbars(figure)) == 3     # window, weights, products
    text = words(figure)
    assert f"relu({steps.weighted_sum:.4g} + {steps.bias:.4g}) = {steps.output:.4g}" in figure._suptitle.get_text()
    for stage in ("input window", "x weights", "= products", "+ bias", "output = "):
        assert stage in text
    if layer == "conv2d_1":
        assert "sum per input channel, largest first (64 channels)" in text
        bars = [axes for axes in figure.axes if axes.get_title().startswith("sum per input channel")][0]
        labels = [label.get_text() for label in bars.get_yticklabels()]
        assert labels[:10] == [f"ch {part.channel}" for part in steps.channel_table[:10]]
        assert labels[-1] == "54 more" and "the other 54" in text


def test_pool_steps_figure_outlines_the_winner(seed_cnn: Any, digit: np.ndarray) -> None:
    steps = pool_steps(seed_cnn, digit, position=(3, 6), channel=1)
    figure = explain_plots.pool_steps_figure(steps)
    assert len(colorbars(figure)) == 1
    assert f"at input position {steps.winner}" in words(figure).replace("\n", " ")
    assert "largest value in the window (outlined in red)" in words(figure).replace("\n", " ")


def test_feature_maps_share_one_scale_with_a_colour_bar(seed_cnn: Any, digit: np.ndarray) -> None:
    layer_maps = feature_maps(seed_cnn, digit, layers=["conv2d"])[0]
    figure = explain_plots.feature_maps_figure(layer_maps, max_channels=16)
    (bar,) = colorbars(figure)
    images = [axes.images[0] for axes in figure.axes if axes.images]
    assert len(images) == 16 and len({image.get_clim() for image in images}) == 1
    assert images[0].get_clim() == pytest.approx((0.0, float(layer_maps.maps.max())))
    assert "One colour scale for the whole layer" in words(figure).replace("\n", " ")
    assert "dark purple = 0 (no response)" in words(figure).replace("\n", " ")


def test_output_layer_bars_are_named_probabilities(seed_cnn: Any, digit: np.ndarray) -> None:
    output = feature_maps(seed_cnn, digit, layers=["dense_1"])[0]
    assert output.activation == "softmax" and output.values_are == "probability"
    axes = explain_plots.feature_maps_figure(output, class_names=FASHION).axes[0]
    assert [label.get_text() for label in axes.get_xticklabels()] == FASHION
    assert axes.get_ylabel() == "probability" and axes.get_ylim() == (0, 1)
    assert feature_maps(seed_cnn, digit, layers=["conv2d"])[0].values_are == "activation value"


@pytest.mark.parametrize("layer", ["conv2d", "conv2d_1"])
def test_filters_have_a_zero_centred_colour_bar_and_a_caption(seed_cnn: Any, layer: str) -> None:
    filters = learned_filters(seed_cnn, layer)
    figure = explain_plots.filters_figure(filters)
    assert len(colorbars(figure)) == 1
    low, high = [axes for axes in figure.axes if axes.images][0].images[0].get_clim()
    assert low == -high and high == pytest.approx(np.percentile(np.abs(filters.kernel), 99))
    text = words(figure).replace("\n", " ")
    assert f"Filters of Conv2D '{layer}'" in text and "red = positive weight, blue = negative" in text
    if layer == "conv2d_1":
        strongest = filters.strongest_input(0)
        assert [axes.get_title() for axes in figure.axes][0] == f"0 (in {strongest})"


@pytest.mark.parametrize("method", [gradient_saliency, grad_cam])
def test_saliency_titles_name_the_class_and_the_score(seed_cnn: Any, digit: np.ndarray, method: Any) -> None:
    saliency = method(seed_cnn, digit, 5, class_names=FASHION)
    assert saliency.class_name == "Sandal" and saliency.score_kind == "logit"
    assert 0 < saliency.probability < 1
    figure = interpret_plots.saliency_figure(saliency)
    title = figure._suptitle.get_text()
    assert "class 'Sandal'" in title and f"logit {saliency.score:.3g}" in title and "probability" in title
    assert len(colorbars(figure)) == 1
    assert "logit of class 'Sandal'" in words(figure).replace("\n", " ")
    unnamed = interpret_plots.saliency_figure(method(seed_cnn, digit, 5))
    assert "class '5'" in unnamed._suptitle.get_text()


@pytest.mark.parametrize("epochs", [1, 2, 50])
def test_training_curves_have_whole_epoch_ticks(epochs: int) -> None:
    history = {"loss": list(np.linspace(1.0, 0.2, epochs)), "val_loss": list(np.linspace(1.1, 0.3, epochs)),
               "accuracy": list(np.linspace(0.6, 0.95, epochs))}
    figure = interpret_plots.training_curves_figure(training_curves(history))
    figure.canvas.draw()
    for axes in figure.axes:
        low, high = axes.get_xlim()
        ticks = [tick for tick in axes.get_xticks() if low <= tick <= high]
        assert ticks and all(tick == int(tick) for tick in ticks), ticks
        assert low <= 1 - 0.4 and high >= epochs + 0.4
        assert axes.lines[0].get_marker() == "o" and axes.lines[0].get_linestyle() == "-"
    if epochs == 1:
        assert [tick for tick in figure.axes[0].get_xticks()] == [1]
    titles = [axes.get_title() for axes in figure.axes]
    assert titles == ["Loss (lower is better)", "Accuracy (higher is better)"]


def test_one_epoch_report_reads_in_words(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    (folder / runs.PLOTS_DIR).mkdir(parents=True)
    runs.write_json_atomic(folder / runs.CONFIG_FILE, {"format": runs.RUN_FORMAT, "train": {
        "model": "seed-cnn", "data": "fashion_mnist"}, "command": "convscope train seed-cnn"})
    runs.write_history(folder, {"loss": [0.61], "accuracy": [0.78], "val_loss": [0.45], "val_accuracy": [0.84]})
    runs.write_json_atomic(folder / runs.METRICS_FILE, {"test_loss": 0.1234, "test_accuracy": 0.9712,
                                                        "test_samples": 10000})
    page = runs.write_report(folder).read_text()
    assert '<p class="big">Test set: loss 0.123, accuracy 97.1% (10,000 examples)</p>' in page
    assert "Test: test_loss" not in page and "Trained for 1 epoch" in page
    assert "<th>training loss</th><th>training accuracy</th><th>validation loss</th>" in page
    assert "<td>78.0%</td>" in page and "test_accuracy" in page
