"""The compiled CPU kernels against PyTorch's operators: pooling bit for bit, the fused
convolution + pooling to float32 rounding, gradients included, and where the layers use them."""

from __future__ import annotations

import platform
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convscope import layers
from convscope.models import Sequential
from convscope.ops import conv_pool_applies, cpu_kernels, winograd
from convscope.ops.pooling import kernels_may_run

built = pytest.mark.skipif(not cpu_kernels.available(), reason="the C kernels are not built here")


@pytest.fixture(autouse=True, params=cpu_kernels.loadable_builds() or [None])
def kernels_on(request: pytest.FixtureRequest):
    """On for every test here, whatever CONVSCOPE_CPU_KERNELS says, once with every build this
    CPU runs (an AVX-512 machine runs the AVX2 and baseline builds too)."""
    if request.param is None:
        with cpu_kernels.enabled(True):
            yield
        return
    with cpu_kernels.enabled(True), cpu_kernels.build(request.param):
        yield


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.machine() != "x86_64",
                    reason="the build this test checks is the Linux x86-64 one")
def test_the_kernels_are_built_and_load_the_best_build_for_this_cpu() -> None:
    lib = cpu_kernels.best_library()
    assert lib is not None
    expected = {"AVX512": 16, "AVX2": 8}.get(torch.backends.cpu.get_cpu_capability().split("_")[0], 4)
    assert lib.cs_kernels_lanes() == expected
    assert len(cpu_kernels.loadable_builds()) == {16: 3, 8: 2, 4: 1}[expected]


def test_a_build_this_cpu_cannot_run_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="kernel build '_cpu_kernels_avx1024' does not load on this CPU"):
        with cpu_kernels.build("_cpu_kernels_avx1024"):
            pass


def reference_pool(x: torch.Tensor) -> torch.Tensor:
    return F.max_pool2d(x.movedim(-1, 1), 2).movedim(1, -1)


def with_specials(x: torch.Tensor) -> torch.Tensor:
    """Ties (small integers), NaNs and -inf, where winners are easy to get wrong."""
    x = x.clone()
    flat = x.view(-1)
    flat[::17] = float("nan")
    flat[5::13] = float("-inf")
    return x


