"""Write the functional-model fixtures the tests read, with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_functional_fixtures.py
For each model NAME (residual, inception, merges; built by tests/keras_twins.py) it writes:
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
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1]))
import keras_twins  # noqa: E402
from keras_fixture_files import write_model_files  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


# What Keras compiles the models with before their short training (saved in their files).
COMPILE = {"residual": {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]},
           "inception": {"optimizer": "sgd", "loss": "sparse_categorical_crossentropy"}}


def write_model(name: str, model: keras.Model) -> None:
    rng = np.random.default_rng(1)
    inputs = [rng.normal(size=(16, *tensor.shape[1:])).astype("float32") for tensor in model.inputs]
    if name != "merges":  # train a little, so BatchNormalization's statistics are not the defaults
        labels = rng.integers(0, model.output_shape[-1], 16)
        model.fit(inputs[0], labels, epochs=1, batch_size=8, verbose=0)
    x = [np.random.default_rng(3).normal(size=(4, *tensor.shape[1:])).astype("float32") for tensor in model.inputs]
    predictions = model.predict(x if len(x) > 1 else x[0], verbose=0)
    predictions = predictions if isinstance(predictions, list) else [predictions]
    write_model_files(FIXTURES, name, model, x, predictions)
    print(name, model.count_params(), "params")


def write_feature_maps() -> None:
    """The feature-map idiom on the seed CNN (shapes) and on seed_cnn.keras (values)."""
    keras.backend.clear_session()
    model = keras_twins.seed_cnn(keras)
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
    for name in ("residual", "inception", "merges"):
        keras.backend.clear_session()  # layer names start again at conv2d, as in a fresh script
        keras.utils.set_random_seed(0)
        model = getattr(keras_twins, name)(keras)
        if name in COMPILE:
            model.compile(**COMPILE[name])
        write_model(name, model)
    write_feature_maps()


if __name__ == "__main__":
    main()
