"""Write the grouped-convolution fixtures the tests read (`Conv1D/Conv2D(groups=...)`), with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_groups_fixtures.py
For each model NAME (conv2d_groups, conv1d_groups; built by tests/keras_twins.py) it writes:
    NAME.keras, NAME.h5       the model as Keras saves it
    NAME.npz                  inputs x0, Keras's predictions y0 and the weights w0.. in
                              `model.get_weights()` order (random values, so every weight counts)
    NAME_summary.txt          `model.summary()`, printed wide enough that no cell wraps
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

sys.path.insert(0, str(Path(__file__).parents[1]))
import keras_twins  # noqa: E402
from keras_fixture_files import write_model_files  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def write_model(name: str, model: keras.Model) -> None:
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(-0.5, 0.5, size=weight.shape).astype("float32") for weight in model.weights])
    x = np.random.default_rng(3).normal(size=(4, *model.input_shape[1:])).astype("float32")
    write_model_files(FIXTURES, name, model, [x], [model.predict(x, verbose=0)])
    print(name, model.count_params(), "params", [tuple(weight.shape) for weight in model.weights])


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for name in ("conv2d_groups", "conv1d_groups"):
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        write_model(name, getattr(keras_twins, name)(keras))


if __name__ == "__main__":
    main()
