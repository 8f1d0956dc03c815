"""A 3x3 convolution with many input channels and the 2x2 max pooling after it, as one compiled
kernel that computes the convolution by Winograd's F(2x2, 3x3).

Each 2x2 pooling window of a 3x3 'valid' convolution is one Winograd tile: its four values come
from a 4x4 input tile with 16 multiplications per input and output channel instead of 36, and a
convolution row or column that no window covers (the last of an odd-sized map) is not computed.
For the seed CNN's second layer (13x13x64 -> 11x11x64 -> 5x5x64) that is 3.1x fewer
multiplications than oneDNN's direct convolution over forward, input and kernel gradients, and
the full-resolution map, the separate pooling and relu passes are gone: a float32 training step
of the seed CNN is 1.6x (batch 32) to 1.9x (batch 128) faster with AVX-512, 2.0-2.1x with AVX2
(`benchmarks/LEVERS.md`, "Fourth round"). Values and gradients match the convolution then the pooling to float32 rounding
(relative 1e-6). Non-finite inputs give NaN or infinity in their windows, as the convolution
does, though which of the two may differ: the transforms subtract infinities.

It serves float32 only: under bfloat16 autocast PyTorch's bfloat16 convolution runs, as before.
`convscope.ops.pooling.conv2d_max_pool` decides where it runs (`conv_pool_path`).

    >>> x, kernel = torch.rand(8, 13, 13, 64), torch.randn(64, 64, 3, 3)
    >>> conv3x3_max_pool_2x2(x, kernel, None, relu=True).shape
    torch.Size([8, 5, 5, 64])
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from convscope.ops import cpu_kernels


def supports(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None) -> bool:
    """A float32 (N, H, W, Ci) input with at least one pooled cell (H, W >= 4), a float32
    (C, Ci, 3, 3) kernel and bias, no autocast to another dtype. The input may need a gradient."""
    return (x.dim() == 4 and kernel.dim() == 4 and tuple(kernel.shape[2:]) == (3, 3)
            and kernel.shape[1] == x.shape[-1] and x.dtype == kernel.dtype == torch.float32
            and (bias is None or bias.dtype == torch.float32)
            and cpu_kernels.compute_dtype(x) == torch.float32
            and x.shape[0] > 0 and x.shape[1] >= 4 and x.shape[2] >= 4)


def conv3x3_max_pool_2x2(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None,
                         relu: bool = False) -> torch.Tensor:
    """max_pool2d(conv2d(x, kernel, bias), 2) for a channels-last (N, H, W, Ci) float32 `x` and a
    (C, Ci, 3, 3) kernel, 'valid', stride 1, then relu with `relu`; (N, (H-2)//2, (W-2)//2, C)."""
    operands = [x, kernel] if bias is None else [x, kernel, bias]
    if torch.is_grad_enabled() and any(t.requires_grad for t in operands):
        return _WinogradConvMaxPool.apply(x, kernel, bias, relu)
    return forward(x, kernel, bias, relu, record=False)[0]


def whole_vectors(channels: int) -> int:
    return -(-channels // cpu_kernels.lanes()) * cpu_kernels.lanes()


def padded_input(x: torch.Tensor) -> torch.Tensor:
    """`x` contiguous with its channels zero-padded to whole vectors (a copy only where needed)."""
    extra = whole_vectors(x.shape[-1]) - x.shape[-1]
    return (F.pad(x, (0, extra)) if extra else x).contiguous()


def transformed_kernel(kernel: torch.Tensor, transposed: bool) -> torch.Tensor:
    """The kernel in the Winograd domain: (16, Ci, C) or, `transposed`, (16, C, Ci), each
    channel count padded to whole vectors."""
    lib = cpu_kernels.library()
    assert lib is not None
    c, ci = kernel.shape[:2]
    cip, cop = whole_vectors(ci), whole_vectors(c)
    u = cpu_kernels.written_whole((16, cop, cip) if transposed else (16, cip, cop))
    strides = torch.tensor(kernel.stride(), dtype=torch.int64)
    lib.cs_wino_kernel_f32(kernel.data_ptr(), strides.data_ptr(), u.data_ptr(), c, ci, cip, cop, transposed)
    return u


def scratch(lib: Any, parts: int, pooled: tuple[int, int], cip: int, cop: int) -> torch.Tensor:
    """Each thread's working memory for one call: a block's transformed tiles and products."""
    return cpu_kernels.written_whole((parts * lib.cs_wino_scratch_floats(*pooled, cip, cop),))


def forward(x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None, relu: bool,
            record: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pooled values (N, Ho, Wo, C) and, with `record`, each window's winner as the padded
    (N, Ho, Wo, Cp) codes the backward reads."""
    lib = cpu_kernels.library()
    assert lib is not None
    x = padded_input(x)
    n, h, w, cip = x.shape
    c = kernel.shape[0]
    cop = whole_vectors(c)
    ho, wo = (h - 2) // 2, (w - 2) // 2
    u = transformed_kernel(kernel.detach(), transposed=False)
    shift = None if bias is None else F.pad(bias.detach(), (0, cop - c)).contiguous()
    out = cpu_kernels.written_whole((n, ho, wo, cop))
    code = cpu_kernels.written_whole((n, ho, wo, cop), torch.uint8) if record else None
    threads = torch.get_num_threads()
    work = scratch(lib, threads, (ho, wo), cip, cop)  # held here: the kernel writes into it
    lib.cs_wino_pool_forward_f32(x.data_ptr(), u.data_ptr(), cpu_kernels._pointer(shift), out.data_ptr(),
                                 cpu_kernels._pointer(code), work.data_ptr(), h, w, cip, cop, ho, wo, relu, n, threads)
    return (out if cop == c else out[..., :c].contiguous()), code


class _WinogradConvMaxPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None,
                relu: bool) -> torch.Tensor:
        out, code = forward(x, kernel, bias, relu, record=True)
        ctx.save_for_backward(x, kernel, code)
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    @once_differentiable  # a second derivative (a gradient penalty) raises instead of coming out wrong
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        lib = cpu_kernels.library()
        assert lib is not None
        x, kernel, code = ctx.saved_tensors
        wants_input, wants_kernel, wants_bias = ctx.needs_input_grad[:3]
        x = padded_input(x)
        n, h, w, cip = x.shape
        c, ci = kernel.shape[:2]
        _, ho, wo, cop = code.shape
        grad = grad.float()
        grad = (F.pad(grad, (0, cop - c)) if cop != c else grad).contiguous()
        parts = torch.get_num_threads()  # one partial sum per thread
        grad_in = cpu_kernels.written_whole(tuple(x.shape)) if wants_input else None
        grad_u = torch.zeros((parts, 16, cip, cop)) if wants_kernel else None
        grad_bias = torch.zeros((parts, cop)) if wants_bias and ctx.has_bias else None
        ut = transformed_kernel(kernel.detach(), transposed=True)
        work = scratch(lib, parts, (ho, wo), cip, cop)
        lib.cs_wino_pool_backward_f32(x.data_ptr(), ut.data_ptr(), grad.data_ptr(), code.data_ptr(),
                                      cpu_kernels._pointer(grad_in), cpu_kernels._pointer(grad_u),
                                      cpu_kernels._pointer(grad_bias), work.data_ptr(), h, w, cip, cop, ho, wo, n,
                                      parts)
        grad_kernel = None
        if grad_u is not None:  # in the kernel's own layout, as DDP's buckets and fused optimizers expect
            grad_kernel = cpu_kernels.written_whole(tuple(kernel.shape), stride=kernel.stride())
            strides = torch.tensor(kernel.stride(), dtype=torch.int64)
            lib.cs_wino_kernel_grad_f32(grad_u.data_ptr(), parts, grad_kernel.data_ptr(), strides.data_ptr(),
                                        c, ci, cip, cop)
        if grad_in is not None and cip != ci:
            grad_in = grad_in[..., :ci]
        shift = None if grad_bias is None else grad_bias.sum(0)[:c]
        return grad_in, grad_kernel, shift, None
