"""The dispatchers choose their path in one place: each path under its conditions, the same
values on every path (on the seed CNN's shapes), and one warning where a kernel would run but no
build of it loads."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from convscope.ops import conv2d_max_pool, cpu_kernels, max_pool2d, max_pool_path
from convscope.ops import pooling as ops_pooling

built = pytest.mark.skipif(not cpu_kernels.available(), reason="the C kernels are not built here")
# The seed CNN's two pooled maps: 26x26 and 11x11 (an odd size: the last row and column drop).
SEED_MAPS = {"26x26x64": (4, 26, 26, 64), "11x11x64": (4, 11, 11, 64)}


def reference(x: torch.Tensor, relu: bool) -> torch.Tensor:
    pooled = F.max_pool2d(x.movedim(-1, 1), 2).movedim(1, -1)
    return torch.relu(pooled) if relu else pooled


def seed_map(shape: tuple[int, ...], layout: str) -> torch.Tensor:
    """Small whole numbers (ties in most windows, all-negative windows for relu), a NaN and -inf."""
    x = torch.randint(-3, 4, shape, generator=torch.Generator().manual_seed(0)).float()
    x[0, 0, 0, 0], x[1, :2, :2, 1] = float("nan"), float("-inf")
    if layout == "channels-first storage":  # what a convolution with a contiguous kernel gives
        x = x.movedim(-1, 1).contiguous().movedim(1, -1)
    return x


@pytest.mark.parametrize("relu", [False, True], ids=["pool", "pool+relu"])
@pytest.mark.parametrize("shape", list(SEED_MAPS.values()), ids=list(SEED_MAPS))
@pytest.mark.parametrize(("kernels", "needs_grad", "layout", "path"), [
    (True, True, "contiguous", "kernel"),  # training
    (True, False, "contiguous", "kernel"),  # prediction
    (False, False, "contiguous", "pairwise"),  # prediction, kernels off
    (False, True, "contiguous", "torch"),  # training, kernels off
    (True, True, "channels-first storage", "torch"),
    (True, False, "channels-first storage", "torch"),
])
def test_max_pool2d_picks_each_path_and_every_path_gives_max_pool2ds_values(
        shape: tuple[int, ...], relu: bool, kernels: bool, needs_grad: bool, layout: str, path: str) -> None:
    if path == "kernel" and not cpu_kernels.available():
        pytest.skip("the C kernels are not built here")
    x = seed_map(shape, layout).requires_grad_(needs_grad)
    theirs = x.detach().clone().requires_grad_(needs_grad)
    with cpu_kernels.enabled(kernels):
        assert max_pool_path(x, (2, 2), (2, 2), "valid") == path
        got = max_pool2d(x, (2, 2), (2, 2), "valid", relu=relu)
    expected = reference(theirs, relu)
    torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True)
    if needs_grad:
        grad = torch.randn(expected.shape, generator=torch.Generator().manual_seed(1))
        got.backward(grad)
        expected.backward(grad)
        torch.testing.assert_close(x.grad, theirs.grad, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize(("height", "width"), [(26, 26), (11, 11), (4, 7), (2, 2)])
def test_pairwise_maxima_equal_max_pool2d(height: int, width: int, dtype: torch.dtype) -> None:
    x = seed_map((3, height, width, 5), "contiguous").to(dtype)
    got, expected = ops_pooling.pairwise_max_pool_2x2(x), reference(x, relu=False)
    assert got.shape == expected.shape == (3, height // 2, width // 2, 5)
    torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize(("pool_size", "strides", "padding"), [((3, 3), (3, 3), "valid"), ((2, 2), (1, 1), "valid"),
                                                               ((2, 2), (2, 2), "same")])
def test_other_windows_take_pytorchs_pooling_with_its_values(pool_size: tuple[int, int], strides: tuple[int, int],
                                                             padding: str) -> None:
    x = seed_map(SEED_MAPS["11x11x64"], "contiguous")
    with torch.no_grad(), cpu_kernels.enabled(True):
        assert max_pool_path(x, pool_size, strides, padding) == "torch"
        got = max_pool2d(x, pool_size, strides, padding)
    channels_first = x.movedim(-1, 1)
    if padding == "same":  # 11 -> 6 windows: one padded cell after, which never wins
        channels_first = F.pad(channels_first, [0, 1, 0, 1], value=float("-inf"))
    expected = F.max_pool2d(channels_first, pool_size, strides).movedim(1, -1)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True)


def test_a_tensor_off_the_cpu_takes_pytorchs_pooling() -> None:
    x = torch.empty(SEED_MAPS["26x26x64"], device="meta")
    with cpu_kernels.enabled(True):
        assert max_pool_path(x, (2, 2), (2, 2)) == "torch"
        assert max_pool2d(x, (2, 2), (2, 2)).shape == (4, 13, 13, 64)


def seed_conv(needs_grad: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The seed CNN's first layer: 28x28 grayscale images, 64 filters of 3x3."""
    generator = torch.Generator().manual_seed(2)
    x = torch.rand((4, 28, 28, 1), generator=generator).requires_grad_(needs_grad)
    kernel = torch.randn((64, 1, 3, 3), generator=generator).requires_grad_()
    bias = torch.randn((64,), generator=generator).requires_grad_()
    return x, kernel, bias


