"""Where and in what precision the engine computes.

precision="auto" trains with bfloat16 autocast (float32 master weights) only where the hardware
does bfloat16 natively and the model gains from it: a CUDA GPU that supports it, or a CPU with
AMX, or with AVX512-BF16 unless most of the model's multiply-adds run in the float32 Winograd
convolution + pooling kernel (`convscope.ops.winograd`): that kernel does 2.25x fewer
multiplications than any direct convolution, and on an AVX512-BF16 CPU without AMX it trains the
seed CNN 1.1-1.2x faster than bfloat16 does, while a net of 'same' convolutions without such pairs
(the zoo's residual CNN) trains 1.35x faster in bfloat16 (`benchmarks/LEVERS.md`). Where
bfloat16 is emulated it is slower than float32, so "auto" keeps float32. "bfloat16" forces
autocast anyway; "float32" never uses it. bfloat16 keeps 8 bits of mantissa: the network trains
to the same accuracy, but individual outputs differ from float32 at about the 1e-2 level.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator

import torch

PRECISIONS = ("auto", "float32", "bfloat16")
# precision="auto" keeps float32 on a CPU without AMX when at least this share of a model's
# multiply-adds run in the float32 Winograd kernel (the seed CNN: 0.88; see the module text).
FLOAT32_KERNEL_SHARE = 0.5


def resolve_device(device: str | torch.device | None) -> torch.device:
    """None or "auto" -> the first CUDA GPU when there is one, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}.") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but PyTorch sees no CUDA GPU; use device='cpu' "
                         "or 'auto'.")
    return resolved


def native_bfloat16(device: torch.device) -> bool:
    """Whether `device` multiplies bfloat16 in hardware. On the CPU that takes AVX512-BF16 or
    AMX, and no cap below them: ATEN_CPU_CAPABILITY=avx2 (or default) or an ONEDNN_MAX_CPU_ISA
    without BF16/AMX makes the convolutions emulate bfloat16, as on a CPU that lacks it."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        cpu = torch.cpu
        hardware = bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
        return hardware and not isa_capped_below_bfloat16()
    return False


def isa_capped_below_bfloat16() -> bool:
    """Whether PyTorch's or oneDNN's instruction-set cap (environment variables read when they
    start) rules out the bfloat16 instructions."""
    if torch.backends.cpu.get_cpu_capability().upper() in ("DEFAULT", "AVX2"):
        return True
    cap = onednn_isa_cap()
    return cap not in ("", "ALL") and not any(part in cap for part in ("BF16", "AMX", "AVX10"))


def onednn_isa_cap() -> str:
    """oneDNN's instruction-set cap from the environment, upper case; "ALL" without one."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "ALL")).strip().upper()


def amx_usable() -> bool:
    """Whether the CPU has AMX tiles and no instruction-set cap rules them out."""
    if not torch.cpu._is_amx_tile_supported() or isa_capped_below_bfloat16():
        return False
    cap = onednn_isa_cap()
    return cap in ("", "ALL") or "AMX" in cap or "AVX10" in cap


def resolve_precision(precision: str, device: torch.device, float32_kernel_share: float = 0.0) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device`, or None for plain float32.

    `float32_kernel_share` is the share of the model's multiply-adds that the float32 Winograd
    kernel runs (`convscope.models.precision`); "auto" keeps float32 on a CPU without AMX when it
    is at least FLOAT32_KERNEL_SHARE.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"compile(precision=...): expected one of {', '.join(PRECISIONS)}; got {precision!r}.")
    if precision == "float32":
        return None
    native = native_bfloat16(device)
    if precision == "bfloat16":
        if not native:
            warnings.warn(f"bfloat16 is emulated on this {device.type} (no native support) and is likely "
                          "slower than float32; precision='auto' would use float32.", stacklevel=3)
        return torch.bfloat16
    if not native:
        return None
    if device.type == "cpu" and float32_kernel_share >= FLOAT32_KERNEL_SHARE and not amx_usable():
        return None
    return torch.bfloat16


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
