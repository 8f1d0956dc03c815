"""Keras's saving entry points and top-level base classes: `keras.models.save_model` /
`keras.saving.save_model`, `model.save(path, overwrite=..., zipped=...)`, and `keras.Layer`,
`keras.Loss`, `keras.Metric`, `keras.Optimizer`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import convscope.keras as keras


def seed_cnn() -> keras.Sequential:
    layers = keras.layers
    model = keras.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("save_model", [keras.models.save_model, keras.saving.save_model])
@pytest.mark.parametrize("suffix", [".keras", ".h5", ""])
def test_save_model_writes_what_load_model_reads(tmp_path: Path, save_model, suffix: str) -> None:
    model = seed_cnn()
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    path = tmp_path / f"seed{suffix}"
    save_model(model, path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x), model.predict(x), rtol=1e-6, atol=1e-7)


def test_overwrite_false_refuses_an_existing_file_and_leaves_it(tmp_path: Path) -> None:
    model = seed_cnn()
    path = tmp_path / "seed.keras"
    model.save(path, overwrite=False)  # a new path: written
    before = path.read_bytes()
    other = seed_cnn()
    with pytest.raises(FileExistsError, match="seed.keras exists and overwrite=False"):
        other.save(path, overwrite=False)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        keras.models.save_model(other, path, overwrite=False)
    assert path.read_bytes() == before
    other.save(path, overwrite=True)
    assert path.read_bytes() != before


def test_arguments_convscope_does_not_take_are_named(tmp_path: Path) -> None:
    model = seed_cnn()
    with pytest.raises(ValueError, match="zipped=False"):
        model.save(tmp_path / "seed.keras", zipped=False)
    with pytest.raises(TypeError, match="unexpected argument\\(s\\) include_optimizer, save_format"):
        keras.models.save_model(model, tmp_path / "seed.h5", include_optimizer=False, save_format="h5")
    with pytest.raises(TypeError, match="expected a convscope model first; got str"):
        keras.models.save_model("seed.keras", model)
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_top_level_base_classes_are_keras_subpackages_classes() -> None:
    assert keras.Layer is keras.layers.Layer
    assert keras.Loss is keras.losses.Loss
    assert keras.Metric is keras.metrics.Metric
    assert keras.Optimizer is keras.optimizers.Optimizer

    class Double(keras.Layer):
        def call(self, inputs):
            return inputs * 2

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Double()(inputs))
    np.testing.assert_array_equal(model.predict(np.ones((2, 3), np.float32)), np.full((2, 3), 2.0))
