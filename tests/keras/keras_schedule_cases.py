"""Learning-rate schedule cases compared with real Keras. Read by the fixture writer (under real
Keras, make_keras_schedule_fixtures.py) and by test_schedules.py (under convscope). NumPy only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# name: (class name in keras.optimizers.schedules, arguments)
SCHEDULE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "exponential": ("ExponentialDecay", {"initial_learning_rate": 1e-3, "decay_steps": 1000, "decay_rate": 0.9}),
    "exponential_staircase": ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5,
                                                   "staircase": True}),
    "piecewise": ("PiecewiseConstantDecay", {"boundaries": [10, 100, 1000], "values": [1.0, 0.5, 0.1, 0.01]}),
    "piecewise_fractional": ("PiecewiseConstantDecay", {"boundaries": [2.5, 40.0], "values": [0.3, 0.2, 0.1]}),
    "polynomial": ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 100}),
    "polynomial_cycle": ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 30,
                                             "end_learning_rate": 0.01, "power": 0.5, "cycle": True}),
    "inverse_time": ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.5}),
    "inverse_time_staircase": ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 10,
                                                    "decay_rate": 0.5, "staircase": True}),
    "cosine": ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 100, "alpha": 0.1}),
    "cosine_warmup": ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 80, "warmup_target": 0.01,
                                      "warmup_steps": 20}),
    "cosine_restarts": ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 10}),
    "cosine_restarts_flat": ("CosineDecayRestarts", {"initial_learning_rate": 0.05, "first_decay_steps": 12,
                                                     "t_mul": 1.0, "m_mul": 0.5, "alpha": 0.2}),
    "cosine_restarts_m_mul": ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 5,
                                                      "t_mul": 3.0, "m_mul": 0.7, "alpha": 0.05}),
}
# Steps every case is read at: every step to 200, then sparser out to far past every decay.
STEPS = np.concatenate([np.arange(201), np.arange(210, 2001, 10), [5000, 10000, 123456]]).astype(np.int64)

# Training with a schedule: a Dense model trained by fit (batches of 4, not shuffled) for two
# epochs, the rate read before every batch and logged by ReduceLROnPlateau at each epoch end.
TRAINING_CASES: dict[str, tuple[tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "sgd_exponential": (("SGD", {"momentum": 0.9}),
                        ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5})),
    "adam_cosine_warmup": (("Adam", {}),
                           ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 10, "warmup_target": 0.02,
                                            "warmup_steps": 4})),
}
BATCH_SIZE, EPOCHS = 4, 2


def training_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    return rng.normal(size=(24, 6)).astype("float32"), rng.normal(size=(24, 2)).astype("float32")


def dense(keras: Any) -> Any:
    """The small Dense model the schedules train, built with `keras`: real Keras in the fixture
    writer, convscope.keras in the tests."""
    return keras.Sequential([keras.layers.Input((6,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(2)], name="dense_schedule")
