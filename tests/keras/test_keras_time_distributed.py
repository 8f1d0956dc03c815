"""TimeDistributed against real Keras: the fixtures (tests/keras/make_keras_time_distributed_fixtures.py)
hold Keras's files, weights, predictions and summaries of a CNN applied to each frame of a clip
(Sequential), a functional model over frames with batch normalization, and a Conv1D over the
windows of a signal."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from keras_fixture_files import (
    FIXTURES,
    KERAS_PYTHON,
    assert_predicts_as_keras,
    keras_summary,
    saved_arrays,
)

from convscope import keras
from convscope.layers import Conv2D, TimeDistributed
from convscope.models import load_model

needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
NAMES = ("frames_cnn", "frames_graph", "signal_windows")


def frames_cnn() -> keras.Model:
    """The fixture's model, written as the Keras script writes it."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input((4, 12, 12, 2)),
        layers.TimeDistributed(layers.Conv2D(6, 3, activation="relu")),
        layers.TimeDistributed(layers.MaxPooling2D(2)),
        layers.TimeDistributed(layers.Flatten()),
        layers.TimeDistributed(layers.Dense(8, activation="relu")),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3, activation="softmax"),
    ], name="frames_cnn")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_files_load_and_predict_as_keras(name: str, suffix: str) -> None:
    model = load_model(FIXTURES / f"{name}{suffix}")
    x, expected, weights = saved_arrays(name)
    np.testing.assert_allclose(model.predict(x[0]), expected[0], atol=1e-5)
    assert [w.shape for w in model.get_weights()] == [w.shape for w in weights]
    for ours, theirs in zip(model.get_weights(), weights, strict=True):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", NAMES)
def test_summary_rows_and_counts_are_keras(name: str) -> None:
    data = load_model(FIXTURES / f"{name}.keras").summary_data()
    rows = [[f'{row["name"]} ({row["type"]})', "(" + ", ".join(str(size) for size in row["output_shape"]) + ")",
             f'{row["params"]:,}'] for row in data["rows"]]
    counts = {"Total params": data["total_params"], "Trainable params": data["trainable_params"],
              "Non-trainable params": data["non_trainable_params"]}
    assert (rows, counts) == keras_summary(name)


def test_the_same_script_gives_keras_weights_and_predictions() -> None:
    assert_predicts_as_keras(frames_cnn(), "frames_cnn")


def test_keras_config_nests_the_wrapped_layer_as_keras_does(tmp_path: Path) -> None:
    frames_cnn().save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        entry = json.loads(archive.read("config.json"))["config"]["layers"][1]
        with h5py.File(archive.open("model.weights.h5")) as store:
            assert sorted(store["layers/time_distributed/layer/vars"]) == ["0", "1"]
            assert store["layers/time_distributed/layer/vars/0"].shape == (3, 3, 2, 6)
            assert len(store["layers/time_distributed/vars"]) == 0
    assert entry["class_name"] == "TimeDistributed" and entry["module"] == "keras.layers"
    inner = entry["config"]["layer"]
    assert (inner["module"], inner["class_name"], inner["config"]["filters"]) == ("keras.layers", "Conv2D", 6)


def test_legacy_h5_names_the_weights_as_keras_does(tmp_path: Path) -> None:
    model = load_model(FIXTURES / "frames_cnn.keras")
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as ours, h5py.File(FIXTURES / "frames_cnn.h5") as theirs:
        for group in ("time_distributed", "time_distributed_3"):
            assert list(ours["model_weights"][group].attrs["weight_names"]) == \
                [name.decode() if isinstance(name, bytes) else name
                 for name in theirs["model_weights"][group].attrs["weight_names"]]


def test_convscope_format_round_trip(tmp_path: Path) -> None:
    model = load_model(FIXTURES / "frames_graph.keras")
    model.save(tmp_path / "run")
    again = load_model(tmp_path / "run")
    x, expected, _ = saved_arrays("frames_graph")
    np.testing.assert_allclose(again.predict(x[0]), expected[0], atol=1e-5)
    assert isinstance(again.get_layer("conv_frames"), TimeDistributed)
    assert isinstance(again.get_layer("conv_frames").layer, Conv2D)


KERAS_CHECK = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras
    folder, inputs = sys.argv[1], np.load(sys.argv[2])
    results = {}
    for file in ("m.keras", "m.h5"):
        results[file] = keras.models.load_model(os.path.join(folder, file)).predict(inputs["x0"], verbose=0)
    np.savez(os.path.join(folder, "keras.npz"), **results)
""")


@pytest.mark.keras
@needs_keras
@pytest.mark.parametrize("name", ["frames_cnn", "frames_graph"])
def test_real_keras_reads_convscope_files(name: str, tmp_path: Path) -> None:
    model = load_model(FIXTURES / f"{name}.keras")
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    x, expected, _ = saved_arrays(name)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_CHECK, str(tmp_path), str(FIXTURES / f"{name}.npz")],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "keras.npz")
    for key in ("m.keras", "m.h5"):
        np.testing.assert_allclose(theirs[key], expected[0], atol=1e-5, err_msg=key)
