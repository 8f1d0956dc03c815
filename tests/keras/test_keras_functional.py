"""Functional models against real Keras 3.15.1: the fixtures make_keras_functional_fixtures.py
wrote (a residual model, an Inception-style block, two inputs through every merge and a shared
layer into two outputs, and the seed CNN's feature maps), read back and rebuilt by convscope;
and convscope's functional files read by real Keras (marked keras)."""

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
    predictions,
    saved_arrays,
)

from convscope import Model, keras
from convscope.models import Functional, load_model

needs_keras = pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
NAMES = ("residual", "inception", "merges")


# The fixtures' models, built by the same code under convscope as under Keras.
BUILDERS = {name: getattr(keras_twins, name) for name in NAMES}


def our_summary_rows(model: Model) -> list[list[str]]:
    def shape(value: Any) -> str:
        return "(" + ", ".join(str(size) for size in value) + ")"

    data = model.summary_data()
    return [[f'{row["name"]} ({row["type"]})', shape(row["output_shape"]), f'{row["params"]:,}',
             row["connected_to"]] for row in data["rows"]]


@pytest.mark.parametrize("name", NAMES)
def test_summary_rows_and_counts_equal_keras(name: str) -> None:
    model = BUILDERS[name](keras)
    expected, counts = keras_summary(name)
    assert our_summary_rows(model) == expected
    data = model.summary_data()
    assert data["trainable_params"] == counts["Trainable params"]
    assert data["non_trainable_params"] == counts["Non-trainable params"]


@pytest.mark.parametrize("name", NAMES)
def test_set_weights_from_keras_gives_keras_predictions(name: str) -> None:
    assert_predicts_as_keras(BUILDERS[name](keras), name)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", NAMES)
def test_keras_written_file_predicts_as_keras(name: str, suffix: str) -> None:
    model = load_model(FIXTURES / f"{name}{suffix}")
    assert isinstance(model, Functional) and model.name == name
    assert model.get_config() == BUILDERS[name](keras).get_config()
    x, expected, _ = saved_arrays(name)
    for ours, theirs in zip(predictions(model, x), expected, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
    if name == "residual":  # compiled by Keras with adam and sparse categorical cross-entropy
        assert model.compiled is not None and [metric for metric, _ in model.compiled.metrics] == ["accuracy"]


def test_feature_map_idiom_gives_keras_shapes_and_values() -> None:
    seed = keras_twins.seed_cnn(keras)
    maps = keras.Model(inputs=seed.inputs, outputs=[layer.output for layer in seed.layers])
    shapes = json.loads((FIXTURES / "seed_feature_maps.json").read_text())["shapes"]
    assert [list(tensor.shape) for tensor in maps.outputs] == shapes
    assert len(maps.predict(np.zeros((2, 28, 28, 1), np.float32))) == 7
    small = load_model(FIXTURES / "seed_cnn.keras")
    small_maps = keras.Model(inputs=small.inputs, outputs=[layer.output for layer in small.layers])
    expected = np.load(FIXTURES / "seed_cnn_feature_maps.npz")
    ours = small_maps.predict(np.load(FIXTURES / "seed_cnn.npz")["x"])
    assert len(ours) == len(expected) == 6
    for index, array in enumerate(ours):
        np.testing.assert_allclose(array, expected[f"y{index}"], atol=1e-5)


KERAS_CHECK = textwrap.dedent("""
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, keras
    folder, name = sys.argv[1], sys.argv[2]
    arrays = np.load(os.path.join(folder, "inputs.npz"))
    x = [arrays[key] for key in sorted(arrays)]
    x = x if len(x) > 1 else x[0]
    results = {}
    def keep(key, outputs):
        for i, value in enumerate(outputs if isinstance(outputs, list) else [outputs]):
            results[f"{key}{i}"] = value
    for file in ("m.keras", "m.h5"):
        keep(file, keras.models.load_model(os.path.join(folder, file)).predict(x, verbose=0))
    model = keras.models.model_from_json(open(os.path.join(folder, "m.json")).read())
    model.load_weights(os.path.join(folder, "m.weights.h5"))
    keep("weights", model.predict(x, verbose=0))
    lines = []
    model.summary(print_fn=lines.append, line_length=240)
    open(os.path.join(folder, "summary.txt"), "w").write("\\n".join(lines))
    np.savez(os.path.join(folder, "keras.npz"), **results)
""")


@pytest.mark.keras
@needs_keras
@pytest.mark.parametrize("name", NAMES)
def test_real_keras_reads_convscope_functional_files(name: str, tmp_path: Path) -> None:
    model = BUILDERS[name](keras)
    x, _, weights = saved_arrays(name)
    model.set_weights([weight + 0.01 for weight in weights])  # not the weights Keras saved
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    model.save_weights(tmp_path / "m.weights.h5")
    (tmp_path / "m.json").write_text(model.to_json())
    np.savez(tmp_path / "inputs.npz", **{f"x{i}": value for i, value in enumerate(x)})
    ours = predictions(model, x)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
           "COLUMNS": "250"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_CHECK, str(tmp_path), name],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    theirs = np.load(tmp_path / "keras.npz")
    for key in ("m.keras", "m.h5", "weights"):
        for index, value in enumerate(ours):
            np.testing.assert_allclose(theirs[f"{key}{index}"], value, atol=1e-5, err_msg=key)
    assert "Connected to" in (tmp_path / "summary.txt").read_text()
