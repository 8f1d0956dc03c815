"""Write the grouped-convolution fixtures the tests read (`Conv1D/Conv2D(groups=...)`), with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_groups_fixtures.py
For each model NAME (conv2d_groups, conv1d_groups) it writes:
    NAME.keras, NAME.h5       the model as Keras saves it
    NAME.npz                  inputs x0, Keras's predictions y0 and the weights w0.. in
                              `model.get_weights()` order (random values, so every weight counts)
    NAME_summary.txt          `model.summary()`, printed wide enough that no cell wraps
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def conv2d_groups() -> keras.Sequential:
    """Grouped 3x3 convolutions, the second followed by the 2x2 max pooling a fused kernel would take."""
    return keras.Sequential([
        layers.Input((10, 10, 4)),
        layers.Conv2D(8, 3, groups=2, activation="relu"),
        layers.Conv2D(6, 3, groups=2, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(6, (1, 2), strides=2, groups=6, use_bias=False),
        layers.Flatten(),
        layers.Dense(3, activation="softmax"),
    ], name="conv2d_groups")


def conv1d_groups() -> keras.Sequential:
    return keras.Sequential([
        layers.Input((20, 6)),
        layers.Conv1D(6, 5, groups=3, activation="relu"),
        layers.Conv1D(4, 3, groups=2, padding="causal", dilation_rate=2),
        layers.GlobalMaxPooling1D(),
        layers.Dense(2),
    ], name="conv1d_groups")


def summary_text(model: keras.Model) -> str:
    lines: list[str] = []
    model.summary(line_length=240, print_fn=lines.append)
    return "\n".join(lines)


def write_model(name: str, model: keras.Model) -> None:
    rng = np.random.default_rng(1)
    model.set_weights([rng.uniform(-0.5, 0.5, size=weight.shape).astype("float32") for weight in model.weights])
    x = np.random.default_rng(3).normal(size=(4, *model.input_shape[1:])).astype("float32")
    model.save(FIXTURES / f"{name}.keras")
    model.save(FIXTURES / f"{name}.h5")
    np.savez(FIXTURES / f"{name}.npz", x0=x, y0=model.predict(x, verbose=0),
             **{f"w{i}": value for i, value in enumerate(model.get_weights())})
    (FIXTURES / f"{name}_summary.txt").write_text(summary_text(model) + "\n")
    print(name, model.count_params(), "params", [tuple(weight.shape) for weight in model.weights])


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for name, build in (("conv2d_groups", conv2d_groups), ("conv1d_groups", conv1d_groups)):
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        write_model(name, build())


if __name__ == "__main__":
    main()
