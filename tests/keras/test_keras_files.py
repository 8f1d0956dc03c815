"""Keras's own model files: those real Keras wrote (fixtures/, made by make_keras_fixtures.py),
and those convscope writes, read back by convscope and by real Keras (marked keras)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import convscope
from convscope.models import clone_model, load_model, model_from_json

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]
KERAS_PYTHON = REPO / "benchmarks" / ".keras-env" / "bin" / "python"
MODELS = ("seed_cnn", "conv1d", "batchnorm")
PARAMS = {"seed_cnn": 2346, "conv1d": 215, "batchnorm": 459}
needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")


def saved(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, Keras's predictions for them) saved beside the fixture."""
    arrays = np.load(FIXTURES / f"{name}.npz")
    return arrays["x"], arrays["y"]


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", MODELS)
def test_keras_written_file_predicts_as_keras(name: str, suffix: str) -> None:
    model = load_model(FIXTURES / f"{name}{suffix}")
    x, expected = saved(name)
    assert model.count_params() == PARAMS[name]
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)


def keras2_style(source: Path, target: Path) -> None:
    """Rewrite a Keras 3 legacy .h5 as tf.keras 2 wrote it: no InputLayer (the first layer has
    batch_input_shape), BatchNormalization's axis as a list, initializers without "module", and
    weight names ending ":0"."""
    with h5py.File(source, "r") as old, h5py.File(target, "w") as new:
        config = json.loads(old.attrs["model_config"])
        input_layer, first, *rest = config["config"]["layers"]
        first["config"]["batch_input_shape"] = input_layer["config"]["batch_shape"]
        for layer in (first, *rest):
            settings = layer["config"]
            settings["dtype"] = "float32"
            if layer["class_name"] == "BatchNormalization":
                settings["axis"] = [3]
            for key, value in settings.items():
                if isinstance(value, dict) and "module" in value:
                    settings[key] = {"class_name": value["class_name"], "config": value["config"]}
        config["config"]["layers"] = [first, *rest]
        new.attrs["model_config"] = json.dumps(config)
        new.attrs["keras_version"] = "2.15.0"
        weights = new.create_group("model_weights")
        weights.attrs["layer_names"] = old["model_weights"].attrs["layer_names"]
        for layer_name in old["model_weights"].attrs["layer_names"]:
            names = [name + ":0" for name in old["model_weights"][layer_name].attrs["weight_names"]]
            group = weights.create_group(layer_name)
            group.attrs["weight_names"] = [name.encode() for name in names]
            for name in names:
                group[name] = old["model_weights"][layer_name][name[:-2]][()]


def test_tf_keras_2_style_h5(tmp_path: Path) -> None:
    keras2_style(FIXTURES / "batchnorm.h5", tmp_path / "old.h5")
    model = load_model(tmp_path / "old.h5")
    x, expected = saved("batchnorm")
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)
    assert model.compiled is None  # no training_config in this file


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_compile_settings_are_read(suffix: str) -> None:
    model = load_model(FIXTURES / f"seed_cnn{suffix}")
    assert model.compiled is not None
    assert model.learning_rate == pytest.approx(0.002)
    assert type(model.compiled.optimizer).__name__ == "Adam"
    assert type(model.compiled.loss).__name__ == "SparseCategoricalCrossentropy"
    assert [name for name, _ in model.compiled.metrics] == ["accuracy"]
    assert load_model(FIXTURES / f"seed_cnn{suffix}", compile=False).compiled is None


@pytest.mark.parametrize("name", MODELS)
def test_convscope_written_files_read_back(name: str, tmp_path: Path) -> None:
    model = load_model(FIXTURES / f"{name}.keras")
    x, expected = saved(name)
    for file in ("m.keras", "m.h5"):
        model.save(tmp_path / file)
        np.testing.assert_allclose(load_model(tmp_path / file).predict(x), expected, atol=1e-5)
    model.save_weights(tmp_path / "m.weights.h5")
    twin = clone_model(model)
    twin.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_allclose(twin.predict(x), expected, atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.h5", "m.keras", "m.weights.h5"]  # no temp files


def test_keras_archive_layout(tmp_path: Path) -> None:
    model = load_model(FIXTURES / "conv1d.keras")
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert {"config.json", "metadata.json", "model.weights.h5"} <= set(archive.namelist())
        config = json.loads(archive.read("config.json"))
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    assert config["class_name"] == "Sequential"
    assert config["config"]["layers"][0]["config"]["batch_shape"] == [None, 40, 1]
    assert set(weights["layers"]) == {"conv1d", "average_pooling1d", "conv1d_1", "re_lu", "global_max_pooling1d",
                                      "dense", "softmax"}
    assert weights["layers/conv1d/vars/0"].shape == (5, 1, 6)  # Keras's (width, in, out) kernel


def test_folder_path_keeps_convscope_format(tmp_path: Path) -> None:
    model = load_model(FIXTURES / "seed_cnn.keras")
    model.save(tmp_path / "folder")
    assert (tmp_path / "folder" / "config.json").is_file()
    x, expected = saved("seed_cnn")
    np.testing.assert_allclose(load_model(tmp_path / "folder").predict(x), expected, atol=1e-5)


def test_json_and_clone() -> None:
    model = load_model(FIXTURES / "batchnorm.keras")
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Sequential"
    rebuilt = model_from_json(text)
    assert [type(layer).__name__ for layer in rebuilt.layers] == [type(layer).__name__ for layer in model.layers]
    clone = clone_model(model)
    assert clone.count_params() == model.count_params()
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])  # fresh weights
    rebuilt.set_weights(model.get_weights())
    x, expected = saved("batchnorm")
    np.testing.assert_allclose(rebuilt.predict(x), expected, atol=1e-5)
    assert convscope.keras.models.model_from_json is model_from_json
    assert convscope.keras.models.clone_model is clone_model


