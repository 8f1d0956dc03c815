"""Prediction pools 2x2 windows as two elementwise maxima; it must equal max_pool2d exactly."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convscope import layers
from convscope.engine import cpu_kernels
from convscope.layers.pooling import max_pool_2x2_channels_last


def reference(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x.movedim(-1, 1), 2).movedim(1, -1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(("height", "width"), [(26, 26), (11, 11), (4, 7), (2, 2)])
def test_pairwise_max_equals_max_pool2d(height: int, width: int, dtype: torch.dtype) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(-3, 4, (3, height, width, 5), generator=generator).to(dtype)
    x[0, 0, 0, 0] = float("nan")
    x[1, :2, :2, 1] = float("-inf")
    got, expected = max_pool_2x2_channels_last(x), reference(x)
    assert got.shape == expected.shape == (3, height // 2, width // 2, 5)
    torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True)


def test_the_layer_uses_it_only_where_no_gradient_is_needed() -> None:
    pool = layers.MaxPooling2D(2)
    x = torch.randn(2, 6, 6, 3)
    assert pool.pairwise_max_applies(x)
    with torch.no_grad():
        assert pool.pairwise_max_applies(x.requires_grad_())
    assert not pool.pairwise_max_applies(x)  # requires grad, grad mode on: max_pool2d's backward
    out = pool(x)
    out.sum().backward()
    assert x.grad is not None and float(x.grad.sum()) == out.numel()


@pytest.mark.parametrize("pool", [
    layers.MaxPooling2D(3), layers.MaxPooling2D(2, strides=1), layers.MaxPooling2D(2, padding="same"),
    layers.MaxPooling2D(2, data_format="channels_first"), layers.AveragePooling2D(2),
], ids=["3x3", "stride 1", "same", "channels_first", "average"])
def test_other_poolings_keep_the_general_path(pool: layers.Layer) -> None:
    assert not pool.pairwise_max_applies(torch.randn(2, 6, 6, 3))


# The seed CNN's two pooled maps, and an RGB image, each contiguous (what a channels_last kernel's
# conv gives) and as a channels-last view of a channels-first tensor (a contiguous kernel's conv).
@pytest.mark.parametrize("kernels", [True, False], ids=["kernels on", "kernels off"])
@pytest.mark.parametrize("layout", ["contiguous", "channels-first storage"])
@pytest.mark.parametrize("shape", [(4, 26, 26, 64), (4, 11, 11, 64), (2, 31, 30, 3)],
                         ids=["26x26x64", "11x11x64", "31x30x3"])
def test_the_layer_equals_max_pool2d_on_real_shapes_in_either_layout(shape: tuple[int, ...], layout: str,
                                                                      kernels: bool) -> None:
    generator = torch.Generator().manual_seed(1)
    x = torch.randint(-3, 4, shape, generator=generator).float()  # ties in most windows
    if layout == "channels-first storage":
        x = x.movedim(-1, 1).contiguous().movedim(1, -1)
        assert not x.is_contiguous()
    grad = torch.randn((shape[0], shape[1] // 2, shape[2] // 2, shape[3]), generator=generator)
    pool = layers.MaxPooling2D(2)
    with cpu_kernels.enabled(kernels):
        with torch.no_grad():
            torch.testing.assert_close(pool(x), reference(x), rtol=0, atol=0)
        ours, theirs = x.detach().requires_grad_(), x.detach().requires_grad_()
        got = pool(ours)
    expected = reference(theirs)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    got.backward(grad)
    expected.backward(grad)
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=0, atol=0)
