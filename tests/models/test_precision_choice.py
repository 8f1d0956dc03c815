"""compile(precision="auto") weighs the float32 Winograd kernel against bfloat16 per model: the
share of a model's multiply-adds that the kernel runs (`convscope.models.precision`), and the
precision that share buys on a CPU with bfloat16 but no AMX."""

from __future__ import annotations

import pytest
import torch

from convscope import Model, Sequential, layers, zoo
from convscope.models.precision import conv_pool_pairs, float32_kernel_share
from convscope.ops import cpu_kernels
from convscope.ops import device as device_policy

CONV1 = 26 * 26 * 64 * 9  # the seed CNN's multiply-adds per image, layer by layer
CONV2 = 11 * 11 * 64 * 64 * 9
DENSE = 1600 * 128 + 128 * 10
SEED_SHARE = CONV2 / (CONV1 + CONV2 + DENSE)


def seed_cnn() -> Sequential:
    return Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ])


def functional_seed_cnn() -> Model:
    inputs = layers.Input((28, 28, 1))
    x = layers.MaxPooling2D(2)(layers.Conv2D(64, 3, activation="relu")(inputs))
    x = layers.MaxPooling2D(2)(layers.Conv2D(64, 3, activation="relu")(x))
    x = layers.Dense(128, activation="relu")(layers.Flatten()(x))
    return Model(inputs, layers.Dense(10, activation="softmax")(x))


def nested_seed_cnn() -> Model:
    """The seed CNN's convolutions as a Sequential used as a layer (a Flatten ends it, so both
    pairs are inside its fused body)."""
    features = Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
    ], name="features")
    inputs = layers.Input((28, 28, 1))
    x = layers.Dense(128, activation="relu")(features(inputs))
    return Model(inputs, layers.Dense(10, activation="softmax")(x))


@pytest.fixture
def bfloat16_without_amx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_policy, "native_bfloat16", lambda device: device.type == "cpu")
    monkeypatch.setattr(device_policy, "amx_usable", lambda: False)


@pytest.mark.skipif(not cpu_kernels.available(), reason="the compiled kernels are not built")
@pytest.mark.parametrize("build", [seed_cnn, functional_seed_cnn, nested_seed_cnn])
def test_the_seed_cnns_second_convolution_is_the_winograd_kernels(build) -> None:
    model = build()
    with cpu_kernels.enabled(True):  # whatever CONVSCOPE_CPU_KERNELS says for this run
        assert float32_kernel_share(model) == pytest.approx(SEED_SHARE, rel=1e-12)
    pairs = list(conv_pool_pairs(model))
    assert [conv.filters for conv, _ in pairs] == [64, 64]  # both pairs fuse; only the second has 64 inputs
    with cpu_kernels.enabled(False):
        assert float32_kernel_share(model) == 0.0


def test_the_residual_cnn_has_no_winograd_pair() -> None:
    assert float32_kernel_share(zoo.build("residual-cnn")) == 0.0


def test_kernels_that_did_not_build_count_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpu_kernels, "available", lambda: False)
    assert float32_kernel_share(seed_cnn()) == 0.0


@pytest.mark.skipif(not cpu_kernels.available(), reason="the compiled kernels are not built")
def test_auto_trains_the_seed_cnn_in_float32_and_the_residual_cnn_in_bfloat16(bfloat16_without_amx: None) -> None:
    with cpu_kernels.enabled(True):  # whatever CONVSCOPE_CPU_KERNELS says for this run
        for build in (seed_cnn, functional_seed_cnn):
            model = build()
            model.compile("adam", "sparse_categorical_crossentropy")
            assert model.compiled is not None and model.compiled.autocast_dtype is None
        residual = zoo.build("residual-cnn")
        residual.compile("adam", "sparse_categorical_crossentropy")
    assert residual.compiled is not None and residual.compiled.autocast_dtype == torch.bfloat16
    named = seed_cnn()
    named.compile("adam", "sparse_categorical_crossentropy", precision="bfloat16")
    assert named.compiled is not None and named.compiled.autocast_dtype == torch.bfloat16
    with cpu_kernels.enabled(False):  # oneDNN runs every convolution: bfloat16 is faster again
        off = seed_cnn()
        off.compile("adam", "sparse_categorical_crossentropy")
    assert off.compiled is not None and off.compiled.autocast_dtype == torch.bfloat16


def test_grouped_convolutions_count_their_multiply_adds_once() -> None:
    from convscope.models.summary import layer_macs

    model = Sequential([layers.Input((10, 10, 8)), layers.Conv2D(16, 3, groups=4)])
    assert layer_macs(model.layers[0]) == 8 * 8 * 16 * 9 * 2  # each filter sees 8 / 4 = 2 channels
