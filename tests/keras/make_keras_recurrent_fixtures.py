"""Write what real Keras computes for the recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional)
that tests/keras/test_keras_recurrent.py compares convscope with, and two small models Keras saved.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_recurrent_fixtures.py
It writes, under tests/keras/fixtures/:
    recurrent.npz, recurrent.json  per case of keras_recurrent_cases.py: input x, weights w0..
                                   (Keras layout, `layer.get_weights()` order), outputs y0..
                                   (several with return_state or merge_mode=None); config, output
                                   shape and parameter count
    conv1d_lstm.keras/.h5/.npz/_summary.txt
                                   Conv1D -> MaxPooling1D -> LSTM -> Dense on 1-D signals
    bigru.keras/.h5/.npz/_summary.txt
                                   Bidirectional(GRU, return_sequences) -> Bidirectional(LSTM, sum)
                                   -> Dense
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import DROPPED_KEYS, write_model_files  # noqa: E402
from keras_recurrent_cases import CASES  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def make_layer(class_name: str, kwargs: dict) -> keras.layers.Layer:
    if class_name != "Bidirectional":
        return getattr(keras.layers, class_name)(**kwargs)
    kwargs = dict(kwargs)
    inner = kwargs.pop("layer")
    backward = kwargs.pop("backward_layer", None)
    return keras.layers.Bidirectional(
        getattr(keras.layers, inner["class_name"])(**inner["config"]), **kwargs,
        backward_layer=None if backward is None else getattr(keras.layers, backward["class_name"])(**backward["config"]))


def layer_references() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    for index, (case, (class_name, kwargs, shape)) in enumerate(CASES.items()):
        rng = np.random.default_rng(index)
        x = rng.normal(size=shape).astype("float32")
        layer = make_layer(class_name, kwargs)
        layer.build(shape)
        weights = [(0.5 * rng.normal(size=w.shape)).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        outputs = layer(x, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        arrays[f"{case}/x"] = x
        for number, weight in enumerate(weights):
            arrays[f"{case}/w{number}"] = weight
        for number, output in enumerate(outputs):
            arrays[f"{case}/y{number}"] = np.asarray(output)
        config = {key: value for key, value in layer.get_config().items() if key not in DROPPED_KEYS}
        output_shape = layer.compute_output_shape(shape)
        described[case] = {"config": config, "params": layer.count_params(), "weights": len(weights),
                           "outputs": len(outputs), "output_shape": json.loads(json.dumps(output_shape))}
    np.savez_compressed(FIXTURES / "recurrent.npz", **arrays)
    (FIXTURES / "recurrent.json").write_text(json.dumps(described, indent=1, sort_keys=True, default=str) + "\n")


def randomized(model: keras.Model, seed: int) -> keras.Model:
    rng = np.random.default_rng(seed)
    model.set_weights([(0.4 * rng.normal(size=w.shape)).astype("float32") for w in model.get_weights()])
    return model


def models() -> None:
    rng = np.random.default_rng(7)
    conv_lstm = randomized(keras.Sequential([
        keras.Input((40, 2)),
        keras.layers.Conv1D(8, 5, activation="relu"),
        keras.layers.MaxPooling1D(2),
        keras.layers.LSTM(6),
        keras.layers.Dense(3, activation="softmax"),
    ], name="conv1d_lstm"), 1)
    x = rng.normal(size=(4, 40, 2)).astype("float32")
    write_model_files(FIXTURES, "conv1d_lstm", conv_lstm, [x], [conv_lstm.predict(x, verbose=0)])
    bigru = randomized(keras.Sequential([
        keras.Input((12, 3)),
        keras.layers.Bidirectional(keras.layers.GRU(5, return_sequences=True)),
        keras.layers.Bidirectional(keras.layers.LSTM(4), merge_mode="sum"),
        keras.layers.Dense(2),
    ], name="bigru"), 2)
    x = rng.normal(size=(3, 12, 3)).astype("float32")
    write_model_files(FIXTURES, "bigru", bigru, [x], [bigru.predict(x, verbose=0)])


if __name__ == "__main__":
    layer_references()
    models()
