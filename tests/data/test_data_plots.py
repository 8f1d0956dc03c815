"""Dataset plots: figures returned, PNGs written atomically, right size, not blank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convscope import datasets
from convscope.plots import data as plots


def _png_stats(path: Path) -> tuple[tuple[int, int], float, int]:
    """(width, height), standard deviation of the gray levels, number of distinct gray levels."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        gray = np.asarray(image.convert("L"), dtype=np.float64)
        return image.size, float(gray.std()), len(np.unique(gray))


def _fashion_like(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 10
    images = np.zeros((n, 28, 28, 1), np.uint8)
    for index, label in enumerate(labels):  # a bar whose position encodes the class
        images[index, 2 * label + 4 : 2 * label + 8, 4:24, 0] = rng.integers(150, 256)
    return images, labels


def test_sample_grid(tmp_path: Path) -> None:
    images, labels = _fashion_like()
    figure = plots.plot_samples(images, labels, class_names=datasets.class_names("fashion_mnist"),
                                samples_per_class=4, path=tmp_path / "grid.png")
    assert len(figure.axes) == 40 and figure.axes[0].get_ylabel() == "T-shirt/top"
    assert figure.axes[36].get_ylabel() == "Ankle boot"
    size, spread, levels = _png_stats(tmp_path / "grid.png")
    assert size == (int(1.1 * 4 * 100 + 160), int(1.1 * 10 * 100 + 40)) and spread > 40 and levels > 20
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]  # no temp file left


def test_sample_grid_of_rgb_images(tmp_path: Path) -> None:
    images = np.random.default_rng(1).integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    plots.plot_samples(images, np.arange(30) % 3, path=tmp_path / "rgb.png")
    with Image.open(tmp_path / "rgb.png") as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int64)
    assert (np.abs(pixels[..., 0] - pixels[..., 1]) > 30).mean() > 0.05  # colour, not gray


def test_class_distribution_bars(tmp_path: Path) -> None:
    labels = np.repeat(np.arange(4), [10, 20, 30, 40])
    figure = plots.plot_class_distribution(labels, class_names=["a", "b", "c", "d"], path=tmp_path / "d.png")
    heights = [bar.get_height() for bar in figure.axes[0].patches]
    assert heights == [10, 20, 30, 40]
    assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == ["a", "b", "c", "d"]
    size, spread, _ = _png_stats(tmp_path / "d.png")
    assert size == (600, 400) and spread > 20


def test_signals_per_class(tmp_path: Path) -> None:
    positions = np.linspace(0, 1, 40)
    labels = np.arange(30) % 3
    signals = np.sin(2 * np.pi * (labels[:, None] + 1) * positions)[..., None]  # (30, 40, 1)
    figure = plots.plot_signals(signals, labels, signals_per_class=2, path=tmp_path / "s.png")
    panels = [axis for axis in figure.axes if axis.lines]
    assert len(panels) == 3 and all(len(axis.lines) == 2 for axis in panels)
    np.testing.assert_allclose(panels[1].lines[0].get_ydata(), signals[1, :, 0])
    size, spread, _ = _png_stats(tmp_path / "s.png")
    assert size == (780, 240) and spread > 10


def test_plot_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"plot_samples: expected images .* got \(5, 4\) and 5 labels"):
        plots.plot_samples(np.zeros((5, 4)), np.zeros(5, int))
    with pytest.raises(ValueError, match=r"plot_signals: .* got \(5, 4, 4, 3\)"):
        plots.plot_signals(np.zeros((5, 4, 4, 3)), np.zeros(5, int))
