"""Write what real Keras 3 computes for a Conv1D sequence labeller weighted per timestep
(tests/engine/test_element_weights.py reads it).

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_element_weight_fixtures.py
It writes tests/keras/fixtures/element_weights.npz: the data (x, y and the (N, timesteps)
weights w), the starting weights (w0, w1, ...), what evaluate and train_on_batch returned
(evaluate/..., train/...) and the weights after that one step (after/w0, ...).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES, TIMESTEPS, CHANNELS, CLASSES = 6, 16, 3, 4


def sequence_labeller() -> keras.Sequential:
    """Two Conv1D layers, one class per timestep: (N, 16, 3) -> (N, 16, 4)."""
    keras.utils.set_random_seed(3)
    return keras.Sequential([keras.Input((TIMESTEPS, CHANNELS)),
                             keras.layers.Conv1D(8, 3, padding="same", activation="relu"),
                             keras.layers.Conv1D(CLASSES, 3, padding="same", activation="softmax")])


def main() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(SAMPLES, TIMESTEPS, CHANNELS)).astype(np.float32)
    y = rng.integers(0, CLASSES, (SAMPLES, TIMESTEPS))
    w = rng.uniform(0.0, 2.0, (SAMPLES, TIMESTEPS)).astype(np.float32)
    model = sequence_labeller()
    model.compile(keras.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], weighted_metrics=["accuracy"])
    arrays: dict[str, np.ndarray] = {"x": x, "y": y, "w": w}
    arrays.update({f"w{index}": weight for index, weight in enumerate(model.get_weights())})
    evaluated = model.evaluate(x, y, sample_weight=w, verbose=0, return_dict=True)
    trained = model.train_on_batch(x, y, sample_weight=w, return_dict=True)
    arrays.update({f"evaluate/{key}": np.float32(value) for key, value in evaluated.items()})
    arrays.update({f"train/{key}": np.float32(value) for key, value in trained.items()})
    arrays.update({f"after/w{index}": weight for index, weight in enumerate(model.get_weights())})
    np.savez(FIXTURES / "element_weights.npz", **arrays)
    print(evaluated, trained)


if __name__ == "__main__":
    main()
