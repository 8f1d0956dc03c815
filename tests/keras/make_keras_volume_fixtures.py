"""Write what real Keras computes for the 3-D and per-sample normalization layers that
tests/keras/test_keras_volumes.py compares convscope with, and a small 3-D CNN Keras saved.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_volume_fixtures.py
It writes, under tests/keras/fixtures/:
    volumes.npz, volumes.json   per case of keras_volume_cases.py: input x, weights w0.. (Keras
                                layout), output y, a random cotangent r and the gradients of
                                sum(y * r) with respect to x (gx) and each weight (g0..); config,
                                output shape and parameter count
    cnn3d.keras, cnn3d.h5, cnn3d.npz, cnn3d_summary.txt
                                Conv3D -> MaxPooling3D -> GlobalAveragePooling3D -> Dense, with
                                random weights, inputs x0 and Keras's predictions y0
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import record_layer, write_layer_files, write_model_files  # noqa: E402
from keras_volume_cases import CASES  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def layer_references() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    for index, (case, (class_name, kwargs, shape)) in enumerate(CASES.items()):
        rng = np.random.default_rng(index)
        x = rng.normal(size=shape).astype("float32")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # rms_scaling's deprecation
            layer = getattr(keras.layers, class_name)(**kwargs)
        layer.build(shape)
        weights = [rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        inputs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            y = layer(inputs, training=False)
            cotangent = tf.constant(rng.normal(size=y.shape).astype("float32"))
            total = tf.reduce_sum(y * cotangent)
        gradients = tape.gradient(total, [inputs, *layer.trainable_weights])
        record_layer(arrays, described, case, layer, shape, x, np.asarray(y), weights)
        arrays[f"{case}/r"], arrays[f"{case}/gx"] = np.asarray(cotangent), np.asarray(gradients[0])
        for number, gradient in enumerate(gradients[1:]):
            arrays[f"{case}/g{number}"] = np.asarray(gradient)
    write_layer_files(FIXTURES, "volumes", arrays, described)


def cnn3d() -> keras.Sequential:
    return keras.Sequential([
        keras.Input((6, 8, 8, 1)),
        keras.layers.Conv3D(4, 3, activation="relu"),
        keras.layers.MaxPooling3D(2),
        keras.layers.GlobalAveragePooling3D(),
        keras.layers.Dense(3, activation="softmax"),
    ], name="cnn3d")


def model_references() -> None:
    model = cnn3d()
    rng = np.random.default_rng(7)
    model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype("float32") for w in model.get_weights()])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy")
    x = rng.normal(size=(4, 6, 8, 8, 1)).astype("float32")
    write_model_files(FIXTURES, "cnn3d", model, [x], [model.predict(x, verbose=0)])


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    layer_references()
    model_references()
    print(f"wrote the 3-D and normalization layer references with Keras {keras.__version__} to {FIXTURES}")


if __name__ == "__main__":
    main()
