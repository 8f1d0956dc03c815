"""Hand-set line filters: vertical strokes light up the vertical kernel, and so on."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.explain.edges import edge_demo, line_kernels


def _image_with_line(vertical: bool) -> np.ndarray:
    image = np.zeros((28, 28))
    if vertical:
        image[4:24, 13:15] = 1.0
    else:
        image[13:15, 4:24] = 1.0
    return image


@pytest.mark.parametrize("vertical", [True, False])
def test_line_kernels_make_their_lines_pop_out(vertical: bool) -> None:
    demo = edge_demo(_image_with_line(vertical))
    strong, weak = ("vertical", "horizontal") if vertical else ("horizontal", "vertical")
    assert demo.response[strong] > 5 * demo.response[weak]


def test_edge_demo_shapes_follow_the_seed() -> None:
    demo = edge_demo(np.random.default_rng(0).random((28, 28, 1)))
    assert demo.image.shape == (28, 28)
    for name in ("vertical", "horizontal"):
        assert demo.filtered[name].shape == (26, 26)
        assert demo.pooled[name].shape == (13, 13)
        assert demo.activated[name].min() >= 0
        # 2x2 max pooling keeps the strongest response of each window
        assert demo.pooled[name][0, 0] == demo.activated[name][:2, :2].max()


def test_edge_demo_on_a_real_digit(mnist_small: tuple) -> None:
    x_train, y_train, *_ = mnist_small
    one = x_train[int(np.argmax(y_train == 1))]  # a "1" is mostly a vertical stroke
    demo = edge_demo(one)
    assert demo.response["vertical"] > demo.response["horizontal"]


def test_one_dimensional_demo() -> None:
    signal = np.concatenate([np.zeros(10), np.ones(10), np.zeros(10)])
    demo = edge_demo(signal)
    assert set(demo.kernels) == {"rise", "peak"}
    assert demo.filtered["rise"].shape == (28,)
    assert demo.pooled["rise"].shape == (14,)
    assert int(np.argmax(demo.filtered["rise"])) in (8, 9)  # the step up at index 10
    assert line_kernels(1)["peak"].tolist() == [-1, 2, -1]


def test_edge_demo_errors() -> None:
    with pytest.raises(ValueError, match="expected an image"):
        edge_demo(np.zeros((2, 28, 28, 1)))
    with pytest.raises(ValueError, match="needs 2-D kernels"):
        edge_demo(np.zeros((8, 8)), {"bad": [1, 0, -1]})
    with pytest.raises(ValueError, match="rank must be 1"):
        line_kernels(3)
