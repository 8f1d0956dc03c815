"""Write the nested-model fixtures the tests read (models used as layers), with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_nested_fixtures.py
For each model NAME (probability, transfer, autoencoder) it writes:
    NAME.keras, NAME.h5       the model as Keras saves it
    NAME.npz                  inputs x0, Keras's predictions y0 and the weights w0.. in
                              `model.get_weights()` order
    NAME_summary.txt          `model.summary()`, printed wide enough that no cell wraps
    NAME_config.json          `model.to_json()`: how Keras nests the inner model's config
The weights are set to random values first (moving variances positive), so every weight,
batch normalization's statistics included, shows in the predictions. The outer models' inputs
and the decoder's convolution are named: Keras numbers automatic names across the whole session
(the outer input would be "input_layer_1", the decoder's convolution "conv2d_1"), convscope
within each model.
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


def probability() -> keras.Model:
    """The classification tutorial's `keras.Sequential([model, keras.layers.Softmax()])`; the
    inner model's BatchNormalization puts moving statistics between trainable weights."""
    model = keras.Sequential([
        layers.Input((28, 28)),
        layers.Flatten(),
        layers.Dense(16, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(10),
    ])
    return keras.Sequential([model, layers.Softmax()], name="probability")


def transfer() -> keras.Model:
    """The transfer-learning idiom: a frozen functional base called with training=False."""
    base_inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, activation="relu")(base_inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(8, 3, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    base_model = keras.Model(base_inputs, x, name="base")
    base_model.trainable = False
    inputs = keras.Input((16, 16, 3), name="image")
    x = base_model(inputs, training=False)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="transfer")


def autoencoder() -> keras.Model:
    """An encoder and a decoder (Sequential models) called in a functional graph."""
    encoder = keras.Sequential([
        layers.Input((8, 8, 1)),
        layers.Conv2D(4, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
    ], name="encoder")
    decoder = keras.Sequential([
        layers.Input((4, 4, 4)),
        layers.UpSampling2D(2),
        layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="reconstruction"),
    ], name="decoder")
    inputs = keras.Input((8, 8, 1), name="image")
    return keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")


def summary_text(model: keras.Model) -> str:
    lines: list[str] = []
    model.summary(line_length=240, print_fn=lines.append)
    return "\n".join(lines)


def random_weights(model: keras.Model, rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.uniform(0.5, 1.5, size=weight.shape).astype("float32") if weight.path.endswith("moving_variance")
            else rng.uniform(-0.5, 0.5, size=weight.shape).astype("float32") for weight in model.weights]


def write_model(name: str, model: keras.Model) -> None:
    rng = np.random.default_rng(1)
    model.set_weights(random_weights(model, rng))
    x = np.random.default_rng(3).normal(size=(4, *model.input_shape[1:])).astype("float32")
    predictions = model.predict(x, verbose=0)
    model.save(FIXTURES / f"{name}.keras")
    model.save(FIXTURES / f"{name}.h5")
    np.savez(FIXTURES / f"{name}.npz", x0=x, y0=predictions,
             **{f"w{i}": value for i, value in enumerate(model.get_weights())})
    (FIXTURES / f"{name}_summary.txt").write_text(summary_text(model) + "\n")
    (FIXTURES / f"{name}_config.json").write_text(json.dumps(json.loads(model.to_json()), indent=1) + "\n")
    print(name, model.count_params(), "params")


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for name, build in (("probability", probability), ("transfer", transfer), ("autoencoder", autoencoder)):
        keras.backend.clear_session()  # layer names start again at conv2d, as in a fresh script
        keras.utils.set_random_seed(0)
        write_model(name, build())


if __name__ == "__main__":
    main()
