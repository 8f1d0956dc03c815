"""Write what real Keras computes for the tutorial layers (tests/keras/keras_tutorial_cases.py)
and the model files tests/keras/test_keras_tutorial_layers.py reads.

Run with the Keras venv (benchmarks/setup_keras.sh), from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_tutorial_fixtures.py
It writes, under tests/keras/fixtures/:
    tutorial_layers.npz, .json   per case: input, weights (Keras layout), output; config, output
                                 shape and parameter count; per adapt case: data, mean, variance, count
    text_conv1d.keras, .h5, .npz an Embedding -> Conv1D text classifier, its inputs and predictions
    normalized.keras, .npz       an adapted Normalization in front of a Dense layer
    lambda_anonymous.keras       a Lambda of a Python lambda (bytecode: convscope must refuse it)
    lambda_named.keras, .npz     a Lambda of a named function (loads given the function)
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

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import record_layer, write_layer_files  # noqa: E402
from keras_tutorial_cases import ADAPT_CASES, CASES  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def inputs_for(shape: tuple[int, ...], options: dict, rng: np.random.Generator) -> np.ndarray:
    if "ids" in options:
        return rng.integers(0, options["ids"], shape).astype("float32")
    if options.get("pixels"):
        return rng.integers(0, 256, shape).astype("float32")
    return rng.normal(size=shape).astype("float32")


def weights_for(class_name: str, layer: keras.layers.Layer, rng: np.random.Generator) -> list[np.ndarray]:
    weights = [rng.normal(size=w.shape).astype(w.dtype) for w in layer.get_weights()]
    if class_name == "Normalization" and weights:  # mean, variance (>= 0), count
        weights[1] = (np.abs(weights[1]) + 0.1).astype("float32")
        weights[2] = np.asarray(7, dtype=weights[2].dtype)
    return weights


def layer_references() -> tuple[dict, dict]:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    for index, (case, (class_name, kwargs, shape, options)) in enumerate(CASES.items()):
        rng = np.random.default_rng(500 + index)
        x = inputs_for(shape, options, rng)
        layer = getattr(keras.layers, class_name)(**kwargs)
        layer.build(shape)
        weights = weights_for(class_name, layer, rng)
        layer.set_weights(weights)
        if class_name == "Normalization":
            layer.finalize_state()  # Keras's set_weights leaves the statistics it computes with as built
        y = np.asarray(layer(x, training=options.get("training", False)))
        record_layer(arrays, described, case, layer, shape, x, y, weights)
    for index, (case, (kwargs, shape)) in enumerate(ADAPT_CASES.items()):
        rng = np.random.default_rng(900 + index)
        data = (rng.normal(size=shape) * 3 + 2).astype("float32")
        for how, source in (("array", data), ("batches", [data[:3], data[3:7], data[7:]])):
            layer = layers.Normalization(**kwargs)
            layer.adapt(source)
            mean, variance, count = layer.get_weights()
            arrays[f"adapt/{case}/{how}/mean"], arrays[f"adapt/{case}/{how}/variance"] = mean, variance
            arrays[f"adapt/{case}/{how}/count"] = np.asarray(count)
            arrays[f"adapt/{case}/{how}/y"] = np.asarray(layer(data[:4]))
        arrays[f"adapt/{case}/data"] = data
    return arrays, described


def text_model() -> keras.Sequential:
    """A Conv1D text classifier as in Keras's examples: ids -> vectors -> convolution -> pooling."""
    return keras.Sequential([
        layers.Input((20,)),
        layers.Embedding(50, 8),
        layers.Conv1D(6, 3, activation="relu"),
        layers.GlobalMaxPooling1D(),
        layers.Dense(1, activation="sigmoid"),
    ], name="text_conv1d")


def model_references() -> None:
    rng = np.random.default_rng(7)
    model = text_model()
    model.set_weights([0.5 * rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = rng.integers(0, 50, (5, 20)).astype("float32")
    np.savez_compressed(FIXTURES / "text_conv1d.npz", x=x, y=model.predict(x, verbose=0),
                        embeddings=model.layers[0].get_weights()[0])
    model.save(FIXTURES / "text_conv1d.keras")
    model.save(FIXTURES / "text_conv1d.h5")

    norm = layers.Normalization()
    data = (rng.normal(size=(30, 4)) * [1, 10, 100, 0.1] + [0, 5, -50, 1]).astype("float32")
    norm.adapt(data)
    model = keras.Sequential([layers.Input((4,)), norm, layers.Dense(2)], name="normalized")
    model.layers[-1].set_weights([rng.normal(size=(4, 2)).astype("float32"), np.zeros(2, "float32")])
    np.savez_compressed(FIXTURES / "normalized.npz", x=data[:6], y=model.predict(data[:6], verbose=0))
    model.save(FIXTURES / "normalized.keras")

    model = keras.Sequential([layers.Input((3,)), layers.Lambda(lambda x: x * 2.0)], name="lambda_anonymous")
    model.save(FIXTURES / "lambda_anonymous.keras")

    def shift(x, amount=1.0):
        return x + amount

    model = keras.Sequential([layers.Input((3,)), layers.Lambda(shift, arguments={"amount": 0.5})],
                             name="lambda_named")
    x = rng.normal(size=(2, 3)).astype("float32")
    np.savez_compressed(FIXTURES / "lambda_named.npz", x=x, y=model.predict(x, verbose=0))
    model.save(FIXTURES / "lambda_named.keras")


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    arrays, described = layer_references()
    write_layer_files(FIXTURES, "tutorial_layers", arrays, described)
    model_references()
    print(f"wrote tutorial layer references and models with Keras {keras.__version__} to {FIXTURES}")


if __name__ == "__main__":
    main()