@built
@pytest.mark.parametrize("relu", [False, True], ids=["pool", "pool+relu"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("shape", [(3, 26, 26, 64), (2, 11, 11, 64), (2, 5, 7, 3), (1, 2, 2, 1)])
def test_max_pool_matches_max_pool2d_bit_for_bit(shape: tuple[int, ...], dtype: torch.dtype, relu: bool) -> None:
    generator = torch.Generator().manual_seed(0)
    x0 = with_specials(torch.randint(-3, 4, shape, generator=generator).to(dtype))
    grad = torch.randn((shape[0], shape[1] // 2, shape[2] // 2, shape[3]), generator=generator).to(dtype)
    ours, theirs = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    after = torch.relu if relu else (lambda t: t)
    got, expected = cpu_kernels.max_pool_2x2(ours, relu=relu), after(reference_pool(theirs))
    torch.testing.assert_close(got, expected, rtol=0, atol=0, equal_nan=True)
    got.backward(grad)
    expected.backward(grad)
    torch.testing.assert_close(ours.grad, theirs.grad, rtol=0, atol=0, equal_nan=True)
    with torch.no_grad():
        torch.testing.assert_close(cpu_kernels.max_pool_2x2(x0, relu=relu), expected, rtol=0, atol=0,
                                   equal_nan=True)


def reference_conv_pool(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return F.max_pool2d(F.conv2d(x.movedim(-1, 1), kernel, bias), 2).movedim(1, -1)


CONV_CASES = [  # (batch, height, width, in channels, filters, kernel size)
    (4, 28, 28, 1, 64, 3),   # the seed CNN's first layer (a shape with its own unrolled code)
    (2, 12, 10, 3, 16, 3),   # RGB 3x3 (unrolled too)
    (2, 14, 13, 1, 20, 5),   # LeNet-5's 5x5 (unrolled too), a partial last vector of filters
    (3, 17, 14, 3, 8, 5),    # the general code: RGB 5x5, odd map sizes, fewer filters than a vector
    (2, 9, 8, 2, 37, 2),     # the general code: 2 channels, even kernel
]


def conv_inputs(case: tuple[int, ...], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    n, h, w, ci, c, k = case
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand((n, h, w, ci), generator=generator)
    kernel = torch.randn((c, ci, k, k), generator=generator).requires_grad_()
    bias = torch.randn((c,), generator=generator).requires_grad_()
    return x, kernel, bias


@built
@pytest.mark.parametrize("relu", [False, True], ids=["pool", "pool+relu"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_fused_conv_pool_float32_matches_conv_then_pool(case: tuple[int, ...], relu: bool) -> None:
    x, kernel, bias = conv_inputs(case)
    after = torch.relu if relu else (lambda t: t)
    got = cpu_kernels.conv_max_pool_2x2(x, kernel, bias, relu=relu)
    # Float64 truth with the same inputs: the fused sums differ from oneDNN's only in order.
    truth = after(reference_conv_pool(x.double(), kernel.detach().double(), bias.detach().double()))
    assert got.dtype == torch.float32 and got.shape == truth.shape
    torch.testing.assert_close(got.double(), truth, rtol=1e-5, atol=1e-5)
    grad = torch.randn(got.shape, generator=torch.Generator().manual_seed(1))
    got.backward(grad)
    ours = (kernel.grad.clone(), bias.grad.clone())
    kernel.grad = bias.grad = None
    after(reference_conv_pool(x, kernel, bias)).backward(grad)
    torch.testing.assert_close(ours[0], kernel.grad, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(ours[1], bias.grad, rtol=1e-4, atol=1e-4)


def winners_flat(code: torch.Tensor, conv_width: int) -> torch.Tensor:
    """The kernel's recorded winners (0-3 per window) as flat indices into the (N, C, H, W)
    convolution map, the way max_pool2d's return_indices gives them."""
    code = code.long().movedim(-1, 1)
    rows = torch.arange(code.shape[2]).view(1, 1, -1, 1) * 2 + code // 2
    cols = torch.arange(code.shape[3]).view(1, 1, 1, -1) * 2 + code % 2
    return rows * conv_width + cols


def kernel_gradient_float64(x: torch.Tensor, grad: torch.Tensor, winners: torch.Tensor,
                            kernel_shape: torch.Size) -> torch.Tensor:
    """d(sum(grad * pooled))/d(kernel) in float64, for (N, H, W, Ci) `x`, (N, Ho, Wo, C) `grad`
    and the flat winners of each window."""
    n, c, k = x.shape[0], kernel_shape[0], kernel_shape[-1]
    patches = F.unfold(x.double().movedim(-1, 1), k)  # (N, Ci*K*K, conv cells)
    spread = torch.zeros((n, c, patches.shape[-1]), dtype=torch.float64)
    spread.scatter_add_(2, winners.reshape(n, c, -1), grad.double().movedim(-1, 1).reshape(n, c, -1))
    return torch.einsum("ncl,npl->cp", spread, patches).reshape(kernel_shape)


@built
@pytest.mark.parametrize("relu", [False, True], ids=["pool", "pool+relu"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_fused_conv_pool_under_bfloat16_autocast_matches_a_bfloat16_convolution(case: tuple[int, ...],
                                                                                relu: bool) -> None:
    x, kernel, bias = conv_inputs(case, seed=2)
    after = torch.relu if relu else (lambda t: t)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = cpu_kernels.conv_max_pool_2x2(x, kernel, bias, relu=relu)
        conv = F.conv2d(x.movedim(-1, 1), kernel, bias)
    pooled, their_winners = F.max_pool2d(conv, 2, return_indices=True)
    expected = after(pooled.movedim(1, -1))
    assert got.dtype == expected.dtype == torch.bfloat16
    # Both round float32 sums to bfloat16; a sum that lands on a rounding boundary in one order
    # and not the other differs by one bfloat16 step, so allow that for a handful of cells.
    differ = got != expected
    assert differ.float().mean() < 0.002
    torch.testing.assert_close(got.float(), expected.float(), rtol=2 ** -7, atol=1e-6)
    _, code, _ = cpu_kernels.conv_pool_forward(x, kernel, bias, torch.bfloat16, relu, record=True)
    assert code is not None
    ours_won = winners_flat(code.masked_fill(code == 4, 0), conv.shape[-1])  # (N, C, Ho, Wo)
    live = (code != 4).movedim(-1, 1)  # windows relu zeroed take no gradient: no winner to compare
    assert (ours_won == their_winners)[live].float().mean() > 0.99
    grad = torch.randn(got.shape, generator=torch.Generator().manual_seed(3)).bfloat16()
    if relu:  # where relu zeroed a window, no gradient flows
        grad = grad.masked_fill(code == 4, 0)
    got.backward(grad)
    ours = kernel.grad.clone()
    kernel.grad = bias.grad = None
    expected.backward(grad)
    theirs = kernel.grad
    # The truth: float64 arithmetic on the bfloat16-rounded input, through each side's own
    # winners. Ours accumulates in float32, so it matches to float32 rounding; PyTorch's
    # bfloat16 convolution rounds partial sums to bfloat16 (how much depends on the CPU's oneDNN
    # path), so it is held to bfloat16's rounding bound, 2^-8 of the sum of |terms|.
    x_seen = x.bfloat16().float()
    truth = kernel_gradient_float64(x_seen, grad, ours_won, kernel.shape)
    scale = kernel_gradient_float64(x_seen.abs(), grad.abs(), ours_won, kernel.shape)
    assert ours.dtype == theirs.dtype == torch.float32
    assert ((ours.double() - truth).abs() <= 1e-5 * scale + 1e-6).all()
    their_truth = kernel_gradient_float64(x_seen, grad, their_winners, kernel.shape)
    assert ((theirs.double() - their_truth).abs() <= 2 ** -8 * scale + 1e-3).all()


@built
def test_the_kernel_gradient_has_the_kernels_memory_layout() -> None:
    x, kernel, bias = conv_inputs(CONV_CASES[0])
    kernel = kernel.detach().to(memory_format=torch.channels_last).requires_grad_()
    assert kernel.stride() == (9, 1, 3, 1)  # what a Conv2D layer holds; contiguous is (9, 9, 3, 1)
    cpu_kernels.conv_max_pool_2x2(x, kernel, bias).sum().backward()
    assert kernel.grad.stride() == kernel.stride()
    expected = kernel.grad.clone()
    kernel.grad = None
    reference_conv_pool(x, kernel, bias).sum().backward()
    torch.testing.assert_close(expected, kernel.grad, rtol=1e-4, atol=1e-4)


@built
def test_no_gradient_means_no_winners_recorded_and_the_same_values() -> None:
    x, kernel, bias = conv_inputs(CONV_CASES[0])
    with torch.no_grad():
        got = cpu_kernels.conv_max_pool_2x2(x, kernel, bias)
    assert not got.requires_grad and got.grad_fn is None
    torch.testing.assert_close(got, cpu_kernels.conv_max_pool_2x2(x, kernel, bias).detach(), rtol=0, atol=0)


def seed_cnn(padding: str = "valid") -> Sequential:
    torch.manual_seed(0)
    return Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(16, 3, activation="relu", padding=padding),
        layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])


@built
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_a_sequential_runs_both_convs_and_pools_through_the_kernels(padding: str, monkeypatch) -> None:
    model = seed_cnn(padding)
    calls = {"conv": 0, "winograd": 0, "pool": 0}

    def counted(module, name: str, key: str) -> None:
        function = getattr(module, name)

        def count(*args, **kwargs):
            calls[key] += 1
            return function(*args, **kwargs)

        monkeypatch.setattr(module, name, count)

    counted(cpu_kernels, "conv_max_pool_2x2", "conv")
    counted(winograd, "conv3x3_max_pool_2x2", "winograd")
    counted(cpu_kernels, "max_pool_2x2", "pool")
    x = torch.rand(5, 28, 28, 1)
    got = model(x)
    # the first conv fused with its pool (few channels), the second with its pool (Winograd)
    assert calls == {"conv": 1, "winograd": 1, "pool": 0}
    with cpu_kernels.enabled(False):
        expected = model(x)
    assert calls == {"conv": 1, "winograd": 1, "pool": 0}
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # Winograd is float32 only
        model(x)
    assert calls == {"conv": 2, "winograd": 1, "pool": 1}


@built
def test_training_steps_agree_with_and_without_the_kernels() -> None:
    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    y = np.arange(64) % 10
    weights = []
    for on in (True, False):
        model = seed_cnn()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", precision="float32")
        with cpu_kernels.enabled(on):
            model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        weights.append([w.copy() for w in model.get_weights()])
    for ours, theirs in zip(*weights):
        np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-5)


def runs_fused(layer: layers.Layer, pool: layers.Layer, x: torch.Tensor) -> bool:
    """Whether a model runs `layer` and `pool` as one kernel on `x`: allowed by its plan, and by
    ops for this input."""
    assert isinstance(layer, layers.Conv2D)
    return layer.fusable_with_pool(pool) and conv_pool_applies(x, layer.kernel)


@built
def test_an_input_that_needs_a_gradient_takes_pytorchs_path() -> None:
    model = seed_cnn()
    layer, pool = model.layers[0], model.layers[1]
    x = torch.rand(2, 28, 28, 1)
    assert runs_fused(layer, pool, x)
    x.requires_grad_()
    assert not runs_fused(layer, pool, x)  # saliency needs d(output)/d(input)
    model(x)[:, 3].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@built
@pytest.mark.parametrize("change", ["strides", "dilation", "channels_first", "many channels, 5x5 kernel",
                                    "float64"])
def test_other_convolutions_are_not_fused(change: str) -> None:
    x = torch.rand(2, 12, 12, 1)
    options = {"strides": {"strides": 2}, "dilation": {"dilation_rate": 2},
               "channels_first": {"data_format": "channels_first"}}.get(change, {})
    kernel_size = 3
    if change.startswith("many channels"):  # 3x3 would take the Winograd kernel
        x, kernel_size = torch.rand(2, 12, 12, cpu_kernels.MAX_FUSED_INPUT_CHANNELS + 1), 5
    if change == "float64":
        x = x.double()
    if change == "channels_first":
        x = x.movedim(-1, 1)
    layer = layers.Conv2D(4, kernel_size, activation="relu", **options)
    pool = layers.MaxPooling2D(2, data_format=options.get("data_format"))
    model = Sequential([layers.Input(x.shape[1:]), layer, pool])
    if change == "float64":
        model.double()
    assert not runs_fused(layer, pool, x)
    assert model(x).shape[0] == 2


@built
@pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated:DeprecationWarning")
def test_tracing_sees_pytorchs_operators() -> None:
    seen = []

    def probe(t: torch.Tensor) -> torch.Tensor:
        seen.append(kernels_may_run(t))
        return t * 2

    x = torch.rand(2)
    probe(x)
    torch.jit.trace(probe, x)
    assert seen[:2] == [True, False]  # eager, then while tracing (the check run may follow)


@built
def test_kernel_outputs_skip_deterministic_modes_nan_fill_and_are_still_written_whole() -> None:
    # torch.use_deterministic_algorithms (convscope.set_seed) fills each new tensor with NaN; the
    # kernels write every element of what they return, so they skip that pass: no fill runs on
    # their outputs, and no NaN survives in them.
    from torch.profiler import ProfilerActivity, profile

    x, kernel, bias = conv_inputs(CONV_CASES[0])
    feature_map = torch.rand(2, 11, 11, 64, requires_grad=True)
    grads = [torch.rand(2, 5, 5, 64), torch.rand(4, 13, 13, 64)]
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        assert torch.isnan(torch.empty(4)).all()  # what deterministic mode does to a plain empty()
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as run:
            pooled = cpu_kernels.max_pool_2x2(feature_map, relu=True)
            pooled.backward(grads[0])
            conv = cpu_kernels.conv_max_pool_2x2(x, kernel, bias, relu=True)
            conv.backward(grads[1])
        assert torch.utils.deterministic.fill_uninitialized_memory  # restored
    finally:
        torch.use_deterministic_algorithms(before)
    outputs = [list(t.shape) for t in (pooled, feature_map, conv, kernel)]
    filled = [event.input_shapes[0] for event in run.events() if event.name == "aten::fill_" and event.input_shapes]
    assert not [shape for shape in filled if shape in outputs]
    for tensor in (pooled, feature_map.grad, conv, kernel.grad):
        assert not torch.isnan(tensor).any()
