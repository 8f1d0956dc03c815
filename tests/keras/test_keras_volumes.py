"""The 3-D (volumetric) layers and the per-sample normalization layers against what real Keras
3.15 computed for the same inputs and weights (fixtures/volumes.npz and volumes.json, written by
make_keras_volume_fixtures.py from keras_volume_cases.py): outputs, gradients, shapes, parameter
counts and configs; config and save/load round trips; a 3-D CNN Keras saved, read and trained;
errors naming the layer."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from keras_layer_checks import (
    FIXTURES,
    KERAS_PYTHON,
    assert_config_matches_keras,
    assert_shape_and_count_match_keras,
    built,
    keras_arrays,
    keras_descriptions,
    real_keras_predicts,
    with_keras_weights,
)
from keras_volume_cases import CASES

from convscope import Sequential, layers, load_model
from convscope.layers import Layer

KERAS = keras_descriptions("volumes")


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return keras_arrays("volumes")


def with_weights(case: str, arrays: dict[str, np.ndarray]) -> Layer:
    layer = built(CASES, case, quiet=True)  # rms_scaling's deprecation, as in Keras
    return with_keras_weights(layer, case, KERAS, arrays).eval()


@pytest.mark.parametrize("case", CASES)
def test_output_and_gradients_match_keras(case: str, arrays: dict[str, np.ndarray]) -> None:
    layer = with_weights(case, arrays)
    x = torch.from_numpy(arrays[f"{case}/x"]).requires_grad_(True)
    outputs = layer(x)
    np.testing.assert_allclose(outputs.detach().numpy(), arrays[f"{case}/y"], rtol=1e-5, atol=1e-5)
    (outputs * torch.from_numpy(arrays[f"{case}/r"])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), arrays[f"{case}/gx"], rtol=1e-4, atol=1e-4)
    slots = [(tensor, order) for _, tensor, order in layer.keras_weights()]
    for number, (tensor, order) in enumerate(slots):
        gradient = tensor.grad.permute(*order).numpy()  # Keras's layout
        np.testing.assert_allclose(gradient, arrays[f"{case}/g{number}"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("case", CASES)
def test_shape_count_name_and_config_match_keras(case: str) -> None:
    layer = built(CASES, case, quiet=True)
    assert_shape_and_count_match_keras(layer, KERAS[case])
    assert_config_matches_keras(layer.get_config(), KERAS[case]["config"])


@pytest.mark.parametrize("case", CASES)
def test_config_and_save_round_trips(case: str, arrays: dict[str, np.ndarray], tmp_path: Path) -> None:
    layer = with_weights(case, arrays)
    x = arrays[f"{case}/x"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
        clone.build(layer.input_shape)
        assert clone.get_config() == layer.get_config()
        clone.set_weights(layer.get_weights())
        torch.testing.assert_close(clone.eval()(torch.from_numpy(x)), layer(torch.from_numpy(x)))
        model = Sequential([layers.Input(x.shape[1:]), layer])
        before = model.predict(x, verbose=0)
        for path in (tmp_path / "model", tmp_path / "model.keras"):
            model.save(path)
            loaded = load_model(path)
            assert loaded.get_config() == model.get_config()
            np.testing.assert_allclose(loaded.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_3d_cnn_file_loads_with_its_weights_and_predicts_as_keras(suffix: str) -> None:
    model = load_model(FIXTURES / f"cnn3d{suffix}")
    with np.load(FIXTURES / "cnn3d.npz") as saved:
        for mine, theirs in zip(model.get_weights(), [saved[f"w{i}"] for i in range(4)], strict=True):
            np.testing.assert_array_equal(mine, theirs)
        assert model.layers[0].kernel.shape == (4, 1, 3, 3, 3)  # PyTorch's (out, in, kD, kH, kW)
        np.testing.assert_allclose(model.predict(saved["x0"], verbose=0), saved["y0"], rtol=1e-5, atol=1e-6)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv3D", "MaxPooling3D", "GlobalAveragePooling3D", "Dense"]


def test_3d_cnn_trains_with_fit_on_random_volumes() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 8, 8, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3, 4)) > 0).astype("int64")  # a learnable label: the volume's mean sign
    model = Sequential([
        layers.Input((6, 8, 8, 1)),
        layers.Conv3D(8, 3, padding="same", activation="relu"),
        layers.GroupNormalization(groups=2),
        layers.MaxPooling3D(2),
        layers.Conv3D(8, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling3D(),
        layers.LayerNormalization(),
        layers.Dense(2, activation="softmax"),
    ])
    first = model.get_weights()[0].copy()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=8, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert not np.array_equal(model.get_weights()[0], first)
    assert model.predict(x[:3], verbose=0).shape == (3, 2)


def test_3d_model_summary_and_explain() -> None:
    from convscope import explain

    model = Sequential([layers.Input((6, 8, 8, 1)), layers.Conv3D(4, 3), layers.MaxPooling3D(2),
                        layers.GlobalAveragePooling3D(), layers.Dense(3)])
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(None, 4, 6, 6, 4)" in text and "112" in text and "(None, 2, 3, 3, 4)" in text
    assert "Total params: 127" in text
    journey = explain.shape_journey(model)
    assert [step.output_shape for step in journey] == [(4, 6, 6, 4), (2, 3, 3, 4), (4,), (3,)]
    assert all(step.agrees for step in journey)
    assert journey[0].arithmetic == ["depth: 6 - 3 + 1 = 4", "height: 8 - 3 + 1 = 6", "width: 8 - 3 + 1 = 6",
                                     "channels: filters = 4"]
    assert "depth" in explain.format_shape_journey(journey)
    volume = np.random.default_rng(0).random((6, 8, 8, 1), dtype=np.float32)
    assert [maps.maps.shape for maps in explain.feature_maps(model, volume)] == [(4, 6, 6, 4), (2, 3, 3, 4), (4,), (3,)]
    with pytest.raises(ValueError, match="layer 'conv3d' is a Conv3D; expected one of Conv1D, Conv2D"):
        explain.conv_steps(model, volume, layer=0, position=(0, 0))  # no step-by-step view of 3-D windows


@pytest.mark.parametrize(("layer", "shape", "message"), [
    (lambda: layers.Conv3D(4, 3), (None, 8, 8, 1),
     r"Conv3D 'conv3d' expects 5-D input \(batch, depth, height, width, channels\); got shape \(None, 8, 8, 1\)"
     r"\. Add the channel axis"),
    (lambda: layers.Conv3DTranspose(4, 3), (None, 8, 8, 8, 8, 1), r"Conv3DTranspose 'conv3d_transpose' expects 5-D"),
    (lambda: layers.MaxPooling3D(), (None, 8, 8), r"MaxPooling3D 'max_pooling3d' expects 5-D"),
    (lambda: layers.AveragePooling3D(), (None, 8, 8, 3), r"AveragePooling3D 'average_pooling3d' expects 5-D"),
    (lambda: layers.GlobalMaxPooling3D(), (None, 8, 3), r"GlobalMaxPooling3D 'global_max_pooling3d' expects 5-D"),
    (lambda: layers.GlobalAveragePooling3D(), (None, 8, 8, 3), r"GlobalAveragePooling3D '\w+' expects 5-D"),
    (lambda: layers.UpSampling3D(), (None, 8, 8, 3), r"UpSampling3D 'up_sampling3d' expects 5-D"),
    (lambda: layers.ZeroPadding3D(), (None, 8, 8, 3), r"ZeroPadding3D 'zero_padding3d' expects 5-D"),
    (lambda: layers.Cropping3D(), (None, 8, 8, 3), r"Cropping3D 'cropping3d' expects 5-D"),
    (lambda: layers.SpatialDropout3D(0.1), (None, 8, 8, 3), r"SpatialDropout3D 'spatial_dropout3d' expects 5-D"),
    (lambda: layers.LayerNormalization(axis=3), (None, 8, 3),
     r"LayerNormalization 'layer_normalization': axis 3 is not a feature axis of its 3-D input"),
    (lambda: layers.GroupNormalization(groups=4), (None, 8, 6),
     r"GroupNormalization 'group_normalization': 6 channels .* cannot be split into groups=4"),
    (lambda: layers.UnitNormalization(axis=0), (None, 8), r"UnitNormalization 'unit_normalization': axis 0"),
    (lambda: layers.Conv3D(2, 5), (None, 4, 8, 8, 1), r"Conv3D 'conv3d': kernel 5x5x5 .* larger than its 4x8x8"),
    (lambda: layers.Cropping3D(2), (None, 4, 8, 8, 1), r"Cropping3D 'cropping3d': cropping 2 \+ 2 removes"),
])
def test_bad_input_shapes_name_the_layer(layer, shape: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        layer().build(shape)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: layers.Conv3D(4, (3, 3)), "Conv3D: kernel_size must be a positive int or a tuple of 3 positive ints"),
    (lambda: layers.Conv3D(4, 3, groups=3), "Conv3D: the number of filters must be evenly divisible"),
    (lambda: layers.Conv3DTranspose(4, 3, groups=2), "Conv3DTranspose: unknown argument"),
    (lambda: layers.MaxPooling3D((2, 2)), "MaxPooling3D: pool_size must be a positive int or a tuple of 3"),
    (lambda: layers.UpSampling3D((2, 2)), "UpSampling3D: size must be a positive int or a tuple of 3"),
    (lambda: layers.ZeroPadding3D(((1, 1), (1, 1))), "ZeroPadding3D: padding must be an int, 3 ints or 3"),
    (lambda: layers.SpatialDropout3D(1.5), r"SpatialDropout3D: rate must be in \[0, 1\)"),
    (lambda: layers.LayerNormalization(axis="last"), "LayerNormalization: axis must be an int or a non-empty list"),
    (lambda: layers.LayerNormalization(epsilon=-1.0), "LayerNormalization: epsilon must be a finite number >= 0"),
    (lambda: layers.GroupNormalization(groups=0), "GroupNormalization: groups must be a positive integer"),
    (lambda: layers.UnitNormalization(axis=1.5), "UnitNormalization: axis must be an int"),
])
def test_bad_arguments_name_the_layer(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_spatial_dropout3d_drops_whole_feature_volumes() -> None:
    torch.manual_seed(0)
    outputs = layers.SpatialDropout3D(0.5)(torch.ones(8, 3, 4, 4, 6))
    per_volume = outputs.movedim(-1, 1).reshape(48, -1)
    assert set(per_volume.min(1).values.tolist()) == {0.0, 2.0}
    assert torch.equal(per_volume.min(1).values, per_volume.max(1).values)


@pytest.mark.keras
@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
def test_real_keras_reads_the_3d_cnn_convscope_saves(tmp_path: Path) -> None:
    load_model(FIXTURES / "cnn3d.h5").save(tmp_path / "m.keras")
    predictions, _ = real_keras_predicts(tmp_path / "m.keras", FIXTURES / "cnn3d.npz", "x0", tmp_path)
    with np.load(FIXTURES / "cnn3d.npz") as saved:
        np.testing.assert_allclose(predictions, saved["y0"], rtol=1e-5, atol=1e-6)
