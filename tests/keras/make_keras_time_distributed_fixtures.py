"""Write the TimeDistributed fixtures the tests read, with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_time_distributed_fixtures.py
For each model NAME it writes (see tests/keras_fixture_files.py):
    NAME.keras, NAME.h5       the model as Keras saves it
    NAME.npz                  inputs x0, Keras's predictions y0 and the weights w0.. in
                              `model.get_weights()` order
    NAME_summary.txt          `model.summary()`
The models: `frames_cnn`, a CNN applied to each frame of a short clip (Conv2D, MaxPooling2D,
Flatten, Dense, each in a TimeDistributed) then GlobalAveragePooling1D and Dense;
`frames_graph`, a functional model with TimeDistributed Conv2D (same padding, strided),
BatchNormalization and GlobalAveragePooling2D, then a Conv1D over time; `signal_windows`,
TimeDistributed Conv1D and GlobalMaxPooling1D over windows of a signal. Weights are set to
random values first (moving variances positive), so every weight shows in the predictions.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import write_model_files  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def frames_cnn() -> keras.Model:
    return keras.Sequential([
        keras.Input((4, 12, 12, 2)),
        layers.TimeDistributed(layers.Conv2D(6, 3, activation="relu")),
        layers.TimeDistributed(layers.MaxPooling2D(2)),
        layers.TimeDistributed(layers.Flatten()),
        layers.TimeDistributed(layers.Dense(8, activation="relu")),
        layers.GlobalAveragePooling1D(),
        layers.Dense(3, activation="softmax"),
    ], name="frames_cnn")


def frames_graph() -> keras.Model:
    frames = keras.Input((3, 9, 9, 3), name="frames")
    x = layers.TimeDistributed(layers.Conv2D(5, 3, strides=2, padding="same"), name="conv_frames")(frames)
    x = layers.TimeDistributed(layers.BatchNormalization(), name="norm_frames")(x)
    x = layers.TimeDistributed(layers.GlobalAveragePooling2D(), name="pool_frames")(x)
    x = layers.Conv1D(4, 2, activation="tanh", name="over_time")(x)
    outputs = layers.Dense(2, name="scores")(layers.Flatten(name="flat")(x))
    return keras.Model(frames, outputs, name="frames_graph")


def signal_windows() -> keras.Model:
    return keras.Sequential([
        keras.Input((5, 16, 1)),
        layers.TimeDistributed(layers.Conv1D(4, 5, activation="relu")),
        layers.TimeDistributed(layers.GlobalMaxPooling1D()),
        layers.Flatten(),
        layers.Dense(2),
    ], name="signal_windows")


def random_weights(model: keras.Model, rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.uniform(0.5, 1.5, size=weight.shape).astype("float32") if weight.path.endswith("moving_variance")
            else rng.uniform(-0.5, 0.5, size=weight.shape).astype("float32") for weight in model.weights]


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for build in (frames_cnn, frames_graph, signal_windows):
        keras.backend.clear_session()  # layer names start again, as in a fresh script
        keras.utils.set_random_seed(0)
        model = build()
        model.set_weights(random_weights(model, np.random.default_rng(1)))
        x = np.random.default_rng(3).normal(size=(4, *model.input_shape[1:])).astype("float32")
        write_model_files(FIXTURES, build.__name__, model, [x], [model.predict(x, verbose=0)])
        print(build.__name__, model.count_params(), "params")


if __name__ == "__main__":
    main()
