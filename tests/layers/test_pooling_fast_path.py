"""MaxPooling2D runs through `convscope.ops.max_pool2d`: the 2x2 case takes its fast paths and
equals max_pool2d exactly, on the seed CNN's shapes in either memory layout; other poolings take
PyTorch's own."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convscope import layers
from convscope.ops import cpu_kernels
from convscope.ops import pooling as ops_pooling


def reference(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x.movedim(-1, 1), 2).movedim(1, -1)


def fast_paths_taken(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each call of the kernel or the pairwise maxima from here on."""
    taken: list[str] = []
    kernel, pairwise = cpu_kernels.max_pool_2x2, ops_pooling.pairwise_max_pool_2x2
    monkeypatch.setattr(cpu_kernels, "max_pool_2x2", lambda *a, **k: (taken.append("kernel"), kernel(*a, **k))[1])
    monkeypatch.setattr(ops_pooling, "pairwise_max_pool_2x2", lambda x: (taken.append("pairwise"), pairwise(x))[1])
    return taken


def test_the_layer_pairs_maxima_only_where_no_gradient_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = layers.MaxPooling2D(2)
    x = torch.randn(2, 6, 6, 3)
    taken = fast_paths_taken(monkeypatch)
    with cpu_kernels.enabled(False):
        with torch.no_grad():
            pool(x.requires_grad_())
        out = pool(x)  # requires grad, grad mode on: max_pool2d's backward
    assert taken == ["pairwise"]
    out.sum().backward()
    assert x.grad is not None and float(x.grad.sum()) == out.numel()


@pytest.mark.parametrize("pool", [
    layers.MaxPooling2D(3), layers.MaxPooling2D(2, strides=1), layers.MaxPooling2D(2, padding="same"),
    layers.MaxPooling2D(2, data_format="channels_first"), layers.AveragePooling2D(2),
], ids=["3x3", "stride 1", "same", "channels_first", "average"])
@pytest.mark.parametrize("kernels", [True, False], ids=["kernels on", "kernels off"])
def test_other_poolings_keep_the_general_path(pool: layers.Layer, kernels: bool,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    taken = fast_paths_taken(monkeypatch)
    x = torch.randn(2, 6, 6, 3)
    with torch.no_grad(), cpu_kernels.enabled(kernels):
        pool(x)
        pool(x.requires_grad_())
    assert taken == []


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
