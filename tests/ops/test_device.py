"""precision="auto": bfloat16 only where the CPU multiplies it in hardware and no instruction-set
cap (what an AVX2-only CPU runs, or a user's ONEDNN_MAX_CPU_ISA) rules that out, and not on a CPU
without AMX for a model whose work is mostly the float32 Winograd kernel's."""

from __future__ import annotations

import pytest
import torch

from convscope.ops import device


@pytest.fixture
def bfloat16_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)


@pytest.mark.parametrize(("variable", "value", "native"), [
    (None, None, True),
    ("ONEDNN_MAX_CPU_ISA", "AVX2", False),
    ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", False),
    ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16", True),
    ("ONEDNN_MAX_CPU_ISA", "avx512_core_amx", True),
    ("ONEDNN_MAX_CPU_ISA", "ALL", True),
    ("DNNL_MAX_CPU_ISA", "AVX2", False),
])
def test_an_isa_cap_below_bfloat16_makes_auto_choose_float32(bfloat16_hardware: None, monkeypatch: pytest.MonkeyPatch,
                                                             variable: str | None, value: str | None,
                                                             native: bool) -> None:
    if variable is not None:
        monkeypatch.setenv(variable, value)
    cpu = torch.device("cpu")
    assert device.native_bfloat16(cpu) is native
    assert device.resolve_precision("auto", cpu) == (torch.bfloat16 if native else None)


@pytest.mark.parametrize("capability", ["AVX2", "DEFAULT"])
def test_pytorchs_capability_cap_counts_too(bfloat16_hardware: None, monkeypatch: pytest.MonkeyPatch,
                                           capability: str) -> None:
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    assert not device.native_bfloat16(torch.device("cpu"))
    with pytest.warns(UserWarning, match="bfloat16 is emulated on this cpu"):
        assert device.resolve_precision("bfloat16", torch.device("cpu")) == torch.bfloat16


def test_no_bfloat16_hardware_means_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert device.resolve_precision("auto", torch.device("cpu")) is None


@pytest.mark.parametrize(("share", "amx", "expected"), [
    (0.0, False, torch.bfloat16),  # nothing runs in the Winograd kernel: bfloat16 is faster
    (0.49, False, torch.bfloat16),
    (0.5, False, None),  # most of the work is the float32 kernel's, which beats bfloat16 without AMX
    (0.88, False, None),  # the seed CNN
    (0.88, True, torch.bfloat16),  # AMX multiplies bfloat16 far faster than AVX-512 does float32
])
def test_auto_keeps_float32_where_the_winograd_kernel_carries_the_model(
        bfloat16_hardware: None, monkeypatch: pytest.MonkeyPatch, share: float, amx: bool,
        expected: torch.dtype | None) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    cpu = torch.device("cpu")
    assert device.resolve_precision("auto", cpu, float32_kernel_share=share) == expected
    assert device.resolve_precision("bfloat16", cpu, float32_kernel_share=share) == torch.bfloat16
    assert device.resolve_precision("float32", cpu, float32_kernel_share=0.0) is None


@pytest.mark.parametrize(("cap", "usable"), [(None, True), ("AVX512_CORE_AMX", True), ("AVX512_CORE_BF16", False),
                                             ("AVX2", False)])
def test_an_isa_cap_below_amx_makes_amx_unusable(bfloat16_hardware: None, monkeypatch: pytest.MonkeyPatch,
                                                  cap: str | None, usable: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True)
    if cap is not None:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    assert device.amx_usable() is usable
    expected = torch.bfloat16 if usable else None  # no AMX: the Winograd kernel's float32 is faster
    assert device.resolve_precision("auto", torch.device("cpu"), float32_kernel_share=0.9) == expected
