"""keras.utils.normalize against values real Keras 3 printed for the same arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convscope.keras as keras


def test_rows_scaled_to_unit_length_and_zero_rows_kept() -> None:
    scaled = keras.utils.normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_array_equal(scaled, [[0.6, 0.8], [0.0, 0.0]])


def test_images_along_axis_1_as_the_mnist_tutorial_calls_it() -> None:
    images = np.arange(24, dtype="uint8").reshape(2, 3, 4)
    scaled = keras.utils.normalize(images, axis=1)
    assert scaled.dtype == np.float64 and scaled.shape == (2, 3, 4)
    np.testing.assert_allclose(scaled[1], [[0.4243, 0.4336, 0.4418, 0.4492], [0.5657, 0.567, 0.5681, 0.569],
                                           [0.7071, 0.7004, 0.6943, 0.6888]], atol=5e-5)


def test_order_1_divides_by_the_sum_of_absolute_values() -> None:
    images = np.arange(24, dtype="uint8").reshape(2, 3, 4)
    np.testing.assert_allclose(keras.utils.normalize(images, axis=-1, order=1)[0],
                               [[0.0, 0.1667, 0.3333, 0.5], [0.1818, 0.2273, 0.2727, 0.3182],
                                [0.2105, 0.2368, 0.2632, 0.2895]], atol=5e-5)


def test_a_torch_tensor_gives_a_torch_tensor() -> None:
    scaled = keras.utils.normalize(torch.tensor([[3.0, 4.0]]))
    assert isinstance(scaled, torch.Tensor)
    torch.testing.assert_close(scaled, torch.tensor([[0.6, 0.8]]))


def test_an_axis_outside_the_array_is_named() -> None:
    with pytest.raises(ValueError, match=r"axis=2 is outside an array of shape \(2, 2\)"):
        keras.utils.normalize(np.ones((2, 2)), axis=2)
