"""Compiled CPU kernels for 2x2 max pooling and for a first convolution fused with it, and the
loader of the library that also holds the Winograd kernel (`convscope.ops.winograd`).

On a CPU the training step of a small CNN is dominated by memory traffic around its first
convolution: PyTorch writes the full-resolution feature map (11 MB per batch of 128 for the
seed CNN's 26x26x64 map in bfloat16), max pooling writes an int64 index per pooled cell, and its
backward fills a zero gradient of the map's size and scatters into it. The kernels in
`_cpu_kernels.c` do the same arithmetic with less traffic:

- `max_pool_2x2`: 2x2/2 max pooling of a channels-last tensor that records each window's winner
  in one byte and whose backward writes every input cell once. Same values and gradients as
  `max_pool2d`, bit for bit.
- `conv_max_pool_2x2`: a stride-1 convolution with few input channels (grayscale or RGB images)
  and the 2x2 max pooling after it, computed together; the feature map is never stored. Values
  match the convolution then the pooling up to float32 rounding (the sums run in another order);
  the kernel and bias gradients come from the recorded winners. The input gets no gradient, so
  it is used only where the input needs none (a network's first layer while training).

Both can apply the relu that follows the pooling in the same pass. This module loads the
kernels and wraps them in autograd functions; when they run is decided in one place,
`convscope.ops.pooling` (`max_pool2d`, `conv2d_max_pool`): on CPU tensors they take, never
inside tracing, `torch.compile` or export, which see PyTorch's own operators. On a 2-core CPU
they make a bf16 training step of the seed CNN about 1.5x faster (`benchmarks/LEVERS.md`,
"Third round").

The library is built with the package (`setup.py`), once per x86 instruction set level, and runs
on the OpenMP threads PyTorch uses; without a C compiler it is missing, PyTorch's operators are
used and a warning says so once. `CONVSCOPE_CPU_KERNELS=0` turns the kernels off (silently).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib
import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F

VERSION = 3
# A fused convolution pays while its input has few channels: the kernel reads each input cell
# once per output channel and position; with many channels oneDNN's blocked convolution wins.
MAX_FUSED_INPUT_CHANNELS = 4

_SIZES = [ctypes.c_int64, ctypes.c_int]  # (batch size, threads) ends every signature
_POINTER = ctypes.c_void_p
_INT = ctypes.c_int64
_FLAG = ctypes.c_int
SIGNATURES: dict[str, list[Any]] = {
    **{f"cs_maxpool2x2_forward_{suffix}": [_POINTER] * 3 + [_INT] * 5 + [_FLAG] + _SIZES
       for suffix in ("f32", "bf16")},
    **{f"cs_maxpool2x2_backward_{suffix}": [_POINTER] * 3 + [_INT] * 5 + _SIZES for suffix in ("b32", "b16")},
    **{f"cs_conv_pool_forward_{suffix}": [_POINTER] * 5 + [_INT] * 9 + [_FLAG] + _SIZES
       for suffix in ("f32", "bf16")},
    **{f"cs_conv_pool_backward_{suffix}": [_POINTER] * 5 + [_INT] * 9 + _SIZES for suffix in ("f32", "bf16")},
    "cs_wino_scratch_floats": [_INT] * 4,
    "cs_wino_pool_forward_f32": [_POINTER] * 6 + [_INT] * 6 + [_FLAG] + _SIZES,
    "cs_wino_pool_backward_f32": [_POINTER] * 8 + [_INT] * 6 + _SIZES,
    "cs_wino_kernel_f32": [_POINTER] * 3 + [_INT] * 4 + [_FLAG],
    "cs_wino_kernel_grad_f32": [_POINTER, _INT, _POINTER, _POINTER] + [_INT] * 4,
}
RESULTS: dict[str, Any] = {"cs_wino_scratch_floats": ctypes.c_int64}  # the others return nothing


ENABLED = os.environ.get("CONVSCOPE_CPU_KERNELS", "1").strip().lower() not in ("0", "false", "off", "no")


@contextlib.contextmanager
def enabled(on: bool) -> Iterator[None]:
    """Turn the kernels on or off inside the block (for comparisons and tests)."""
    global ENABLED
    before, ENABLED = ENABLED, on
    try:
        yield
    finally:
        ENABLED = before


# Builds of _cpu_kernels.c by the instruction sets they need, best first (see setup.py), keyed
# by what PyTorch reports the CPU supports (ATEN_CPU_CAPABILITY lowers it for both).
BUILDS = {"AVX512": ("_cpu_kernels_avx512", "_cpu_kernels_avx2", "_cpu_kernels"),
          "AVX2": ("_cpu_kernels_avx2", "_cpu_kernels")}
_chosen_build: str | None = None  # set by `build` to run one build whatever the CPU's best is


def builds_for_this_cpu() -> tuple[str, ...]:
    """Names of the builds this CPU can run, best first (built or not)."""
    capability = torch.backends.cpu.get_cpu_capability()
    return BUILDS.get(capability.removesuffix("_BF16").split("_")[0], ("_cpu_kernels",))


@functools.cache
def load(name: str) -> ctypes.CDLL | None:
    """One build of the kernels, or None where it was not built or does not load."""
    try:
        module = importlib.import_module(f"{__package__}.{name}")
        lib = ctypes.CDLL(module.__file__)
    except (ImportError, OSError):
        return None
    lib.cs_kernels_version.restype = lib.cs_kernels_lanes.restype = ctypes.c_int
    if lib.cs_kernels_version() != VERSION:
        return None
    for function_name, argtypes in SIGNATURES.items():
        function = getattr(lib, function_name)
        function.argtypes, function.restype = argtypes, RESULTS.get(function_name)
    return lib


def loadable_builds() -> list[str]:
    """The builds that are built and that this CPU runs, best first."""
    return [name for name in builds_for_this_cpu() if load(name) is not None]


@functools.cache
def best_library() -> ctypes.CDLL | None:
    """The best build this CPU runs, or None where none was built or loads."""
    return next((lib for lib in map(load, builds_for_this_cpu()) if lib is not None), None)


def library() -> ctypes.CDLL | None:
    """The kernels in use: the best build, or the one `build` chose."""
    return best_library() if _chosen_build is None else load(_chosen_build)


@contextlib.contextmanager
def build(name: str) -> Iterator[None]:
    """Run the kernels of build `name` inside the block (to test every build a CPU can run)."""
    global _chosen_build
    if name not in loadable_builds():
        raise ValueError(f"kernel build {name!r} does not load on this CPU; loadable: {loadable_builds()}")
    before, _chosen_build = _chosen_build, name
    try:
        yield
    finally:
        _chosen_build = before


def lanes() -> int:
    """Channels per vector in the loaded build (the fused kernel pads channels to a multiple)."""
    lib = library()
    return 1 if lib is None else int(lib.cs_kernels_lanes())


def padded_channels(channels: int) -> int:
    """`channels` rounded up to whole vectors: the fused kernel's weights are zero-padded so."""
    return -(-channels // lanes()) * lanes()


def available() -> bool:
    """Whether the kernels were built and load."""
    return library() is not None


def _pointer(t: torch.Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def written_whole(shape: tuple[int, ...], dtype: torch.dtype = torch.float32,
                  stride: tuple[int, ...] | None = None) -> torch.Tensor:
    """A new tensor that a kernel writes in full. Under `torch.use_deterministic_algorithms`
    (which `convscope.set_seed` turns on) PyTorch fills every new tensor with NaN first, so
    that reading uninitialised memory is reproducible; for a tensor the kernel writes whole that
    is a wasted pass over it (5.5 MB three times per step for the seed CNN at batch 128), so it
    is skipped here."""
    deterministic: Any = torch.utils.deterministic  # a module whose flag is a property
    fill = torch.are_deterministic_algorithms_enabled() and deterministic.fill_uninitialized_memory
    if fill:
        deterministic.fill_uninitialized_memory = False
    try:
        return torch.empty(shape, dtype=dtype) if stride is None else torch.empty_strided(shape, stride, dtype=dtype)
    finally:
        if fill:
            deterministic.fill_uninitialized_memory = True


# -- max pooling ------------------------------------------------------------------------------

def max_pool_2x2(x: torch.Tensor, relu: bool = False) -> torch.Tensor:
    """2x2/2 'valid' max pooling of a contiguous (N, H, W, C) float32 or bfloat16 CPU tensor,
    followed by relu with `relu`."""
    if torch.is_grad_enabled() and x.requires_grad:
        return _MaxPool2x2.apply(x, relu)
    return pool_forward(x, relu, record=False)[0]


def pool_supports(x: torch.Tensor) -> bool:
    """Whether `max_pool_2x2` takes `x`: a contiguous, non-empty (N, H, W, C) float32 or
    bfloat16 tensor with at least one 2x2 window."""
    return (x.dim() == 4 and x.dtype in (torch.float32, torch.bfloat16) and x.is_contiguous()
            and x.shape[1] >= 2 and x.shape[2] >= 2 and x.numel() > 0)


def pool_forward(x: torch.Tensor, relu: bool, record: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pooled values and, with `record`, each window's winning cell (0-3, row by row; 4 where
    relu zeroed the window)."""
    lib = library()
    assert lib is not None
    n, h, w, c = x.shape
    ho, wo = h // 2, w // 2
    out = written_whole((n, ho, wo, c), x.dtype)
    code = written_whole((n, ho, wo, c), torch.uint8) if record else None
    kernel = lib.cs_maxpool2x2_forward_bf16 if x.dtype == torch.bfloat16 else lib.cs_maxpool2x2_forward_f32
    kernel(x.data_ptr(), out.data_ptr(), _pointer(code), h, w, c, ho, wo, relu, n, torch.get_num_threads())
    return out, code


class _MaxPool2x2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, relu: bool) -> torch.Tensor:
        out, code = pool_forward(x, relu, record=True)
        ctx.save_for_backward(code)
        ctx.input_shape = tuple(x.shape)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        lib = library()
        assert lib is not None
        (code,) = ctx.saved_tensors
        n, h, w, c = ctx.input_shape
        grad = grad.contiguous()
        grad_in = written_whole((n, h, w, c), grad.dtype)
        if h % 2:
            grad_in[:, -1].zero_()
        if w % 2:
            grad_in[:, :, -1].zero_()
        kernel = lib.cs_maxpool2x2_backward_b16 if grad.element_size() == 2 else lib.cs_maxpool2x2_backward_b32
        kernel(grad.data_ptr(), code.data_ptr(), grad_in.data_ptr(), h, w, c, h // 2, w // 2, n,
               torch.get_num_threads())
        return grad_in, None


# -- convolution + max pooling ----------------------------------------------------------------

def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """The dtype a convolution of `x` would produce here: autocast's on the CPU, else x's."""
    if torch.is_autocast_enabled("cpu"):
        return torch.get_autocast_dtype("cpu")
    return x.dtype


def conv_pool_supports(x: torch.Tensor, kernel: torch.Tensor) -> bool:
    """A (N, H, W, Ci) float32 input without gradient, a (C, Ci, KH, KW) kernel with few input
    channels, and a float32 or bfloat16 result."""
    return (x.dim() == 4 and kernel.dim() == 4 and x.dtype == torch.float32
            and kernel.dtype == torch.float32 and compute_dtype(x) in (torch.float32, torch.bfloat16)
            and not (x.requires_grad and torch.is_grad_enabled())
            and kernel.shape[1] == x.shape[-1] <= MAX_FUSED_INPUT_CHANNELS
            and x.shape[1] - kernel.shape[2] + 1 >= 2 and x.shape[2] - kernel.shape[3] + 1 >= 2
            and x.shape[0] > 0)


def conv_max_pool_2x2(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None,
                      relu: bool = False) -> torch.Tensor:
    """max_pool2d(conv2d(x, kernel, bias), 2) for a channels-last (N, H, W, Ci) `x` and a kernel
    in PyTorch's (C, Ci, KH, KW) layout, 'valid', stride 1, followed by relu with `relu`;
    returns (N, Ho, Wo, C)."""
    dtype = compute_dtype(x)
    weights = [kernel] if bias is None else [kernel, bias]
    if torch.is_grad_enabled() and any(t.requires_grad for t in weights):
        return _ConvMaxPool2x2.apply(x, kernel, bias, dtype, relu)
    return conv_pool_forward(x, kernel, bias, dtype, relu, record=False)[0]


def conv_pool_forward(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None, dtype: torch.dtype,
                      relu: bool, record: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """Pooled convolution values in `dtype`, the winning cells with `record`, and the float32
    input the kernel read (what the backward needs)."""
    lib = library()
    assert lib is not None
    n, h, w, ci = x.shape
    c, _, kh, kw = kernel.shape
    ho, wo = (h - kh + 1) // 2, (w - kw + 1) // 2
    # Values as the convolution would see them: rounded to bfloat16 under bfloat16 autocast.
    as_computed = (lambda t: t.to(dtype).float()) if dtype == torch.bfloat16 else (lambda t: t)
    cp = padded_channels(c)
    x32 = as_computed(x.contiguous())
    taps = as_computed(F.pad(kernel.detach().permute(2, 3, 1, 0), (0, cp - c)).contiguous())
    shift = None if bias is None else as_computed(F.pad(bias.detach(), (0, cp - c)).contiguous())
    out = written_whole((n, ho, wo, c), dtype)
    code = written_whole((n, ho, wo, c), torch.uint8) if record else None
    function = lib.cs_conv_pool_forward_bf16 if dtype == torch.bfloat16 else lib.cs_conv_pool_forward_f32
    function(x32.data_ptr(), taps.data_ptr(), _pointer(shift), out.data_ptr(), _pointer(code),
             h, w, ci, kh, kw, c, cp, ho, wo, relu, n, torch.get_num_threads())
    return out, code, x32


class _ConvMaxPool2x2(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None,
                dtype: torch.dtype, relu: bool) -> torch.Tensor:
        out, code, x32 = conv_pool_forward(x, kernel, bias, dtype, relu, record=True)
        ctx.save_for_backward(x32, code)
        ctx.has_bias = bias is not None
        ctx.kernel_shape, ctx.kernel_stride = tuple(kernel.shape), kernel.stride()
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        lib = library()
        assert lib is not None
        x32, code = ctx.saved_tensors
        n, h, w, ci = x32.shape
        c, _, kh, kw = ctx.kernel_shape
        ho, wo = code.shape[1:3]
        cp = padded_channels(c)
        grad = grad.contiguous()
        if grad.dtype not in (torch.float32, torch.bfloat16):
            grad = grad.float()
        parts = torch.get_num_threads()  # one partial sum per thread
        grad_taps = torch.zeros((parts, kh, kw, ci, cp), dtype=torch.float32)
        grad_bias = torch.zeros((parts, cp), dtype=torch.float32)
        function = lib.cs_conv_pool_backward_bf16 if grad.dtype == torch.bfloat16 else lib.cs_conv_pool_backward_f32
        function(x32.data_ptr(), grad.data_ptr(), code.data_ptr(), grad_taps.data_ptr(), grad_bias.data_ptr(),
                 h, w, ci, kh, kw, c, cp, ho, wo, n, parts)
        grad_kernel = None
        if ctx.needs_input_grad[1]:  # in the kernel's own layout, as DDP's buckets and fused optimizers expect
            grad_kernel = written_whole(ctx.kernel_shape, stride=ctx.kernel_stride)
            grad_kernel.copy_(grad_taps.sum(0)[..., :c].permute(3, 2, 0, 1))
        grad_shift = grad_bias.sum(0)[:c] if ctx.has_bias and ctx.needs_input_grad[2] else None
        return None, grad_kernel, grad_shift, None, None
