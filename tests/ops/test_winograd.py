"""The Winograd 3x3 convolution + 2x2 max pooling kernel against PyTorch's convolution then
pooling: values and all three gradients to float32 rounding (float64 truth), exactly on
whole-number data, with every build this CPU runs, the seed CNN's second layer first."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from convscope.ops import conv2d_max_pool, conv_pool_path, cpu_kernels, winograd

pytestmark = pytest.mark.skipif(not cpu_kernels.available(), reason="the C kernels are not built here")


@pytest.fixture(autouse=True, params=cpu_kernels.loadable_builds() or [None])
def kernels_on(request: pytest.FixtureRequest):
    """On for every test here, once with every build this CPU runs."""
    if request.param is None:
        yield
        return
    with cpu_kernels.enabled(True), cpu_kernels.build(request.param):
        yield


CASES = {  # (batch, height, width, in channels, filters)
    "seed CNN second layer": (4, 13, 13, 64, 64),  # 13x13x64 -> 11x11x64 -> 5x5x64
    "even map, channels padded to whole vectors": (2, 14, 10, 20, 12),
    "one pooled cell, fewer filters than a vector": (1, 4, 5, 5, 3),
    "several blocks of tile rows per image": (2, 34, 30, 8, 16),  # 16 tile rows of 14: blocks of 2
}


def reference(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None, relu: bool) -> torch.Tensor:
    pooled = F.max_pool2d(F.conv2d(x.movedim(-1, 1), kernel, bias), 2).movedim(1, -1)
    return torch.relu(pooled) if relu else pooled


def inputs(case: tuple[int, ...], seed: int, whole: bool = False) -> list[torch.Tensor]:
    n, h, w, ci, c = case
    generator = torch.Generator().manual_seed(seed)
    if whole:  # small whole numbers: every sum is exact, so ties are real ties
        x = torch.randint(-2, 3, (n, h, w, ci), generator=generator).float()
        kernel = torch.randint(-2, 3, (c, ci, 3, 3), generator=generator).float()
        bias = torch.randint(-2, 3, (c,), generator=generator).float()
    else:
        x = torch.randn((n, h, w, ci), generator=generator)
        kernel = torch.randn((c, ci, 3, 3), generator=generator) / (3 * ci ** 0.5)
        bias = torch.randn((c,), generator=generator)
    return [t.requires_grad_() for t in (x, kernel, bias)]


def assert_close_to_rounding(got: torch.Tensor, expected: torch.Tensor, name: str = "") -> None:
    """Equal up to float32 rounding of sums: relative to the largest value, as sums of terms of
    both signs lose digits where they nearly cancel."""
    got, expected = got.detach(), expected.detach()
    scale = float(expected.abs().max())
    assert scale > 0, name
    torch.testing.assert_close(got.to(expected.dtype), expected, rtol=1e-5, atol=2e-6 * scale, msg=name or None)


def values_and_grads(function, tensors: list[torch.Tensor], relu: bool, grad_seed: int,
                     whole: bool = False) -> list[torch.Tensor]:
    out = function(*tensors, relu)
    generator = torch.Generator().manual_seed(grad_seed)
    grad = torch.randint(-3, 4, out.shape, generator=generator) if whole else torch.randn(out.shape, generator=generator)
    grad = grad.to(out.dtype)
    return [out.detach(), *torch.autograd.grad(out, tensors, grad)]


@pytest.mark.parametrize("relu", [False, True], ids=["pool", "pool+relu"])
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_values_and_gradients_match_the_convolution_then_the_pooling(case: tuple[int, ...], relu: bool) -> None:
    ours = values_and_grads(winograd.conv3x3_max_pool_2x2, inputs(case, 0), relu, 1)
    truth = values_and_grads(reference, [t.detach().double().requires_grad_() for t in inputs(case, 0)], relu, 1)
    n, h, w, ci, c = case
    assert ours[0].shape == (n, (h - 2) // 2, (w - 2) // 2, c) and ours[0].dtype == torch.float32
    for name, got, expected in zip(["output", "input grad", "kernel grad", "bias grad"], ours, truth, strict=True):
        assert_close_to_rounding(got, expected, name)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_whole_numbers_give_exactly_pytorchs_values_and_gradients(case: tuple[int, ...]) -> None:
    # Exact arithmetic leaves only the window semantics: ties go to the first cell, as in
    # max_pool2d, and relu's cut windows get no gradient.
    ours = values_and_grads(winograd.conv3x3_max_pool_2x2, inputs(case, 3, whole=True), True, 4, whole=True)
    theirs = values_and_grads(reference, inputs(case, 3, whole=True), True, 4, whole=True)
    for got, expected in zip(ours, theirs, strict=True):
        torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_no_bias_a_frozen_kernel_and_no_gradient() -> None:
    x, kernel, _ = inputs(CASES["seed CNN second layer"], 5)
    kernel = kernel.detach()
    got = winograd.conv3x3_max_pool_2x2(x, kernel, None, relu=True)
    expected = reference(x, kernel, None, relu=True)
    assert_close_to_rounding(got, expected)
    got.sum().backward()
    ours = x.grad.clone()
    x.grad = None
    expected.sum().backward()
    assert_close_to_rounding(ours, x.grad)
    with torch.no_grad():
        predicted = winograd.conv3x3_max_pool_2x2(x, kernel, None, relu=True)
    assert predicted.grad_fn is None
    torch.testing.assert_close(predicted, got.detach(), rtol=0, atol=0)


def test_the_kernel_gradient_keeps_the_kernels_memory_layout() -> None:
    x, kernel, bias = inputs(CASES["seed CNN second layer"], 6)
    kernel = kernel.detach().to(memory_format=torch.channels_last).requires_grad_()  # what compile leaves
    winograd.conv3x3_max_pool_2x2(x, kernel, bias, relu=True).sum().backward()
    assert kernel.grad.stride() == kernel.stride()
    ours = kernel.grad.clone()
    kernel.grad = None
    reference(x, kernel, bias, relu=True).sum().backward()
    assert_close_to_rounding(ours, kernel.grad)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_split_images_and_sum_their_gradient_parts(threads: int, monkeypatch: pytest.MonkeyPatch) -> None:
    case = (5, 13, 13, 64, 64)  # an odd batch: threads get unequal shares
    truth = values_and_grads(winograd.conv3x3_max_pool_2x2, inputs(case, 7), True, 8)
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)  # what the kernel is told to use
    for got, expected in zip(values_and_grads(winograd.conv3x3_max_pool_2x2, inputs(case, 7), True, 8), truth):
        assert_close_to_rounding(got, expected)  # per-thread partial sums: another summation order


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_the_dispatcher_runs_the_seed_cnns_second_layer_through_it(padding: str) -> None:
    x, kernel, bias = inputs(CASES["seed CNN second layer"], 9)
    pads = ((1, 1), (1, 1)) if padding == "same" else ((0, 0), (0, 0))

    def plain(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t.movedim(-1, 1), kernel, bias, padding=pads[0][0]).movedim(1, -1)

    assert conv_pool_path(x, kernel, bias) == "winograd"
    got = conv2d_max_pool(x, kernel, bias, pads, conv=plain, relu=True)
    expected = torch.relu(F.max_pool2d(plain(x).movedim(-1, 1), 2).movedim(1, -1))
    assert got.shape == expected.shape == ((4, 6, 6, 64) if padding == "same" else (4, 5, 5, 64))
    assert_close_to_rounding(got, expected)
    got.sum().backward()
    ours = [t.grad.clone() for t in (x, kernel, bias)]
    for t in (x, kernel, bias):
        t.grad = None
    expected.sum().backward()
    for got_grad, t in zip(ours, (x, kernel, bias), strict=True):
        assert_close_to_rounding(got_grad, t.grad)


@pytest.mark.parametrize("change", ["bfloat16 autocast", "float64", "5x5 kernel", "kernels off", "too small"])
def test_other_inputs_take_pytorchs_path(change: str) -> None:
    x, kernel, bias = (t.detach() for t in inputs(CASES["seed CNN second layer"], 10))
    if change == "float64":
        x, kernel, bias = x.double(), kernel.double(), bias.double()
    if change == "5x5 kernel":
        kernel = torch.randn(64, 64, 5, 5)
    if change == "too small":
        x = x[:, :3]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=change == "bfloat16 autocast"):
        with cpu_kernels.enabled(change != "kernels off"):
            assert conv_pool_path(x, kernel, bias) == "torch"


def test_its_outputs_skip_deterministic_modes_nan_fill() -> None:
    from torch.profiler import ProfilerActivity, profile

    x, kernel, bias = inputs(CASES["seed CNN second layer"], 11)
    grad = torch.rand(4, 5, 5, 64)
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)  # as convscope.set_seed leaves it
    try:
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as run:
            out = winograd.conv3x3_max_pool_2x2(x, kernel, bias, relu=True)
            out.backward(grad)
    finally:
        torch.use_deterministic_algorithms(before)
    written = [list(t.shape) for t in (out, x, kernel)]  # the output and the input and kernel gradients
    filled = [event.input_shapes[0] for event in run.events() if event.name == "aten::fill_" and event.input_shapes]
    assert not [shape for shape in filled if shape in written]
    for tensor in (out, x.grad, kernel.grad, bias.grad):
        assert not torch.isnan(tensor).any()


def test_a_second_derivative_raises_instead_of_coming_out_wrong() -> None:
    x, kernel, bias = inputs(CASES["seed CNN second layer"], 12)
    out = winograd.conv3x3_max_pool_2x2(x, kernel, bias, relu=True)
    (input_grad,) = torch.autograd.grad(out.square().sum(), x, create_graph=True)  # a gradient penalty
    penalty = input_grad.square().sum() + kernel.sum()  # the first term would silently add nothing
    with pytest.raises(RuntimeError, match="once_differentiable"):
        penalty.backward()
