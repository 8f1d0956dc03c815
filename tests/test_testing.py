"""convscope.testing.run_layer_test catches each kind of broken layer, naming the layer and the
check, and passes a correct custom layer."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from custom_layers import Scale
from torch import nn

from convscope import layers
from convscope.layers import LAYERS, Layer
from convscope.ops import cpu_kernels
from convscope.testing import CHECKS, LayerTestFailure, run_layer_test

SHAPE = (None, 6, 5, 3)


class WrongShape(Scale):
    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], 2 * (input_shape[-1] or 1))


class UncountedWeight(Scale):
    def keras_weights(self) -> list[tuple[str, torch.Tensor, tuple[int, ...]]]:
        return []


class ForgetfulConfig(Scale):
    def get_config(self) -> dict[str, Any]:
        return Layer.get_config(self)


class WrongGradient(Scale):
    class Square(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
            (x,) = ctx.saved_tensors
            return grad * x  # should be 2 * x

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.Square.apply(inputs) * self.weight


class KernelDependent(Scale):
    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return super().call(inputs) + (1e-3 if cpu_kernels.ENABLED else 0.0)


class ReadsRawMemory(Scale):
    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        packed = inputs.as_strided(inputs.shape, torch.empty(inputs.shape).stride())  # ignores the strides
        return packed * self.weight


class UnusedWeight(Scale):
    """A second weight that the output does not depend on, so training never moves it."""

    def build_weights(self, input_shape: tuple[int | None, ...]) -> None:
        super().build_weights(input_shape)
        self.unused = nn.Parameter(torch.ones(2))

    def keras_weights(self) -> list[tuple[str, torch.Tensor, tuple[int, ...]]]:
        return [*super().keras_weights(), ("unused", self.unused, (0,))] if self.built else []


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test layers are known to load_model, as a custom layer must be for the save check."""
    for cls in (Scale, WrongShape, UncountedWeight, ForgetfulConfig, WrongGradient, KernelDependent,
                ReadsRawMemory, UnusedWeight):
        monkeypatch.setitem(LAYERS, cls.__name__, cls)


def test_a_correct_custom_layer_passes_every_check(registered: None) -> None:
    result = run_layer_test(Scale, {"offset": 0.5}, SHAPE, expected_output_shape=SHAPE, expected_params=3)
    assert result.checks == CHECKS if cpu_kernels.available() else tuple(c for c in CHECKS if c != "kernels")
    assert (result.layer, result.output_shape, result.params) == ("Scale", SHAPE, 3)
    assert "Scale (None, 6, 5, 3) -> (None, 6, 5, 3), 3 params: shape, params" in str(result)


@pytest.mark.parametrize(("cls", "check", "words"), [
    (WrongShape, "shape", "compute_output_shape says (4, 6, 5, 6)"),
    (UncountedWeight, "params", "count_params() is 0 but its parameters and buffers hold 3 numbers"),
    (ForgetfulConfig, "config", "gives other outputs"),
    (WrongGradient, "gradients", "float64 gradcheck"),
    (KernelDependent, "kernels", "differs with the compiled CPU kernels on and off"),
    (ReadsRawMemory, "channels_last", "differs between contiguous and channels-last memory"),
    (UnusedWeight, "train", "weight 'unused' did not change"),
])
def test_each_broken_layer_fails_its_check(registered: None, cls: type[Layer], check: str, words: str) -> None:
    if check == "kernels" and not cpu_kernels.available():
        pytest.skip("the compiled CPU kernels are not built here")
    with pytest.raises(LayerTestFailure, match=rf"^run_layer_test\({cls.__name__}\) {check}: ") as caught:
        run_layer_test(cls, {"offset": 0.5}, SHAPE)
    assert (caught.value.layer, caught.value.check) == (cls.__name__, check)
    assert words in str(caught.value)


def test_expected_shape_and_params_are_checked() -> None:
    with pytest.raises(LayerTestFailure, match=r"Conv2D\) shape: output shape \(None, 11, 11, 64\) on input "
                                               r"\(None, 13, 13, 32\); expected \(None, 13, 13, 64\)"):
        run_layer_test(layers.Conv2D, {"filters": 64, "kernel_size": 3}, (None, 13, 13, 32),
                       expected_output_shape=(None, 13, 13, 64))
    with pytest.raises(LayerTestFailure, match=r"Conv2D\) params: count_params\(\) is 18,496; expected 18,432"):
        run_layer_test(layers.Conv2D, {"filters": 64, "kernel_size": 3}, (None, 13, 13, 32), expected_params=18_432)


def test_an_unregistered_layer_fails_the_save_check_naming_the_lookup() -> None:
    with pytest.raises(LayerTestFailure, match=r"^run_layer_test\(Scale\) save: ValueError: .*unknown layer type 'Scale'"):
        run_layer_test(Scale, {}, SHAPE)


def test_a_layer_that_does_not_build_fails_naming_the_shape() -> None:
    with pytest.raises(LayerTestFailure, match=r"^run_layer_test\(Conv2D\) build: building it on input shape "
                                               r"\(None, 6, 5, 3\) raised ValueError: Conv2D 'conv2d': kernel 9x9 "):
        run_layer_test(layers.Conv2D, {"filters": 2, "kernel_size": 9}, SHAPE)


def test_skipped_checks_are_reported_and_unknown_names_refused() -> None:
    result = run_layer_test(layers.Flatten, {}, SHAPE, skip=("save", "gradients"))
    assert "save" not in result.checks and result.skipped["save"] == "skipped by the caller"
    assert result.skipped["train"] == "no trainable weights"
    with pytest.raises(ValueError, match="unknown check.* gradient in skip"):
        run_layer_test(layers.Flatten, {}, SHAPE, skip=("gradient",))


def test_the_callers_random_state_is_left_alone() -> None:
    state = torch.get_rng_state()
    first = run_layer_test(layers.Dense, {"units": 3}, (None, 5), seed=1)
    assert torch.equal(torch.get_rng_state(), state) and first.params == 18