def plain_conv(kernel: torch.Tensor, bias: torch.Tensor, calls: list[int]):
    def conv(x: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return F.conv2d(x.movedim(-1, 1), kernel, bias).movedim(1, -1)
    return conv


@pytest.mark.parametrize(("kernels", "needs_grad", "fused"), [
    (True, False, True),  # the first layer while training: its input needs no gradient
    (True, True, False),  # saliency: d(output)/d(input) needs PyTorch's convolution
    (False, False, False),
])
def test_conv2d_max_pool_fuses_where_it_applies_and_agrees_with_the_plain_path(
        kernels: bool, needs_grad: bool, fused: bool) -> None:
    if fused and not cpu_kernels.available():
        pytest.skip("the C kernels are not built here")
    x, kernel, bias = seed_conv(needs_grad)
    calls: list[int] = []
    with cpu_kernels.enabled(kernels):
        got = conv2d_max_pool(x, kernel, bias, ((0, 0), (0, 0)), conv=plain_conv(kernel, bias, calls), relu=True)
    assert calls == ([] if fused else [1])
    expected = reference(F.conv2d(x.movedim(-1, 1), kernel, bias).movedim(1, -1), relu=True)
    assert got.shape == expected.shape == (4, 13, 13, 64)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    got.sum().backward()
    ours = kernel.grad.clone()
    kernel.grad = None
    expected.sum().backward()
    torch.testing.assert_close(ours, kernel.grad, rtol=1e-4, atol=1e-4)


@pytest.fixture
def no_build_loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The loader finds no build, as where no C compiler was found at install time."""
    monkeypatch.setattr(cpu_kernels, "load", lambda name: None)
    monkeypatch.setattr(ops_pooling, "_warned", False)
    cpu_kernels.best_library.cache_clear()
    with cpu_kernels.enabled(True):
        yield
    cpu_kernels.best_library.cache_clear()


def test_a_missing_build_warns_once_naming_it_and_the_slower_path(no_build_loads: None) -> None:
    x = seed_map(SEED_MAPS["26x26x64"], "contiguous")
    with pytest.warns(UserWarning) as record:
        with torch.no_grad():
            got = max_pool2d(x, (2, 2), (2, 2))
        max_pool2d(x.requires_grad_(), (2, 2), (2, 2)).sum().backward()
        conv_x, kernel, bias = seed_conv(needs_grad=False)
        conv2d_max_pool(conv_x, kernel, bias, ((0, 0), (0, 0)), conv=plain_conv(kernel, bias, []))
    messages = [str(warning.message) for warning in record if "compiled CPU kernels" in str(warning.message)]
    assert len(messages) == 1
    best = cpu_kernels.builds_for_this_cpu()[0]
    assert f"convscope/ops/{best}" in messages[0] and "2x2 max pooling" in messages[0]
    assert "CONVSCOPE_CPU_KERNELS=0" in messages[0]
    torch.testing.assert_close(got, reference(x.detach(), relu=False), rtol=0, atol=0, equal_nan=True)


def test_kernels_turned_off_take_the_slower_paths_without_a_warning(no_build_loads: None) -> None:
    x = seed_map(SEED_MAPS["11x11x64"], "contiguous")
    with warnings.catch_warnings(), cpu_kernels.enabled(False):
        warnings.simplefilter("error")
        assert max_pool_path(x, (2, 2), (2, 2)) == "pairwise"
        max_pool2d(x.requires_grad_(), (2, 2), (2, 2)).sum().backward()
        conv_x, kernel, bias = seed_conv(needs_grad=False)
        conv2d_max_pool(conv_x, kernel, bias, ((0, 0), (0, 0)), conv=plain_conv(kernel, bias, []))


def test_the_environment_variable_turns_the_kernels_off() -> None:
    script = "from convscope.ops import cpu_kernels; print(cpu_kernels.ENABLED)"
    for value, expected in (("0", "False"), ("1", "True")):
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                                env={**os.environ, "CONVSCOPE_CPU_KERNELS": value})
        assert result.stdout.strip() == expected
