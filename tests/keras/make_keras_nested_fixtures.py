"""Write the nested-model fixtures the tests read (models used as layers), with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_nested_fixtures.py
For each model NAME (probability, transfer, autoencoder; built by tests/keras_twins.py) it writes:
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


def random_weights(model: keras.Model, rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.uniform(0.5, 1.5, size=weight.shape).astype("float32") if weight.path.endswith("moving_variance")
            else rng.uniform(-0.5, 0.5, size=weight.shape).astype("float32") for weight in model.weights]


def write_model(name: str, model: keras.Model) -> None:
    rng = np.random.default_rng(1)
    model.set_weights(random_weights(model, rng))
    x = np.random.default_rng(3).normal(size=(4, *model.input_shape[1:])).astype("float32")
    write_model_files(FIXTURES, name, model, [x], [model.predict(x, verbose=0)])
    (FIXTURES / f"{name}_config.json").write_text(json.dumps(json.loads(model.to_json()), indent=1) + "\n")
    print(name, model.count_params(), "params")


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for name in ("probability", "transfer", "autoencoder"):
        keras.backend.clear_session()  # layer names start again at conv2d, as in a fresh script
        keras.utils.set_random_seed(0)
        write_model(name, getattr(keras_twins, name)(keras))


if __name__ == "__main__":
    main()