def test_resolve_model_opens_keras_files() -> None:
    from convscope.runs import resolve_model

    run = resolve_model(FIXTURES / "conv1d.h5")
    assert run.kind == "Keras file"
    assert run.preprocessing.shape == (40, 1)
    assert run.load_model().count_params() == PARAMS["conv1d"]


# -- hostile files ------------------------------------------------------------------------------
def test_zip_without_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("metadata.json", "{}")
    with pytest.raises(ValueError, match=r"bad\.keras.*config\.json"):
        load_model(bad)


def test_not_a_zip(tmp_path: Path) -> None:
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"bad\.keras"):
        load_model(bad)


def test_h5_without_model_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as file:
        file.create_group("model_weights")
    with pytest.raises(ValueError, match=r"bad\.h5.*model_config"):
        load_model(bad)


def test_unknown_layer_class(tmp_path: Path) -> None:
    bad = tmp_path / "attention.h5"
    with h5py.File(FIXTURES / "conv1d.h5", "r") as source, h5py.File(bad, "w") as file:
        config = json.loads(source.attrs["model_config"])
        config["config"]["layers"][2] = {"class_name": "MultiHeadAttention",
                                         "config": {"name": "attention", "num_heads": 2, "key_dim": 4}}
        file.attrs["model_config"] = json.dumps(config)
    with pytest.raises(ValueError, match=r"attention\.h5: layer 'attention' is a MultiHeadAttention.*Supported layers: "
                       "InputLayer, Conv1D"):
        load_model(bad)


def test_weights_from_another_model(tmp_path: Path) -> None:
    load_model(FIXTURES / "conv1d.keras").save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(ValueError, match=r"other\.weights\.h5"):
        load_model(FIXTURES / "seed_cnn.keras").load_weights(tmp_path / "other.weights.h5")


def test_weights_of_the_wrong_shape(tmp_path: Path) -> None:
    model = load_model(FIXTURES / "conv1d.keras")
    model.save_weights(tmp_path / "wide.weights.h5")
    with h5py.File(tmp_path / "wide.weights.h5", "a") as file:
        del file["layers/dense/vars/0"]
        file["layers/dense/vars/0"] = np.zeros((100, 3), np.float32)
    with pytest.raises(ValueError, match=r"wide\.weights\.h5: Dense 'dense_1' expects weights of shapes"):
        model.load_weights(tmp_path / "wide.weights.h5")


# -- the CLI, in a fresh process ----------------------------------------------------------------
def cli(*args: str) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "convscope", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_cli_summary_of_keras_file() -> None:
    text = cli("summary", str(FIXTURES / "seed_cnn.keras"))
    assert "Keras file" in text
    assert "Total params: 2,346" in text


def test_cli_explain_shapes_of_h5_file() -> None:
    text = cli("explain", "shapes", "--model", str(FIXTURES / "conv1d.h5"))
    assert "Conv1D 'conv1d': (40, 1) -> (40, 6)" in text
    assert "journey: 40 -> 20 -> 9 -> 8 -> 3" in text


# -- real Keras reads what convscope writes -----------------------------------------------------
KERAS_CHECK = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras
    folder, inputs = sys.argv[1], np.load(sys.argv[2])
    results = {}
    for file in ("m.keras", "m.h5"):
        results[file] = keras.models.load_model(os.path.join(folder, file)).predict(inputs["x"], verbose=0)
    model = keras.models.model_from_json(open(os.path.join(folder, "m.json")).read())
    model.load_weights(os.path.join(folder, "m.weights.h5"))
    results["weights"] = model.predict(inputs["x"], verbose=0)
    np.savez(os.path.join(folder, "keras.npz"), **results)
""")


@pytest.mark.keras
@needs_keras
@pytest.mark.parametrize("name", MODELS)
def test_real_keras_reads_convscope_files(name: str, tmp_path: Path) -> None:
    model = load_model(FIXTURES / f"{name}.keras")
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    model.save_weights(tmp_path / "m.weights.h5")
    (tmp_path / "m.json").write_text(model.to_json())
    x, _ = saved(name)
    ours = model.predict(x)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_CHECK, str(tmp_path), str(FIXTURES / f"{name}.npz")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "keras.npz")
    for key in ("m.keras", "m.h5", "weights"):
        np.testing.assert_allclose(theirs[key], ours, atol=1e-5, err_msg=key)
