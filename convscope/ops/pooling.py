"""Max pooling and a first convolution fused with it: one dispatcher per operation.

Each dispatcher owns every condition for its fast paths, so layers and models only say what to
compute. Tensors are channels-last, (N, H, W, C) in and out, as the layers use them.

`max_pool2d` picks one of three paths (`max_pool_path` says which it would take):

- "kernel": the compiled 2x2/2 kernel (`cpu_kernels.max_pool_2x2`), for a 2x2 window with
  stride 2 and 'valid' padding on a contiguous float32 or bfloat16 CPU tensor, kernels on;
- "pairwise": the same windows as two elementwise maxima where no gradient is needed and the
  kernels are off or missing (prediction on a CPU);
- "torch": PyTorch's `max_pool2d` for everything else, on any device.

`conv2d_max_pool` runs a convolution and the 2x2 max pooling after it (and the relu after
that) as one compiled kernel where one applies: `conv_pool_fusable` is the part known before
any data arrives (a model's plan asks it once), `conv_pool_path` the part that needs the tensor:

- "few channels": a convolution of an input with few channels that needs no gradient (a
  network's first layer; `cpu_kernels.conv_max_pool_2x2`), float32 or bfloat16;
- "winograd": a 3x3 convolution of an input with more channels, float32, input gradient
  included (the layers after the first; `winograd.conv3x3_max_pool_2x2`);
- "torch": elsewhere, the plain convolution, then `max_pool2d`.

All paths give the same values (the fused convolutions up to float32 rounding). Where a
kernel would run but no build of it loads on this CPU, the first call warns once, naming the
build and the slower path; `CONVSCOPE_CPU_KERNELS=0` chooses the slower paths without a warning.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from convscope.ops import cpu_kernels, winograd

Pads = Sequence[tuple[int, int]]  # (before, after) zero padding per spatial axis

_warned = False  # the missing-build warning is given once per process


def kernels_may_run(x: torch.Tensor) -> bool:
    """Whether the compiled kernels may run on `x` now, built or not: turned on, a CPU tensor,
    outside tracing, `torch.compile` and ONNX export (which must see PyTorch's operators)."""
    return (cpu_kernels.ENABLED and x.device.type == "cpu" and not torch.jit.is_tracing()
            and not torch.compiler.is_compiling() and not torch.onnx.is_in_onnx_export())


def kernels_loaded(slower_path: str) -> bool:
    """Whether a build of the kernels loads; where none does, warn once that `slower_path`
    runs instead."""
    global _warned
    if cpu_kernels.library() is not None:
        return True
    if not _warned:
        _warned = True
        builds = ", ".join(f"convscope/ops/{name}" for name in cpu_kernels.builds_for_this_cpu())
        warnings.warn(f"convscope's compiled CPU kernels are not built or do not load on this CPU (looked for "
                      f"{builds}); {slower_path} runs on PyTorch's operators instead, which is slower. Reinstall "
                      "convscope where a C compiler is found (pip install -e .), or set CONVSCOPE_CPU_KERNELS=0 to "
                      "choose the slower path without this warning.", stacklevel=3)
    return False


# -- max pooling ------------------------------------------------------------------------------

def max_pool_path(x: torch.Tensor, pool_size: Sequence[int], strides: Sequence[int], padding: str = "valid") -> str:
    """The path `max_pool2d` takes for `x`: "kernel", "pairwise" or "torch" (see the module
    text). May warn once that the kernels are missing."""
    if not (tuple(pool_size) == tuple(strides) == (2, 2) and padding == "valid"):
        return "torch"
    if (kernels_may_run(x) and cpu_kernels.pool_supports(x)
            and kernels_loaded("2x2 max pooling (forward and backward)")):
        return "kernel"
    if x.device.type == "cpu" and x.is_contiguous() and not (torch.is_grad_enabled() and x.requires_grad):
        return "pairwise"
    return "torch"


def max_pool2d(x: torch.Tensor, pool_size: Sequence[int], strides: Sequence[int], padding: str = "valid",
               relu: bool = False) -> torch.Tensor:
    """Max pooling of a channels-last (N, H, W, C) tensor, then relu with `relu`.

    Output (N, Ho, Wo, C) with Ho = floor((H - p) / s) + 1 for 'valid', ceil(H / s) for 'same'
    (padded cells never win, Keras's rule); likewise Wo.

    >>> max_pool2d(torch.rand(8, 26, 26, 64), (2, 2), (2, 2)).shape
    torch.Size([8, 13, 13, 64])
    """
    path = max_pool_path(x, pool_size, strides, padding)
    if path == "kernel":
        return cpu_kernels.max_pool_2x2(x, relu=relu)
    if path == "pairwise":
        pooled = pairwise_max_pool_2x2(x)
    else:
        pooled = torch_max_pool2d(x, pool_size, strides, padding)
    return torch.relu(pooled) if relu else pooled


def torch_max_pool2d(x: torch.Tensor, pool_size: Sequence[int], strides: Sequence[int], padding: str) -> torch.Tensor:
    """PyTorch's max pooling of a channels-last tensor, viewed channels-first (no copy)."""
    channels_first = x.movedim(-1, 1)
    if padding == "same":
        pads = [same_pads(n, p, s) for n, p, s in zip(channels_first.shape[2:], pool_size, strides)]
        flat = [side for pair in reversed(pads) for side in pair]
        if any(flat):
            channels_first = F.pad(channels_first, flat, value=float("-inf"))
    return F.max_pool2d(channels_first, tuple(pool_size), tuple(strides)).movedim(1, -1)


def same_pads(length: int, window: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of one axis for 'same' pooling: the odd cell goes after."""
    total = max((math.ceil(length / stride) - 1) * stride + window - length, 0)
    return total // 2, total - total // 2


def pairwise_max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """2x2/2 max pooling of a contiguous (N, H, W, C) tensor as two elementwise maxima: first
    of horizontal neighbours, then of vertical ones. Each reads long contiguous runs and no
    argmax indices are written, which makes it about 1.5-2x faster than `max_pool2d` on a CPU;
    used where no gradient is needed (prediction). Same values as `max_pool2d`: an odd last
    row or column is dropped, as 'valid' pooling does.
    """
    n, h, w, c = x.shape
    rows, cols = h // 2, w // 2
    if h % 2 or w % 2:
        x = x[:, :2 * rows, :2 * cols]
    pairs = x.reshape(n, 2 * rows, cols, 2, c)
    across = torch.maximum(pairs[:, :, :, 0], pairs[:, :, :, 1]).view(n, rows, 2, cols, c)
    return torch.maximum(across[:, :, 0], across[:, :, 1])


# -- convolution + max pooling ----------------------------------------------------------------

def conv_pool_fusable(in_channels: int, kernel_size: Sequence[int], strides: Sequence[int],
                      dilation_rate: Sequence[int], padding: str, pool_size: Sequence[int],
                      pool_strides: Sequence[int], pool_padding: str) -> bool:
    """Whether a channels-last 2-D convolution and the max pooling after it are a case of
    `conv2d_max_pool`'s kernels, as far as known before any data: stride 1, no dilation, 'valid'
    or 'same', few input channels (`cpu_kernels.MAX_FUSED_INPUT_CHANNELS`) or a 3x3 kernel,
    then 2x2/2 'valid' pooling."""
    few = in_channels <= cpu_kernels.MAX_FUSED_INPUT_CHANNELS
    return ((few or tuple(kernel_size) == (3, 3)) and tuple(strides) == (1, 1)
            and tuple(dilation_rate) == (1, 1) and padding in ("valid", "same")
            and tuple(pool_size) == tuple(pool_strides) == (2, 2) and pool_padding == "valid")


def winograd_fusable(in_channels: int, kernel_size: Sequence[int]) -> bool:
    """Whether a convolution + pooling pair that `conv_pool_fusable` allowed runs as the float32
    Winograd kernel, as far as known before any data: a 3x3 kernel on more input channels than
    the few-channel kernel takes, with the kernels on and a build loaded."""
    return (cpu_kernels.ENABLED and in_channels > cpu_kernels.MAX_FUSED_INPUT_CHANNELS
            and tuple(kernel_size) == (3, 3) and cpu_kernels.available())


def conv_pool_path(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None = None) -> str:
    """The path `conv2d_max_pool` takes for this input (for a pair `conv_pool_fusable` allowed):
    "few channels", "winograd" or "torch" (see the module text). Both kernels want kernels on
    and built and a float32 CPU input; "few channels" an input that needs no gradient (saliency
    takes the plain path) and a float32 or bfloat16 result, "winograd" a 3x3 kernel on more
    channels and a float32 result. May warn once that the kernels are missing."""
    if not kernels_may_run(x):
        return "torch"
    if cpu_kernels.conv_pool_supports(x, kernel):
        path = "few channels"
    elif x.shape[-1] > cpu_kernels.MAX_FUSED_INPUT_CHANNELS and winograd.supports(x, kernel, bias):
        path = "winograd"
    else:
        return "torch"
    return path if kernels_loaded("a convolution and its 2x2 max pooling") else "torch"


def conv_pool_applies(x: torch.Tensor, kernel: torch.Tensor) -> bool:
    """Whether a fused kernel runs on this input now (`conv_pool_path` is not "torch")."""
    return conv_pool_path(x, kernel) != "torch"


def conv2d_max_pool(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None, pads: Pads, *,
                    conv: Callable[[torch.Tensor], torch.Tensor], relu: bool = False) -> torch.Tensor:
    """2x2/2 max pooling of a stride-1 convolution of a channels-last (N, H, W, Ci) `x`, then
    relu with `relu`; (N, Ho, Wo, C) out.

    `kernel` is in PyTorch's (C, Ci, KH, KW) layout, `pads` the convolution's zero padding per
    spatial axis, and `conv` the plain convolution (channels-last in and out), run where no
    fused kernel applies. Only for pairs `conv_pool_fusable` allowed.
    """
    path = conv_pool_path(x, kernel, bias)
    if path == "torch":
        return max_pool2d(conv(x), (2, 2), (2, 2), "valid", relu=relu)
    flat = [side for pair in reversed(pads) for side in pair]
    if any(flat):
        x = F.pad(x, [0, 0, *flat])  # the kernels' size checks on the unpadded input hold here too
    if path == "winograd":
        return winograd.conv3x3_max_pool_2x2(x, kernel, bias, relu=relu)
    return cpu_kernels.conv_max_pool_2x2(x, kernel, bias, relu=relu)
