"""Layer outputs against the NumPy reference operations (cross-correlation, as Keras computes):
single layers on small shapes, with kernels in either memory layout, and whole networks as
users meet them first (the seed CNN, its RGB form, a Conv1D network), with the compiled CPU
kernels on and off."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from convscope import Sequential, activations, layers, zoo
from convscope.explain import reference
from convscope.ops import cpu_kernels

RNG = np.random.default_rng(0)
TOLERANCE = 1e-5


def run_layer(layer: layers.Layer, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return layer(torch.as_tensor(x, dtype=torch.float32)).numpy()


def random_weights(layer: layers.Layer, shape: tuple[int, ...]) -> list[np.ndarray]:
    layer.build((None, *shape))
    weights = [RNG.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


CONV2D_CASES = [
    (padding, stride, dilation, channels, filters)
    for padding, stride, dilation, (channels, filters) in itertools.product(
        ["valid", "same"], [1, 2], [1, 2], [(1, 4), (3, 2), (3, 5)])
    if not (stride > 1 and dilation > 1)
]


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last],
                         ids=["contiguous kernel", "channels_last kernel"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("padding", "stride", "dilation", "channels", "filters"), CONV2D_CASES)
def test_conv2d_matches_reference(padding: str, stride: int, dilation: int, channels: int, filters: int,
                                  data_format: str, memory_format: torch.memory_format) -> None:
    layer = layers.Conv2D(filters, (3, 2), strides=stride, padding=padding, dilation_rate=dilation,
                          data_format=data_format)
    x = RNG.normal(size=(2, 9, 8, channels)).astype(np.float32)
    shape = x.shape[1:] if data_format == "channels_last" else (channels, 9, 8)
    kernel, bias = random_weights(layer, shape)
    layer.to(memory_format=memory_format)  # a compiled model keeps its 4-D kernels channels_last
    assert layer.kernel.is_contiguous(memory_format=memory_format)
    fed = x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)
    got = run_layer(layer, fed)
    if data_format == "channels_first":
        got = got.transpose(0, 2, 3, 1)
    for sample in range(2):
        want = reference.conv2d(x[sample], kernel, bias, stride=stride, padding=padding, dilation=dilation)
        np.testing.assert_allclose(got[sample], want, atol=TOLERANCE, rtol=TOLERANCE)
    assert got.shape[1:] == tuple(layer.output_shape[1:]) if data_format == "channels_last" else True


@pytest.mark.parametrize(("padding", "stride", "dilation"), [
    ("valid", 1, 1), ("valid", 2, 1), ("valid", 1, 2), ("same", 1, 1), ("same", 2, 1),
    ("same", 1, 2), ("causal", 1, 1), ("causal", 1, 2), ("causal", 2, 1)])
@pytest.mark.parametrize(("channels", "filters"), [(1, 3), (4, 5)])
def test_conv1d_matches_reference(padding: str, stride: int, dilation: int, channels: int, filters: int) -> None:
    layer = layers.Conv1D(filters, 3, strides=stride, padding=padding, dilation_rate=dilation)
    x = RNG.normal(size=(3, 17, channels)).astype(np.float32)
    kernel, bias = random_weights(layer, x.shape[1:])
    got = run_layer(layer, x)
    assert got.shape[1:] == tuple(layer.output_shape[1:])
    for sample in range(3):
        want = reference.conv1d(x[sample], kernel, bias, stride=stride, padding=padding, dilation=dilation)
        np.testing.assert_allclose(got[sample], want, atol=TOLERANCE, rtol=TOLERANCE)


def test_conv1d_channels_first_matches_reference() -> None:
    layer = layers.Conv1D(2, 4, data_format="channels_first")
    x = RNG.normal(size=(2, 12, 3)).astype(np.float32)
    kernel, bias = random_weights(layer, (3, 12))
    got = run_layer(layer, x.transpose(0, 2, 1)).transpose(0, 2, 1)
    np.testing.assert_allclose(got[1], reference.conv1d(x[1], kernel, bias), atol=TOLERANCE)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(("pool", "stride", "padding"), [
    (2, None, "valid"), (3, 2, "valid"), (3, 2, "same"), (2, 1, "same"), ((2, 3), (1, 2), "same")])
def test_pooling2d_matches_reference(kind: str, pool: int | tuple[int, int], stride: int | None, padding: str) -> None:
    cls = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    layer = cls(pool, stride, padding=padding)
    x = RNG.normal(size=(2, 7, 8, 3)).astype(np.float32)
    got = run_layer(layer, x)
    fn = reference.max_pool2d if kind == "max" else reference.avg_pool2d
    assert got.shape[1:] == tuple(layer.compute_output_shape((None, 7, 8, 3))[1:])
    for sample in range(2):
        np.testing.assert_allclose(got[sample], fn(x[sample], pool, stride, padding), atol=TOLERANCE)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(("pool", "stride", "padding"), [(2, None, "valid"), (3, 2, "same"), (4, 3, "valid")])
def test_pooling1d_matches_reference(kind: str, pool: int, stride: int | None, padding: str) -> None:
    cls = layers.MaxPooling1D if kind == "max" else layers.AveragePooling1D
    x = RNG.normal(size=(2, 11, 4)).astype(np.float32)
    got = run_layer(cls(pool, stride, padding=padding), x)
    fn = reference.max_pool1d if kind == "max" else reference.avg_pool1d
    np.testing.assert_allclose(got[0], fn(x[0], pool, stride, padding), atol=TOLERANCE)


def test_pooling_channels_first() -> None:
    x = RNG.normal(size=(1, 6, 6, 2)).astype(np.float32)
    got = run_layer(layers.MaxPooling2D(2, data_format="channels_first"), x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(got.transpose(0, 2, 3, 1)[0], reference.max_pool2d(x[0], 2), atol=TOLERANCE)


@pytest.mark.parametrize("activation", ["linear", "relu"])
def test_dense_matches_reference(activation: str) -> None:
    layer = layers.Dense(7, activation=activation)
    x = RNG.normal(size=(5, 11)).astype(np.float32)
    kernel, bias = random_weights(layer, (11,))
    want = reference.dense(x, kernel, bias)
    want = reference.relu(want) if activation == "relu" else want
    np.testing.assert_allclose(run_layer(layer, x), want, atol=TOLERANCE)


def test_global_pooling_and_flatten() -> None:
    x = RNG.normal(size=(2, 5, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(run_layer(layers.GlobalMaxPooling2D(), x), x.max(axis=(1, 2)), atol=TOLERANCE)
    np.testing.assert_allclose(run_layer(layers.GlobalAveragePooling2D(), x), x.mean(axis=(1, 2)), atol=TOLERANCE)
    np.testing.assert_allclose(run_layer(layers.GlobalAveragePooling1D(), x[:, 0]), x[:, 0].mean(axis=1), atol=TOLERANCE)
    np.testing.assert_allclose(run_layer(layers.GlobalMaxPooling1D(), x[:, 0]), x[:, 0].max(axis=1), atol=TOLERANCE)
    # Flatten keeps Keras's channels-last order, also for channels-first input.
    np.testing.assert_array_equal(run_layer(layers.Flatten(), x), x.reshape(2, -1))
    np.testing.assert_array_equal(run_layer(layers.Flatten(data_format="channels_first"), x.transpose(0, 3, 1, 2)),
                                  x.reshape(2, -1))


def test_activations_and_batchnorm_inference() -> None:
    x = RNG.normal(size=(4, 6)).astype(np.float32)
    np.testing.assert_allclose(run_layer(layers.ReLU(), x), np.maximum(x, 0))
    np.testing.assert_allclose(run_layer(layers.ReLU(max_value=0.5), x), np.clip(x, 0, 0.5))
    softmax = run_layer(layers.Softmax(), x)
    np.testing.assert_allclose(softmax, np.exp(x) / np.exp(x).sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(run_layer(layers.Activation("tanh"), x), np.tanh(x), rtol=1e-6)
    bn = layers.BatchNormalization()
    gamma, beta, mean, var = (RNG.uniform(0.5, 2, size=6).astype(np.float32) for _ in range(4))
    bn.build((None, 6))
    bn.set_weights([gamma, beta, mean, var])
    bn.eval()
    np.testing.assert_allclose(run_layer(bn, x), gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-5, atol=1e-6)



def test_batchnorm_training_moves_statistics_as_keras() -> None:
    """Keras moves the variance towards the biased batch variance it normalised with (torch's
    own update uses the unbiased one, n / (n - 1) larger)."""
    x = RNG.normal(loc=1.0, scale=2.0, size=(8, 5, 5, 3)).astype(np.float32)
    bn = layers.BatchNormalization(momentum=0.9)
    bn.build((None, 5, 5, 3))
    bn.train()
    out = run_layer(bn, x)
    mean, variance = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(variance + 1e-3), rtol=1e-4, atol=1e-5)
    _, _, moving_mean, moving_variance = bn.get_weights()
    np.testing.assert_allclose(moving_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(moving_variance, 0.9 + 0.1 * variance, rtol=1e-6)

def test_dropout_is_identity_in_inference_and_scales_in_training() -> None:
    layer = layers.Dropout(0.5)
    x = np.ones((1000, 10), dtype=np.float32)
    layer.eval()
    np.testing.assert_array_equal(run_layer(layer, x), x)
    layer.train()
    out = run_layer(layer, x)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert 0.45 < (out == 0).mean() < 0.55


def activate(layer: layers.Layer, x: np.ndarray) -> np.ndarray:
    name = activations.name_of(layer.activation)
    if name == "relu":
        return reference.relu(x)
    assert name == "linear", f"no reference for activation {name!r}"
    return x


def reference_logits(model: Sequential, example: np.ndarray) -> np.ndarray:
    """One example through every layer with the reference operations, in float64; the last
    layer's activation is left out (the model's logits)."""
    x = example.astype(np.float64)
    for index, layer in enumerate(model.layers):
        kind = type(layer).__name__
        if kind in ("Conv1D", "Conv2D"):
            convolve = reference.conv2d if kind == "Conv2D" else reference.conv1d
            kernel, bias = layer.get_weights()
            x = convolve(x, kernel, bias, stride=layer.strides, padding=layer.padding, dilation=layer.dilation_rate)
        elif kind in ("MaxPooling1D", "MaxPooling2D"):
            x = reference.max_pool(x, layer.pool_size, layer.strides, layer.padding)
        elif kind == "GlobalAveragePooling1D":
            x = x.mean(axis=0)
        elif kind == "Flatten":
            x = x.reshape(-1)
        elif kind == "Dense":
            x = reference.dense(x, *layer.get_weights())
        else:
            raise AssertionError(f"no reference for {kind}")
        if hasattr(layer, "activation") and index < len(model.layers) - 1:
            x = activate(layer, x)
    return x


# Networks as users meet them: the seed CNN (its second conv reads 64 channels), the same on RGB
# images, on odd-sized RGB images with a 2x3 'same' first conv (padded unevenly before the fused
# kernel; its pooling drops a row and a column), and a Conv1D network on four-channel signals.
NETWORKS = {
    "seed CNN": lambda: zoo.build("seed-cnn"),
    "seed CNN on RGB": lambda: zoo.build("seed-cnn", (32, 32, 3)),
    "same-padded RGB 31x31": lambda: Sequential([
        layers.Input((31, 31, 3)), layers.Conv2D(8, (2, 3), padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(6, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(5)]),
    "Conv1D on 4 channels": lambda: zoo.build("mnist1d-cnn", (40, 4)),
}


@pytest.mark.parametrize("layout", ["channels_last", "contiguous"])
@pytest.mark.parametrize("kernels", [True, False], ids=["kernels on", "kernels off"])
@pytest.mark.parametrize("name", list(NETWORKS))
def test_networks_match_the_reference_operations(name: str, kernels: bool, layout: str) -> None:
    torch.manual_seed(0)
    model = NETWORKS[name]()
    if layout == "channels_last":
        model.to_device("cpu")
    for parameter in model.parameters():  # random biases too: zeros would hide a misplaced one
        if parameter.dim() == 1:
            torch.nn.init.uniform_(parameter.data, -0.1, 0.1)
    model.eval()
    x = RNG.random((3, *model.input_shape[1:])).astype(np.float32)
    with cpu_kernels.enabled(kernels), torch.no_grad():
        got = model(torch.as_tensor(x), logits=True).numpy()
    for sample in range(3):
        want = reference_logits(model, x[sample])
        np.testing.assert_allclose(got[sample], want, rtol=1e-4, atol=1e-5)
