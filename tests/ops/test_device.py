"""precision="auto": bfloat16 only where the CPU multiplies it in hardware and no instruction-set
cap (what an AVX2-only CPU runs, or a user's ONEDNN_MAX_CPU_ISA) rules that out."""

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
