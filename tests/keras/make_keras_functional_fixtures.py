"""Write the functional-model fixtures the tests read, with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_functional_fixtures.py
For each model NAME (residual, inception, merges) it writes:
    NAME.keras, NAME.h5       the model as Keras saves it
    NAME.npz                  inputs x0.. (one per model input), Keras's predictions y0.. (one
                              per output) and the weights w0.. in `model.get_weights()` order
    NAME_summary.txt          `model.summary()`, printed wide enough that no cell wraps
seed_feature_maps.json holds the shapes of the seed CNN's feature-map model outputs, and
seed_cnn_feature_maps.npz that model's outputs for seed_cnn.npz's inputs, with the weights of
seed_cnn.keras (written by make_keras_fixtures.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def residual() -> keras.Model:
    """A stem, an identity residual block and a downsampling block with a 1x1 projection."""
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    y = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(8, 3, padding="same")(y)
    x = layers.ReLU()(layers.Add()([x, y]))
    y = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
    y = layers.Conv2D(16, 3, padding="same")(y)
    shortcut = layers.Conv2D(16, 1, strides=2)(x)
    x = layers.Activation("relu")(layers.add([shortcut, y]))
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(5, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="residual")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def inception() -> keras.Model:
    """One Inception block: 1x1, 1x1-3x3, 1x1-5x5 and pool-1x1 branches joined on the channels."""
    inputs = keras.Input((12, 12, 4))
    branch1 = layers.Conv2D(4, 1, activation="relu")(inputs)
    branch2 = layers.Conv2D(3, 1, activation="relu")(inputs)
    branch2 = layers.Conv2D(6, 3, padding="same", activation="relu")(branch2)
    branch3 = layers.Conv2D(2, 1, activation="relu")(inputs)
    branch3 = layers.Conv2D(4, 5, padding="same", activation="relu")(branch3)
    branch4 = layers.MaxPooling2D(3, strides=1, padding="same")(inputs)
    branch4 = layers.Conv2D(4, 1, activation="relu")(branch4)
    x = layers.Concatenate()([branch1, branch2, branch3, branch4])
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="inception")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def merges() -> keras.Model:
    """Two inputs through one shared Dense, every element-wise merge, and two outputs."""
    left, right = keras.Input((6,), name="left"), keras.Input((6,), name="right")
    shared = layers.Dense(4, activation="tanh", name="shared")
    a, b = shared(left), shared(right)
    merged = [layers.Subtract()([a, b]), layers.Multiply()([a, b]), layers.Average()([a, b]),
              layers.Maximum()([a, b]), layers.Minimum()([a, b]), layers.Add()([a, b, a])]
    x = layers.Concatenate()(merged)
    scores = layers.Dense(3, activation="softmax", name="scores")(x)
    value = layers.Dense(1, name="value")(x)
    return keras.Model([left, right], [scores, value], name="merges")


def seed_cnn() -> keras.Sequential:
    """The seed CNN: two 64-filter convolutions, pooling, Dense 128 and Dense 10."""
    return keras.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ])


def summary_text(model: keras.Model) -> str:
    lines: list[str] = []
    model.summary(line_length=240, print_fn=lines.append)
    return "\n".join(lines)


def write_model(name: str, model: keras.Model) -> None:
    rng = np.random.default_rng(1)
    inputs = [rng.normal(size=(16, *tensor.shape[1:])).astype("float32") for tensor in model.inputs]
    if name != "merges":  # train a little, so BatchNormalization's statistics are not the defaults
        labels = rng.integers(0, model.output_shape[-1], 16)
        model.fit(inputs[0], labels, epochs=1, batch_size=8, verbose=0)
    x = [np.random.default_rng(3).normal(size=(4, *tensor.shape[1:])).astype("float32") for tensor in model.inputs]
    predictions = model.predict(x if len(x) > 1 else x[0], verbose=0)
    predictions = predictions if isinstance(predictions, list) else [predictions]
    model.save(FIXTURES / f"{name}.keras")
    model.save(FIXTURES / f"{name}.h5")
    arrays = {f"x{i}": value for i, value in enumerate(x)}
    arrays.update({f"y{i}": value for i, value in enumerate(predictions)})
    arrays.update({f"w{i}": value for i, value in enumerate(model.get_weights())})
    np.savez(FIXTURES / f"{name}.npz", **arrays)
    (FIXTURES / f"{name}_summary.txt").write_text(summary_text(model) + "\n")
    print(name, model.count_params(), "params")


def write_feature_maps() -> None:
    """The feature-map idiom on the seed CNN (shapes) and on seed_cnn.keras (values)."""
    keras.backend.clear_session()
    model = seed_cnn()
    maps = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in model.layers])
    shapes = [list(tensor.shape) for tensor in maps.outputs]
    (FIXTURES / "seed_feature_maps.json").write_text(json.dumps({"shapes": shapes}) + "\n")
    small = keras.models.load_model(FIXTURES / "seed_cnn.keras")
    small_maps = keras.Model(inputs=small.inputs, outputs=[layer.output for layer in small.layers])
    x = np.load(FIXTURES / "seed_cnn.npz")["x"]
    values = small_maps.predict(x, verbose=0)
    np.savez(FIXTURES / "seed_cnn_feature_maps.npz", **{f"y{i}": value for i, value in enumerate(values)})


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for name, build in (("residual", residual), ("inception", inception), ("merges", merges)):
        keras.backend.clear_session()  # layer names start again at conv2d, as in a fresh script
        keras.utils.set_random_seed(0)
        write_model(name, build())
    write_feature_maps()


if __name__ == "__main__":
    main()
