"""Models used as layers, against real Keras: the fixtures (tests/keras/make_keras_nested_fixtures.py)
hold Keras's summaries, configs, weights, predictions and files for the classification
tutorial's probability model, a frozen transfer-learning base and an autoencoder."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import keras_twins
import numpy as np
import pytest
from keras_fixture_files import (
    FIXTURES,
    KERAS_PYTHON,
    assert_predicts_as_keras,
    keras_summary,
    saved_arrays,
)

from convscope import Model, Sequential, keras
from convscope.models import Functional, load_model

needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
NAMES = ("probability", "transfer", "autoencoder")


# The fixtures' models, built by the same code under convscope as under Keras.
BUILDERS = {name: getattr(keras_twins, name) for name in NAMES}


def our_summary(model: Model) -> tuple[list[list[str]], dict[str, int]]:
    data = model.summary_data()
    rows = [[f'{row["name"]} ({row["type"]})', "(" + ", ".join(str(size) for size in row["output_shape"]) + ")",
             f'{row["params"]:,}'] for row in data["rows"]]
    return rows, {"Total params": data["total_params"], "Trainable params": data["trainable_params"],
                  "Non-trainable params": data["non_trainable_params"]}


@pytest.mark.parametrize("name", NAMES)
def test_summary_shows_the_inner_model_as_one_row_as_keras_does(name: str) -> None:
    assert our_summary(BUILDERS[name](keras)) == keras_summary(name)


@pytest.mark.parametrize("name", NAMES)
def test_keras_weights_give_keras_predictions(name: str) -> None:
    assert_predicts_as_keras(BUILDERS[name](keras), name)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", NAMES)
def test_keras_written_nested_file_predicts_as_keras(name: str, suffix: str) -> None:
    model = load_model(FIXTURES / f"{name}{suffix}")
    built = BUILDERS[name](keras)
    assert type(model) is type(built) and model.name == name
    assert model.get_config() == built.get_config()
    assert [type(layer) for layer in model.layers] == [type(layer) for layer in built.layers]
    (x,), (expected,), weights = saved_arrays(name)
    np.testing.assert_allclose(model.predict(x), expected, atol=1e-5)
    for ours, theirs in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def nested_entries(config: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for entry in config["config"]["layers"] if entry["class_name"] in ("Sequential", "Functional")]


def entry_outline(entry: dict[str, Any]) -> dict[str, Any]:
    """What Keras needs to rebuild a nested model: its class and module, its name and
    trainability, its layers' classes and names in order, and how the outer graph calls it.
    A Sequential model's input is left unnamed: Keras numbers "input_layer" across the session."""
    inner = entry["config"]
    return {
        "class": (entry["module"], entry["class_name"], entry["registered_name"]),
        "name": inner["name"], "trainable": inner["trainable"],
        "layers": [(layer["class_name"], None if entry["class_name"] == "Sequential" and layer["class_name"] ==
                    "InputLayer" else layer["config"]["name"]) for layer in inner["layers"]],
        "graph": (inner.get("input_layers"), inner.get("output_layers")),
        "calls": [node["kwargs"].get("training") for node in entry.get("inbound_nodes", [])],
    }


@pytest.mark.parametrize("name", NAMES)
def test_nested_config_has_keras_layout(name: str) -> None:
    theirs = json.loads((FIXTURES / f"{name}_config.json").read_text())
    ours = json.loads(BUILDERS[name](keras).to_json())
    assert [entry_outline(entry) for entry in nested_entries(ours)] == \
        [entry_outline(entry) for entry in nested_entries(theirs)]
    if name == "transfer":
        assert entry_outline(nested_entries(ours)[0])["calls"] == [False]


def test_loaded_transfer_model_keeps_the_base_frozen() -> None:
    model = load_model(FIXTURES / "transfer.keras")
    assert isinstance(model, Functional)
    base = model.get_layer("base")
    assert isinstance(base, Functional) and not base.trainable
    assert not any(layer.trainable for layer in base.layers)
    _, counts = keras_summary("transfer")
    assert model.summary_data()["non_trainable_params"] == counts["Non-trainable params"] == base.count_params()


def test_probability_model_shares_the_inner_models_weights() -> None:
    model = load_model(FIXTURES / "probability.keras")
    inner = model.layers[0]
    assert isinstance(inner, Sequential)
    assert [id(weight) for weight in model.weights] == [id(weight) for weight in inner.weights]


KERAS_CHECK = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras
    folder = sys.argv[1]
    results = {}
    for name in sys.argv[2:]:
        x = np.load(os.path.join(folder, name + "_inputs.npz"))["x"]
        for file in (".keras", ".h5"):
            results[name + file] = keras.models.load_model(os.path.join(folder, name + file)).predict(x, verbose=0)
        model = keras.models.model_from_json(open(os.path.join(folder, name + ".json")).read())
        model.load_weights(os.path.join(folder, name + ".weights.h5"))
        results[name + ".weights"] = model.predict(x, verbose=0)
        results[name + ".trainable"] = np.array([len(model.trainable_weights), len(model.non_trainable_weights)])
    np.savez(os.path.join(folder, "keras.npz"), **results)
""")


@pytest.mark.keras
@needs_keras
def test_real_keras_reads_convscope_nested_files(tmp_path: Path) -> None:
    ours = {}
    for name in NAMES:
        model = BUILDERS[name](keras)
        (x,), _, weights = saved_arrays(name)
        model.set_weights([weight + 0.01 for weight in weights])  # not the weights Keras saved
        model.save(tmp_path / f"{name}.keras")
        model.save(tmp_path / f"{name}.h5")
        model.save_weights(tmp_path / f"{name}.weights.h5")
        (tmp_path / f"{name}.json").write_text(model.to_json())
        np.savez(tmp_path / f"{name}_inputs.npz", x=x)
        ours[name] = (model.predict(x), [len(model.trainable_weights), len(model.non_trainable_weights)])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_CHECK, str(tmp_path), *NAMES],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "keras.npz")
    for name, (predictions, counts) in ours.items():
        for file in (".keras", ".h5", ".weights"):
            np.testing.assert_allclose(theirs[name + file], predictions, atol=1e-5, err_msg=name + file)
        assert list(theirs[name + ".trainable"]) == counts, name
