"""Write the fixture that checks the zoo's residual-cnn against its twin in real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/models/make_zoo_fixtures.py
The twin is benchmarks/keras_peer.py's `residual_cnn`, the model the training benchmark runs.
For each input shape (Fashion-MNIST's 28x28x1, CIFAR-10's 32x32x3) fixtures/residual_cnn_keras.json
holds Keras's summary as data (each layer's name, class, output shape and parameter count; the
totals), each layer's hyperparameters (CONFIG_KEYS), the shapes of `model.get_weights()` in order, and Keras's predictions for `zoo_inputs`
with the weights `zoo_weights` sets. Both functions are plain NumPy, so the test makes the same
inputs and weights without storing them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "residual_cnn_keras.json"
SHAPES = ((28, 28, 1), (32, 32, 3))
CLASSES = 10
# The hyperparameters compared layer by layer (those of them a layer's config has).
CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "activation", "use_bias", "momentum", "epsilon",
               "axis", "pool_size", "units", "mode")


def hashed(count: int, salt: int) -> np.ndarray:
    """`count` numbers spread evenly over [-0.5, 0.5), the same in every NumPy: Knuth's
    multiplicative hash of 0, 1, 2, ... (integer arithmetic, no generator streams)."""
    cells = np.arange(count, dtype=np.uint64) + np.uint64(salt * 100_003)
    return ((cells * np.uint64(2654435761)) % np.uint64(2**32)).astype(np.float64) / 2**32 - 0.5


def zoo_inputs(shape: tuple[int, ...], count: int = 4) -> np.ndarray:
    """`count` images of `shape` with values in [0, 1)."""
    return (0.5 + hashed(count * int(np.prod(shape)), salt=0)).reshape(count, *shape).astype(np.float32)


def zoo_weights(shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Weights for arrays of `shapes` (`model.get_weights()` order): kernels uniform with He's
    variance (2 / fan-in), so activations keep their size through the network; vectors (biases,
    BatchNormalization's gamma, beta, mean and variance) in [0.5, 1.5), so every variance is
    positive."""
    weights = []
    for index, shape in enumerate(shapes):
        values = hashed(int(np.prod(shape)), salt=index + 1).reshape(shape)
        if len(shape) == 1:
            weights.append((1.0 + values).astype(np.float32))
        else:
            fan_in = int(np.prod(shape)) // shape[-1]
            weights.append((values * np.sqrt(24.0 / fan_in)).astype(np.float32))  # U(-a, a): a^2 / 3 = 2 / fan-in
    return weights


def readable_json(value: object, indent: str = "") -> str:
    """JSON with one line per dict entry and per list row (a layer, its config, a prediction), not
    per number."""
    inner = indent + " "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key)}: {readable_json(item, inner)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list) and value and all(isinstance(item, (list, dict)) for item in value):
        return "[\n" + ",\n".join(inner + json.dumps(item) for item in value) + f"\n{indent}]"
    return json.dumps(value)


def main() -> None:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    sys.path.insert(0, str(REPO / "benchmarks"))
    from keras_peer import residual_cnn

    fixture = {"keras": keras.__version__}
    for shape in SHAPES:
        keras.backend.clear_session()  # layer names count from zero again, as in a fresh process
        model = residual_cnn(keras, shape, CLASSES)
        shapes = [tuple(weight.shape) for weight in model.get_weights()]
        model.set_weights(zoo_weights(shapes))
        predictions = model.predict(zoo_inputs(shape), verbose=0)
        fixture["x".join(map(str, shape))] = {
            "layers": [[layer.name, type(layer).__name__, list(layer.output.shape), layer.count_params()]
                       for layer in model.layers],
            "configs": [{key: value for key, value in layer.get_config().items() if key in CONFIG_KEYS}
                        for layer in model.layers],
            "total_params": model.count_params(),
            "trainable_params": sum(int(np.prod(w.shape)) for w in model.trainable_weights),
            "non_trainable_params": sum(int(np.prod(w.shape)) for w in model.non_trainable_weights),
            "weight_shapes": [list(s) for s in shapes],
            "predictions": predictions.astype(np.float64).round(7).tolist(),
        }
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(readable_json(fixture) + "\n")
    print(f"wrote {FIXTURE}")


if __name__ == "__main__":
    main()
