"""The layers Keras tutorials use beyond Conv/Pool/Dense, against what real Keras 3.15 computed
for the same inputs and weights (fixtures/layers.npz and layers.json, written by
make_keras_references.py from the cases in keras_layer_cases.py): outputs, shapes, parameter counts,
weight order and config keys; then config and save/load round trips, and Keras's own model files
made of these layers, both ways."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from keras_layer_cases import CASES
from keras_layer_checks import (
    FIXTURES,
    KERAS_PYTHON,
    assert_config_matches_keras,
    assert_output_matches_keras,
    assert_shape_and_count_match_keras,
    keras_arrays,
    keras_descriptions,
    real_keras_predicts,
    with_keras_weights,
)
from keras_layer_checks import built as built_case

from convscope import Sequential, layers, load_model
from convscope.layers import Layer

MODELS = ("image_layers", "signal_layers")  # Sequential models Keras saved (make_keras_references.py)
KERAS = keras_descriptions("layers")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return keras_arrays("layers")


def built(case: str) -> Layer:
    return built_case(CASES, case)


@pytest.mark.parametrize("case", CASES)
def test_output_matches_keras(case: str, arrays: dict[str, np.ndarray]) -> None:
    layer = with_keras_weights(built(case), case, KERAS, arrays)
    layer.train(CASES[case][3].get("training", False))
    assert_output_matches_keras(layer, case, arrays, atol=1e-5)


@pytest.mark.parametrize("case", CASES)
def test_shape_count_and_name_match_keras(case: str) -> None:
    assert_shape_and_count_match_keras(built(case), KERAS[case])


@pytest.mark.parametrize("case", CASES)
def test_config_matches_keras(case: str) -> None:
    assert_config_matches_keras(built(case).get_config(), KERAS[case]["config"])


@pytest.mark.parametrize("case", CASES)
def test_config_round_trip(case: str, arrays: dict[str, np.ndarray]) -> None:
    layer = built(case)
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    clone.build(layer.input_shape)
    assert clone.get_config() == layer.get_config()
    clone.set_weights(layer.get_weights())
    layer.eval(), clone.eval()
    x = torch.from_numpy(arrays[f"{case}/x"])
    torch.testing.assert_close(clone(x), layer(x))


@pytest.mark.parametrize("case", CASES)
def test_save_load_round_trip(case: str, arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    _, _, shape, _ = CASES[case]
    model = Sequential([layers.Input(shape[1:]), built(case)])
    x = arrays[f"{case}/x"]
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert loaded.get_config() == model.get_config()
    for mine, theirs in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6)


def test_leaky_relu_takes_keras2_alpha_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="negative_slope"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1
    assert layers.LeakyReLU().negative_slope == 0.3  # Keras 3's default (the function's is 0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layers.LeakyReLU(negative_slope=0.1)


def test_random_layers_are_identity_in_inference() -> None:
    images = torch.rand(3, 8, 8, 2)
    for layer in (layers.RandomFlip(), layers.RandomRotation(0.3), layers.RandomZoom(0.3),
                  layers.RandomTranslation(0.3, 0.3), layers.SpatialDropout2D(0.5)):
        layer.eval()
        assert torch.equal(layer(images), images), type(layer).__name__


def test_random_flip_flips_whole_images_and_repeats_with_its_seed() -> None:
    images = torch.rand(64, 5, 6, 3)
    outputs = layers.RandomFlip("horizontal", seed=3)(images)
    flipped = torch.tensor([torch.equal(out, image.flip(1)) for out, image in zip(outputs, images)])
    kept = torch.tensor([torch.equal(out, image) for out, image in zip(outputs, images)])
    assert bool((flipped | kept).all()) and 10 < int(flipped.sum()) < 54
    assert torch.equal(layers.RandomFlip("horizontal", seed=3)(images), outputs)
    both = layers.RandomFlip(seed=3)(images)  # Keras flips both axes together
    assert all(torch.equal(b, i.flip(0, 1)) or torch.equal(b, i) for b, i in zip(both, images))


def test_seeded_random_layers_repeat_and_differ_between_draws() -> None:
    images = torch.rand(4, 9, 9, 1)
    for make in (lambda: layers.RandomRotation(0.2, seed=5), lambda: layers.RandomZoom(0.3, seed=5),
                 lambda: layers.RandomTranslation(0.2, 0.2, seed=5)):
        first, second = make(), make()
        draw_a, draw_b = first(images), first(images)
        assert torch.equal(second(images), draw_a)
        assert not torch.equal(draw_a, draw_b)


def test_spatial_dropout_drops_whole_channels() -> None:
    torch.manual_seed(0)
    outputs = layers.SpatialDropout2D(0.5)(torch.ones(8, 4, 4, 6))
    per_map = outputs.permute(0, 3, 1, 2).reshape(48, -1)
    assert set(per_map.min(1).values.tolist()) == {0.0, 2.0}
    assert torch.equal(per_map.min(1).values, per_map.max(1).values)


def test_dilated_transposed_convolution_is_the_gradient_of_the_dilated_convolution() -> None:
    # TensorFlow has no dilated transposed convolution on CPU, so no Keras fixture: check the
    # definition instead, for 'valid' padding: conv_transpose(y) = d/dx <conv(x), y>.
    layer = layers.Conv2DTranspose(3, 3, dilation_rate=2, use_bias=False)
    layer.build((None, 4, 5, 2))
    y = torch.randn(1, 4, 5, 2)
    x = torch.zeros(1, *layer.output_shape[1:], requires_grad=True)
    conv = torch.nn.functional.conv2d(x.movedim(-1, 1), layer.kernel, dilation=2)
    (conv.movedim(1, -1) * y).sum().backward()
    torch.testing.assert_close(layer(y), x.grad)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.Reshape((5, -1, -1)), "at most one -1"),
    (lambda: layers.Cropping2D(((1, 2),)), "2 ints or 2 (before, after) pairs"),
    (lambda: layers.UpSampling2D(interpolation="bicubic"), "interpolation must be one of nearest, bilinear"),
    (lambda: layers.RandomRotation(1.5), "factor must lie in [-1, 1]"),
    (lambda: layers.RandomZoom(0.2, fill_mode="mirror"), "fill_mode must be one of"),
    (lambda: layers.Resizing(10, 10, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True), "only one of"),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier must be a positive integer"),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=2), "smaller than its stride"),
    (lambda: layers.SpatialDropout1D(1.0), "rate must be in [0, 1)"),
    (lambda: layers.LeakyReLU(-0.1), "negative_slope must be a finite number >= 0"),
])
def test_arguments_are_checked(make, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        make()


def test_shape_errors_name_the_layer() -> None:
    with pytest.raises(ValueError, match=r"Reshape 'reshape': cannot reshape input \(None, 12\)"):
        layers.Reshape((5, 5)).build((None, 12))
    with pytest.raises(ValueError, match=r"Cropping1D 'cropping1d': cropping 3 \+ 3 removes every value"):
        layers.Cropping1D(3).build((None, 6, 2))
    with pytest.raises(ValueError, match=r"ZeroPadding2D 'zero_padding2d' expects 4-D input"):
        layers.ZeroPadding2D().build((None, 28, 28))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", MODELS)
def test_keras_model_files_with_these_layers_predict_as_keras(name: str, suffix: str) -> None:
    model = load_model(FIXTURES / f"{name}{suffix}")
    with np.load(FIXTURES / f"{name}.npz") as saved:
        np.testing.assert_allclose(model.predict(saved["x"], verbose=0), saved["y"], rtol=1e-5, atol=1e-6)
    assert type(model.optimizer).__name__ == "Nadam"


@pytest.mark.keras
@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
@pytest.mark.parametrize("name", MODELS)
def test_real_keras_reads_convscope_files_with_these_layers(name: str, tmp_path: Path) -> None:
    load_model(FIXTURES / f"{name}.keras").save(tmp_path / "m.keras")
    predictions, optimizer = real_keras_predicts(tmp_path / "m.keras", FIXTURES / f"{name}.npz", "x", tmp_path)
    assert optimizer == "Nadam"
    with np.load(FIXTURES / f"{name}.npz") as saved:
        np.testing.assert_allclose(predictions, saved["y"], rtol=1e-5, atol=1e-6)
