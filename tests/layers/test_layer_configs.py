"""Every layer: config round-trip, save/load round-trip, Keras weight layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from convscope import Sequential, layers, load_model, regularizers, zoo
from convscope.ops import cpu_kernels

# (layer, input shape without batch) for each public layer type.
CASES = [
    (lambda: layers.Conv2D(4, (3, 2), strides=(1, 2), padding="same", dilation_rate=1, activation="elu",
                           use_bias=False, kernel_initializer="he_normal", kernel_regularizer=regularizers.l2(0.01),
                           bias_regularizer="l1", activity_regularizer=regularizers.l1_l2(0.001, 0.002),
                           kernel_constraint="max_norm", bias_constraint="non_neg"), (8, 8, 2)),
    (lambda: layers.Conv2D(3, 3, data_format="channels_first", activation="gelu"), (2, 8, 8)),
    (lambda: layers.Conv1D(5, 4, padding="causal", dilation_rate=2, activation="swish",
                           kernel_constraint="unit_norm"), (20, 3)),
    (lambda: layers.MaxPooling1D(3, 2, padding="same"), (20, 3)),
    (lambda: layers.MaxPooling2D((2, 3)), (8, 9, 2)),
    (lambda: layers.AveragePooling1D(2), (20, 3)),
    (lambda: layers.AveragePooling2D(2, 1, padding="same"), (8, 8, 2)),
    (lambda: layers.GlobalMaxPooling1D(), (20, 3)),
    (lambda: layers.GlobalMaxPooling2D(keepdims=True), (8, 8, 2)),
    (lambda: layers.GlobalAveragePooling1D(), (20, 3)),
    (lambda: layers.GlobalAveragePooling2D(), (8, 8, 2)),
    (lambda: layers.Flatten(), (4, 4, 2)),
    (lambda: layers.Dense(6, activation="selu", kernel_initializer="lecun_normal"), (10,)),
    (lambda: layers.Dropout(0.3), (10,)),
    (lambda: layers.BatchNormalization(momentum=0.9, epsilon=1e-5), (6, 6, 3)),
    (lambda: layers.Activation("leaky_relu"), (10,)),
    (lambda: layers.ReLU(max_value=6.0, negative_slope=0.1, threshold=0.5), (10,)),
    (lambda: layers.Softmax(), (10,)),
]
IDS = [type(make()).__name__ + f"-{i}" for i, (make, _) in enumerate(CASES)]


@pytest.mark.parametrize(("make", "shape"), CASES, ids=IDS)
def test_config_round_trip(make, shape) -> None:
    layer = make()
    config = layer.get_config()
    json.dumps(config)  # configs are plain JSON
    clone = type(layer).from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == config
    layer.build((None, *shape))
    clone.build((None, *shape))
    assert clone.output_shape == layer.output_shape
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in layer.get_weights()]


@pytest.mark.parametrize(("make", "shape"), CASES, ids=IDS)
def test_save_load_round_trip(make, shape, tmp_path: Path) -> None:
    model = Sequential([layers.Input(shape), make()])
    model.eval()
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype(np.float32)
    before = model.predict(x)
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.get_config() == model.get_config()
    for mine, theirs in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(loaded.predict(x), before, rtol=1e-6, atol=1e-6)


def test_keras_weight_layouts() -> None:
    conv2d, conv1d, dense = layers.Conv2D(8, (3, 5)), layers.Conv1D(4, 7), layers.Dense(3)
    conv2d.build((None, 10, 10, 2))
    conv1d.build((None, 30, 6))
    dense.build((None, 12))
    assert [w.shape for w in conv2d.get_weights()] == [(3, 5, 2, 8), (8,)]
    assert [w.shape for w in conv1d.get_weights()] == [(7, 6, 4), (4,)]
    assert [w.shape for w in dense.get_weights()] == [(12, 3), (3,)]
    bn = layers.BatchNormalization()
    bn.build((None, 5, 5, 4))
    assert [w.shape for w in bn.get_weights()] == [(4,)] * 4
    assert bn.count_params() == 16 and bn.param_counts() == (8, 8)  # Keras: an int; the split as summary shows it


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last],
                         ids=["contiguous kernel", "channels_last kernel"])
@pytest.mark.parametrize("channels", [1, 3])
def test_set_weights_uses_keras_layout(channels: int, memory_format: torch.memory_format) -> None:
    """A kernel given in (kh, kw, in, out) lands where Keras would use it, whichever memory
    layout the layer keeps it in (a compiled model keeps 4-D kernels channels_last)."""
    conv = layers.Conv2D(2, (2, 2), use_bias=False)
    conv.build((None, 3, 3, channels))
    conv.to(memory_format=memory_format)
    kernel = np.zeros((2, 2, channels, 2), dtype=np.float32)
    kernel[0, 1, channels - 1, 1] = 1.0  # filter 1 picks the top-right tap of the last channel
    conv.set_weights([kernel])
    assert conv.kernel.is_contiguous(memory_format=memory_format)
    x = np.arange(9 * channels, dtype=np.float32).reshape(1, 3, 3, channels)
    out = conv(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_array_equal(out[0, :, :, 1], x[0, :2, 1:, channels - 1])
    np.testing.assert_array_equal(out[0, :, :, 0], np.zeros((2, 2)))
    np.testing.assert_array_equal(conv.get_weights()[0], kernel)


def channels_last_strides(shape: torch.Size) -> tuple[int, ...]:
    """The strides of a channels-last (out, in, kh, kw) kernel, written out."""
    out_channels, in_channels, height, width = shape
    return (in_channels * height * width, 1, width * in_channels, in_channels)


def kernel_strides(model: Sequential) -> list[tuple[int, ...]]:
    return [tuple(p.stride()) for p in model.parameters() if p.dim() == 4]


# Two or more input channels wherever a kernel's layout could matter: a 64-channel second conv
# (the seed CNN), an RGB first conv, and a small two-channel model for speed.
MODELS = {
    "two-channel toy": lambda: Sequential([layers.Input((8, 8, 2)), layers.Conv2D(4, 3, activation="relu"),
                                           layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(3)]),
    "seed CNN": lambda: zoo.build("seed-cnn"),
    "seed CNN on RGB": lambda: zoo.build("seed-cnn", (32, 32, 3)),
}


@pytest.mark.parametrize("kernels", [True, False], ids=["kernels on", "kernels off"])
@pytest.mark.parametrize("name", list(MODELS))
def test_set_weights_of_get_weights_keeps_predictions_and_channels_last_kernels(name: str, kernels: bool) -> None:
    torch.manual_seed(0)
    model = MODELS[name]().to_device("cpu")
    strides = kernel_strides(model)
    assert strides == [channels_last_strides(p.shape) for p in model.parameters() if p.dim() == 4]
    assert any(p.shape[1] >= 2 for p in model.parameters() if p.dim() == 4)
    x = np.random.default_rng(2).random((4, *model.input_shape[1:]), dtype=np.float32)
    with cpu_kernels.enabled(kernels):
        before = model.predict(x)
        weights = model.get_weights()
        model.set_weights(weights)
        after = model.predict(x)
    assert kernel_strides(model) == strides
    np.testing.assert_array_equal(after, before)
    for mine, given in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(mine, given)


@pytest.mark.parametrize("name", list(MODELS))
def test_weights_in_keras_layout_do_not_depend_on_the_memory_layout(name: str) -> None:
    torch.manual_seed(0)
    model = MODELS[name]()
    x = np.random.default_rng(3).random((3, *model.input_shape[1:]), dtype=np.float32)
    contiguous, predicted = model.get_weights(), model.predict(x)
    model.to_device("cpu")  # 4-D kernels become channels_last
    for mine, theirs in zip(model.get_weights(), contiguous, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(model.predict(x), predicted, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(MODELS))
def test_save_load_keeps_channels_last_kernels_and_predictions(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = MODELS[name]()
    model.compile(optimizer="adam", loss="mse", precision="float32")  # as a trained model is saved
    strides = kernel_strides(model)
    x = np.random.default_rng(4).random((3, *model.input_shape[1:]), dtype=np.float32)
    model.save(tmp_path / "model")
    for loaded in (load_model(tmp_path / "model"), load_model(tmp_path / "model", compile=False, device="cpu")):
        assert kernel_strides(loaded) == strides
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_count_params_is_an_int_as_in_keras() -> None:
    conv = layers.Conv2D(32, 3)
    conv.build((None, 28, 28, 1))
    assert conv.count_params() == 320 and isinstance(conv.count_params(), int)
