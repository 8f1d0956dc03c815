"""Write the Keras-made model files the tests read, with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_fixtures.py
Each model is saved as NAME.keras and NAME.h5, and NAME.npz holds a few inputs ("x") and
Keras's predictions for them ("y").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1]))
import keras_twins  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def seed_cnn() -> keras.Sequential:
    """The seed CNN's shape (two convs, pooling, dense softmax) with few filters."""
    model = keras_twins.small_seed_cnn(keras)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.002), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def conv1d() -> keras.Sequential:
    model = keras.Sequential([
        layers.Input((40, 1)),
        layers.Conv1D(6, 5, padding="same", activation="relu"),
        layers.AveragePooling1D(2),
        layers.Conv1D(8, 3, strides=2),
        layers.ReLU(),
        layers.GlobalMaxPooling1D(),
        layers.Dense(3),
        layers.Softmax(),
    ], name="conv1d")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def batchnorm() -> keras.Sequential:
    model = keras.Sequential([
        layers.Input((12, 12, 3)),
        layers.Conv2D(5, 3, padding="same", use_bias=False),
        layers.BatchNormalization(),
        layers.Activation("relu"),
        layers.AveragePooling2D(2),
        layers.Conv2D(6, 3),
        layers.GlobalAveragePooling2D(),
        layers.Dropout(0.3),
        layers.Dense(4, activation="softmax"),
    ], name="batchnorm")
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    for name, build in (("seed_cnn", seed_cnn), ("conv1d", conv1d), ("batchnorm", batchnorm)):
        model = build()
        shape = model.input_shape[1:]
        x_train = np.random.default_rng(1).normal(size=(16, *shape)).astype("float32")
        y_train = np.random.default_rng(2).integers(0, model.output_shape[-1], 16)
        if model.loss == "categorical_crossentropy":
            y_train = keras.utils.to_categorical(y_train, model.output_shape[-1])
        model.fit(x_train, y_train, epochs=1, batch_size=8, verbose=0)  # non-trivial BN statistics
        x = np.random.default_rng(3).normal(size=(4, *shape)).astype("float32")
        y = model.predict(x, verbose=0)
        model.save(FIXTURES / f"{name}.keras")
        model.save(FIXTURES / f"{name}.h5")
        np.savez(FIXTURES / f"{name}.npz", x=x, y=y)
        print(name, model.count_params(), "params")


if __name__ == "__main__":
    main()
