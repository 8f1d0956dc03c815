"""Conv and pool steps on plain arrays: the seed's worked sums, term by term."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.explain import reference
from convscope.explain.pooling_steps import pool_steps_from_arrays
from convscope.explain.steps import conv_steps_from_arrays, number

NEIGHBOURHOOD = [[0, 64, 128], [48, 192, 144], [142, 226, 168]]
LINE_FILTER = [[-1, 0, -2], [0.5, 4.5, -1.5], [1.5, 2, -3]]


def test_new_pixel_577_prints_like_the_worked_example() -> None:
    steps = conv_steps_from_arrays(NEIGHBOURHOOD, LINE_FILTER, position=(0, 0))
    assert steps.output == 577
    assert [t.product for t in steps.terms] == [0, 0, -256, 24, 864, -216, 213, 452, -504]
    text = steps.text()
    assert ("New pixel = (-1*0)+(0*64)+(-2*128)+(0.5*48)+(4.5*192)+(-1.5*144)+(1.5*142)"
            "+(2*226)+(-3*168)") in text.splitlines()
    assert "Total = 577   (sum of the products, before the bias)" in text.splitlines()
    assert text.splitlines()[-1] == "Output = 577"


def test_seed_conv_relu_cells() -> None:
    image = [[1, 0, 2], [3, 1, 0], [0, 0, 4]]
    cells = [[conv_steps_from_arrays(image, [[1, 0], [0, 1]], position=(i, j), activation="relu").output
              for j in range(2)] for i in range(2)]
    assert cells == [[2, 0], [3, 5]]
    pooled = pool_steps_from_arrays(np.array(cells), 2, position=(0, 0))
    assert pooled.output == 5
    assert pooled.winner == (1, 1)
    assert pooled.text().splitlines()[1] == "Window: input positions (0, 0) to (1, 1), 4 values"
    assert pooled.text().splitlines()[2].startswith("max(2, 0, 3, 5) = 5   (the winner, at input position (1, 1))")


@pytest.mark.parametrize("padding", ["valid", "same", 1])
def test_every_cell_matches_reference_with_channels_bias_and_stride(padding: object) -> None:
    rng = np.random.default_rng(7)
    x, w, b = rng.normal(size=(7, 6, 3)), rng.normal(size=(3, 2, 3, 4)), rng.normal(size=4)
    expected = reference.relu(reference.conv2d(x, w, b, stride=(2, 1), padding=padding, dilation=(1, 2)))
    for position in np.ndindex(*expected.shape[:2]):
        for filter_index in range(4):
            steps = conv_steps_from_arrays(x, w, b, position=position, filter=filter_index, stride=(2, 1),
                                           padding=padding, dilation=(1, 2), activation="relu")
            assert steps.output == pytest.approx(expected[(*position, filter_index)], abs=1e-12)
            assert len(steps.terms) == 3 * 2 * 3
            assert steps.weighted_sum == pytest.approx(sum(steps.channel_sums))


def test_padding_terms_are_marked_and_zero() -> None:
    steps = conv_steps_from_arrays(NEIGHBOURHOOD, LINE_FILTER, position=(0, 0), padding="same")
    padded = [t for t in steps.terms if t.padded]
    assert len(padded) == 5  # top row and left column of the window
    assert all(t.input_value == 0 and (t.input_position[0] < 0 or t.input_position[1] < 0) for t in padded)


def test_conv1d_steps_and_causal_padding() -> None:
    signal = np.array([1.0, 2.0, 4.0, 8.0])
    steps = conv_steps_from_arrays(signal, np.array([1.0, -1.0]), position=(0,), padding="causal")
    assert [t.padded for t in steps.terms] == [True, False]
    assert steps.output == -1.0
    expected = reference.conv1d(signal, [1.0, -1.0], padding="causal")
    assert [conv_steps_from_arrays(signal, np.array([1.0, -1.0]), position=(i,), padding="causal").output
            for i in range(4)] == list(expected)


def test_average_pool_steps_skip_padding() -> None:
    steps = pool_steps_from_arrays(np.array([1.0, 3.0, 2.0, 0.0, -5.0]), 2, padding="same",
                                   position=(2,), reduction="average")
    assert steps.output == -5
    assert "average(-5, pad) = (-5) / 1 = -5" in steps.text()


def test_steps_errors() -> None:
    with pytest.raises(ValueError, match=r"position \(2, 0\) is outside the \(1, 1\) output"):
        conv_steps_from_arrays(NEIGHBOURHOOD, LINE_FILTER, position=(2, 0))
    with pytest.raises(ValueError, match="filter 3 does not exist"):
        conv_steps_from_arrays(np.ones((3, 3, 1)), np.ones((2, 2, 1, 2)), position=(0, 0), filter=3)
    with pytest.raises(ValueError, match="do not fit"):
        conv_steps_from_arrays(np.ones((3, 3, 2)), np.ones((2, 2, 1, 2)), position=(0, 0))


def test_number_formatting() -> None:
    assert [number(v) for v in (577.0, 0.5, -1.5, 1 / 3, float("nan"))] == ["577", "0.5", "-1.5", "0.3333", "nan"]
