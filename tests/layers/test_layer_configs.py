"""Every layer: config round-trip, save/load round-trip, Keras weight layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from convscope import Sequential, layers, load_model, regularizers

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
    assert bn.count_params() == (8, 8)


def test_set_weights_uses_keras_layout() -> None:
    """A kernel given in (kh, kw, in, out) lands where Keras would use it."""
    conv = layers.Conv2D(2, (2, 2), use_bias=False)
    conv.build((None, 3, 3, 1))
    kernel = np.zeros((2, 2, 1, 2), dtype=np.float32)
    kernel[0, 1, 0, 1] = 1.0  # filter 1 picks the top-right tap
    conv.set_weights([kernel])
    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    out = conv(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_array_equal(out[0, :, :, 1], [[1, 2], [4, 5]])
    np.testing.assert_array_equal(out[0, :, :, 0], np.zeros((2, 2)))


def test_glorot_uniform_default_limits() -> None:
    conv = layers.Conv2D(64, 3)
    conv.build((None, 28, 28, 1))
    kernel, bias = conv.get_weights()
    limit = np.sqrt(6 / (9 * 1 + 9 * 64))
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.9 * limit
    np.testing.assert_array_equal(bias, 0)
