"""Write what real Keras computes for ConvLSTM1D, ConvLSTM2D and ConvLSTM3D, which
tests/keras/test_keras_conv_lstm.py compares convscope with, and a next-frame model Keras saved.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_conv_lstm_fixtures.py
It writes, under tests/keras/fixtures/:
    conv_lstm.npz, conv_lstm.json  per case of CASES: input x, initial states s0.. (where the case
                                   gives them), weights w0.. (Keras layout), outputs y0..; config,
                                   output shape and parameter count
    next_frame.keras/.h5/.npz/_summary.txt
                                   ConvLSTM2D(return_sequences) -> BatchNormalization ->
                                   ConvLSTM2D -> Conv3D(sigmoid), the keras.io next-frame model, tiny
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

sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import DROPPED_KEYS, write_model_files  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

# case: (class, arguments, input shape, whether the call gives initial states)
CASES = {
    "2d_same_sequences_state": ("ConvLSTM2D", {"filters": 3, "kernel_size": 3, "padding": "same",
                                               "return_sequences": True, "return_state": True}, (2, 4, 6, 5, 2), False),
    "2d_valid_strides": ("ConvLSTM2D", {"filters": 2, "kernel_size": (3, 2), "strides": 2}, (2, 3, 7, 6, 1), False),
    "2d_same_strides_even_kernel": ("ConvLSTM2D", {"filters": 2, "kernel_size": 2, "strides": (2, 1),
                                                   "padding": "same"}, (2, 3, 5, 4, 2), False),
    "2d_dilated_backwards": ("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2,
                                            "go_backwards": True, "return_sequences": True}, (2, 3, 7, 7, 1), False),
    "2d_relu_hard_sigmoid_no_bias": ("ConvLSTM2D", {"filters": 3, "kernel_size": 3, "padding": "same",
                                                    "activation": "relu", "recurrent_activation": "hard_sigmoid",
                                                    "use_bias": False}, (2, 3, 5, 5, 2), False),
    "2d_initial_state": ("ConvLSTM2D", {"filters": 2, "kernel_size": 3, "return_state": True},
                         (2, 3, 6, 6, 1), True),
    "1d_same": ("ConvLSTM1D", {"filters": 4, "kernel_size": 3, "padding": "same", "return_sequences": True},
                (2, 5, 8, 3), False),
    "1d_even_kernel_strides": ("ConvLSTM1D", {"filters": 2, "kernel_size": 4, "strides": 2,
                                              "padding": "same"}, (2, 4, 9, 2), False),
    "3d_valid": ("ConvLSTM3D", {"filters": 2, "kernel_size": 2, "return_state": True}, (2, 3, 4, 4, 3, 1), False),
    "3d_same_sequences": ("ConvLSTM3D", {"filters": 2, "kernel_size": 3, "padding": "same",
                                         "return_sequences": True}, (1, 2, 3, 4, 4, 2), False),
}


def layer_references() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    for index, (case, (class_name, kwargs, shape, with_states)) in enumerate(CASES.items()):
        rng = np.random.default_rng(500 + index)
        x = rng.normal(size=shape).astype("float32")
        layer = getattr(keras.layers, class_name)(**kwargs)
        layer.build(shape)
        weights = [(0.5 * rng.normal(size=w.shape)).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        state_shape = layer.compute_output_shape(shape)[1] if layer.return_state else None
        states = [rng.normal(size=state_shape).astype("float32") for _ in range(2)] if with_states else None
        outputs = layer(x, initial_state=states, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        arrays[f"{case}/x"] = x
        arrays.update({f"{case}/s{number}": state for number, state in enumerate(states or [])})
        arrays.update({f"{case}/w{number}": weight for number, weight in enumerate(weights)})
        arrays.update({f"{case}/y{number}": np.asarray(output) for number, output in enumerate(outputs)})
        config = {key: value for key, value in layer.get_config().items() if key not in DROPPED_KEYS}
        output_shape = layer.compute_output_shape(shape)
        described[case] = {"class_name": class_name, "kwargs": kwargs, "shape": list(shape), "config": config,
                           "params": layer.count_params(), "weights": len(weights), "outputs": len(outputs),
                           "states": len(states or []), "output_shape": json.loads(json.dumps(output_shape))}
    np.savez_compressed(FIXTURES / "conv_lstm.npz", **arrays)
    (FIXTURES / "conv_lstm.json").write_text(json.dumps(described, indent=1, sort_keys=True, default=str) + "\n")


def next_frame() -> None:
    rng = np.random.default_rng(11)
    model = keras.Sequential([
        keras.Input((None, 8, 8, 1)),
        keras.layers.ConvLSTM2D(4, (5, 5), padding="same", return_sequences=True, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.ConvLSTM2D(4, (3, 3), padding="same", return_sequences=True, activation="relu"),
        keras.layers.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same"),
    ], name="next_frame")
    for variable in model.weights:  # weights away from their initial values, BatchNormalization's statistics too
        values = np.asarray(variable)
        if "variance" in variable.path:
            variable.assign((0.5 + rng.random(values.shape)).astype("float32"))
        else:
            variable.assign((0.3 * rng.normal(size=values.shape)).astype("float32"))
    x = rng.random((2, 4, 8, 8, 1)).astype("float32")
    write_model_files(FIXTURES, "next_frame", model, [x], [model.predict(x, verbose=0)])


if __name__ == "__main__":
    layer_references()
    next_frame()
