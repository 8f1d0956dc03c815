"""The user's own layers and losses in saved models, as Keras tutorials load them: through
`load_model(path, custom_objects=...)`, `@register_keras_serializable()` or a
`custom_object_scope`; in convscope's folder, .keras and .h5 alike."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from custom_layers import Scale

import convscope.keras as keras

REPO = Path(__file__).resolve().parents[2]
KERAS_PYTHON = REPO / "benchmarks" / ".keras-env" / "bin" / "python"
FORMATS = ("folder", "m.keras", "m.h5")


def scaled_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """A custom loss: twice the squared error, per sample."""
    return 2.0 * torch.mean((y_true - y_pred) ** 2, dim=-1)


@keras.saving.register_keras_serializable(package="ConvscopeTests")
class RegisteredScale(Scale):
    """Scale, registered as "ConvscopeTests>RegisteredScale"."""


@keras.utils.register_keras_serializable(package="ConvscopeTests")
def registered_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    return 3.0 * torch.mean((y_true - y_pred) ** 2, dim=-1)


def build(layer_class: type[Scale], loss: Any) -> keras.Model:
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), layer_class(offset=0.25, name="scale"),
                              keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=loss)
    x, y = samples()
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # weights and optimizer state that differ from fresh
    return model


def samples() -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(0)
    return generator.normal(size=(16, 5)).astype("float32"), generator.normal(size=(16, 2)).astype("float32")


def save(model: keras.Model, folder: Path, target: str) -> Path:
    path = folder / target
    model.save(path)
    return path


@pytest.mark.parametrize("target", FORMATS)
def test_custom_objects_load_the_layer_and_the_loss(target: str, tmp_path: Path) -> None:
    model = build(Scale, scaled_error)
    path = save(model, tmp_path, target)
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale, "scaled_error": scaled_error})
    x, y = samples()
    assert isinstance(loaded.layers[1], Scale) and loaded.layers[1].offset == 0.25
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.compiled is not None and loaded.compiled.heads[0].loss.fn is scaled_error
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0), rtol=1e-5)


@pytest.mark.parametrize("target", FORMATS)
def test_registered_objects_load_without_custom_objects(target: str, tmp_path: Path) -> None:
    model = build(RegisteredScale, registered_error)
    path = save(model, tmp_path, target)
    loaded = keras.saving.load_model(path)
    x, y = samples()
    assert type(loaded.layers[1]) is RegisteredScale
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert loaded.compiled is not None and loaded.compiled.heads[0].loss.fn is registered_error


@pytest.mark.parametrize("target", FORMATS)
def test_a_custom_object_scope_loads_them(target: str, tmp_path: Path) -> None:
    model = build(Scale, scaled_error)
    path = save(model, tmp_path, target)
    with keras.utils.custom_object_scope({"Scale": Scale}, {"scaled_error": scaled_error}):
        loaded = keras.models.load_model(path)
    x, _ = samples()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="Scale"):  # the scope ended with the block
        keras.models.load_model(path)


def test_registered_names_are_written_as_keras_3_writes_them(tmp_path: Path) -> None:
    model = build(RegisteredScale, registered_error)
    entry = model.get_config()["layers"][1]
    assert entry["class_name"] == "RegisteredScale"
    assert entry["registered_name"] == "ConvscopeTests>RegisteredScale"
    assert "registered_name" not in model.get_config()["layers"][0]  # convscope's own Dense
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        document = json.loads(archive.read("config.json"))
    layer = document["config"]["layers"][2]
    assert layer["registered_name"] == "ConvscopeTests>RegisteredScale"
    assert layer["module"] == __name__ and layer["config"]["offset"] == 0.25
    assert document["config"]["layers"][1]["registered_name"] is None  # Dense: Keras's own
    assert document["compile_config"]["loss"] == {"module": __name__, "class_name": "function",
                                                  "config": "ConvscopeTests>registered_error",
                                                  "registered_name": "ConvscopeTests>registered_error"}
    assert keras.saving.get_custom_objects()["ConvscopeTests>RegisteredScale"] is RegisteredScale
    assert keras.saving.get_registered_name(RegisteredScale) == "ConvscopeTests>RegisteredScale"
    assert keras.utils.get_registered_object("ConvscopeTests>registered_error") is registered_error


@pytest.mark.parametrize("target", FORMATS)
def test_an_unknown_class_is_named_with_the_fix(target: str, tmp_path: Path) -> None:
    path = save(build(Scale, scaled_error), tmp_path, target)
    with pytest.raises(ValueError, match=r"'Scale'.*custom_objects=\{'Scale': \.\.\.\}.*register_keras_serializable"):
        keras.models.load_model(path)


def test_an_unknown_loss_is_named_with_the_fix(tmp_path: Path) -> None:
    path = save(build(Scale, scaled_error), tmp_path, "folder")
    with pytest.raises(ValueError, match=r"unknown loss 'scaled_error'.*custom_objects=\{'scaled_error'"):
        keras.models.load_model(path, custom_objects={"Scale": Scale})
    loaded = keras.models.load_model(path, custom_objects={"Scale": Scale}, compile=False)
    assert loaded.compiled is None


def test_a_custom_activation_by_name(tmp_path: Path) -> None:
    def half(x: torch.Tensor) -> torch.Tensor:
        return x / 2

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation=half)])
    model.save(tmp_path / "m.keras")
    x = np.ones((2, 3), dtype="float32")
    loaded = keras.models.load_model(tmp_path / "m.keras", custom_objects={"half": half})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match=r"unknown activation 'half'.*custom_objects"):
        keras.models.load_model(tmp_path / "m.keras")


def test_register_refuses_a_package_with_the_separator() -> None:
    with pytest.raises(ValueError, match="without '>'"):
        keras.saving.register_keras_serializable(package="a>b")


KERAS_CHECK = textwrap.dedent("""
    import sys
    import numpy as np
    import keras

    @keras.saving.register_keras_serializable(package="ConvscopeTests")
    class RegisteredScale(keras.layers.Layer):
        def __init__(self, offset=0.0, **kwargs):
            super().__init__(**kwargs)
            self.offset = offset

        def build(self, input_shape):
            self.weight = self.add_weight(shape=(input_shape[-1],), name="weight")

        def call(self, inputs):
            return inputs * self.weight + self.offset

        def get_config(self):
            return {**super().get_config(), "offset": self.offset}

    @keras.saving.register_keras_serializable(package="ConvscopeTests")
    def registered_error(y_true, y_pred):
        return 3.0 * keras.ops.mean((y_true - y_pred) ** 2, axis=-1)

    model = keras.saving.load_model(sys.argv[1])
    x = np.load(sys.argv[2])
    np.save(sys.argv[3], model.predict(x, verbose=0))
    print(type(model.layers[1]).__name__, model.loss.__name__ if hasattr(model.loss, "__name__") else model.loss)
""")


@pytest.mark.keras
@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
def test_real_keras_loads_a_registered_class_from_a_convscope_file(tmp_path: Path) -> None:
    model = build(RegisteredScale, registered_error)
    model.save(tmp_path / "m.keras")
    x, _ = samples()
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_CHECK, str(tmp_path / "m.keras"), str(tmp_path / "x.npy"),
                           str(tmp_path / "keras.npy")], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[:2] == ["RegisteredScale", "registered_error"]
    np.testing.assert_allclose(np.load(tmp_path / "keras.npy"), model.predict(x, verbose=0), atol=1e-5)
