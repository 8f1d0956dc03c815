"""The checks test_keras_layers.py, test_keras_tutorial_layers.py and test_keras_volumes.py make
of convscope's layers against what real Keras computed for the same inputs and weights.

Each fixture writer (make_keras_references.py, make_keras_tutorial_fixtures.py,
make_keras_volume_fixtures.py) saves, for a table of cases {case: (class_name, kwargs, shape,
...)}, NAME.npz with each case's input "CASE/x", weights "CASE/w0".. (Keras's layout and order)
and output "CASE/y", and NAME.json with each case's Keras config, output shape, parameter count
and number of weights. The functions here take that table, those arrays and descriptions, and the
tolerances each test file uses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from keras_fixture_files import FIXTURES, KERAS_PYTHON

from convscope import layers
from convscope.layers import Layer

SERIALIZED = ("_initializer", "_regularizer", "_constraint")  # objects each library writes its own way


def keras_descriptions(name: str) -> dict[str, Any]:
    """NAME.json: per case, Keras's config, output shape, parameter count and number of weights."""
    described: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return described


def keras_arrays(name: str) -> dict[str, np.ndarray]:
    """NAME.npz: per case, the input, the weights and Keras's output."""
    with np.load(FIXTURES / f"{name}.npz") as archive:
        return dict(archive)


def built(cases: dict[str, tuple], case: str, *, quiet: bool = False) -> Layer:
    """The case's layer, built for its input shape with any batch size; `quiet` silences the
    warnings its arguments raise (a deprecated one, as in Keras)."""
    class_name, kwargs, shape = cases[case][:3]
    with warnings.catch_warnings():
        if quiet:
            warnings.simplefilter("ignore")
        layer = getattr(layers, class_name)(**kwargs)
    layer.build((None, *shape[1:]))
    return layer


def with_keras_weights(layer: Layer, case: str, described: dict[str, Any], arrays: dict[str, np.ndarray]) -> Layer:
    """`layer` given the weights Keras had, which must come in its order and layout."""
    weights = [arrays[f"{case}/w{number}"] for number in range(described[case]["weights"])]
    assert [w.shape for w in layer.get_weights()] == [w.shape for w in weights]  # Keras's order and layout
    layer.set_weights(weights)
    return layer


def assert_output_matches_keras(layer: Layer, case: str, arrays: dict[str, np.ndarray], *, atol: float) -> None:
    """The layer's output for the case's input is Keras's (rtol 1e-5 and `atol`)."""
    with torch.no_grad():
        outputs = layer(torch.from_numpy(arrays[f"{case}/x"])).numpy()
    np.testing.assert_allclose(outputs, arrays[f"{case}/y"], rtol=1e-5, atol=atol)


def assert_shape_and_count_match_keras(layer: Layer, keras: dict[str, Any], *, name: bool = True) -> None:
    """Output shape and parameter count as Keras's; with `name`, the default name too (Keras
    numbers the later layers of a class, "conv3d_1", convscope's first is "conv3d")."""
    assert layer.output_shape == (None, *keras["output_shape"][1:])
    assert layer.count_params() == keras["params"]
    if name:
        assert layer.name == re.sub(r"_\d+$", "", keras["config"]["name"])


def assert_config_matches_keras(mine: dict[str, Any], theirs: dict[str, Any], *, skipped: tuple[str, ...] = SERIALIZED,
                                float_lists: bool = False) -> None:
    """The same config keys as Keras's and the same values, but for the name and the keys ending in
    `skipped`; floats compared approximately (and lists of floats, with `float_lists`)."""
    theirs = dict(theirs)
    if theirs.get("activity_regularizer", 0) is None:
        del theirs["activity_regularizer"]  # convscope's layers write it only when there is one
    assert set(mine) == set(theirs)
    for key, value in theirs.items():
        if key != "name" and not key.endswith(skipped):
            assert mine[key] == pytest.approx(value) if _is_float(value, float_lists) else mine[key] == value, key


def _is_float(value: Any, float_lists: bool) -> bool:
    if not float_lists:
        return isinstance(value, float)
    return bool(isinstance(value, (float, list)) and value
                and isinstance(value[0] if isinstance(value, list) else value, float))


KERAS_READ = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
model = keras.models.load_model(sys.argv[1])
np.save(sys.argv[3], model.predict(np.load(sys.argv[2])[sys.argv[4]], verbose=0))
print(type(getattr(model, "optimizer", None)).__name__)
"""


def real_keras_predicts(model_file: Path, inputs: Path, key: str, tmp_path: Path) -> tuple[np.ndarray, str]:
    """(predictions, optimizer class name) of real Keras (benchmarks/.keras-env) loading
    `model_file` and predicting on the array `key` of the .npz `inputs`."""
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_READ, str(model_file), str(inputs), str(tmp_path / "y.npy"),
                           key], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    return np.load(tmp_path / "y.npy"), done.stdout.split()[-1]
