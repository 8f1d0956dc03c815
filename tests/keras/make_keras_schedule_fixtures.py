"""Write the learning-rate schedule fixtures that test_schedules.py reads, with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_schedule_fixtures.py
schedules.npz: each case of keras_schedule_cases.SCHEDULE_CASES at keras_schedule_cases.STEPS
(the float32 rates Keras computes), and for each TRAINING_CASES case the rates read from
model.optimizer.learning_rate before every batch of fit ("<case>_rates"), the learning_rate
ReduceLROnPlateau logs at each epoch end ("<case>_logged"), the weights before ("<case>_initial_<i>")
and after ("<case>_after_<i>").
schedule_<name>.keras: the Dense model trained one epoch with a schedule (Adam with CosineDecay's
warm-up; SGD with momentum and the custom InverseStep schedule below), then
schedule_<name>.npz: its weights before the first epoch and after one more epoch.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from keras_schedule_cases import (  # noqa: E402
    BATCH_SIZE,
    EPOCHS,
    SCHEDULE_CASES,
    STEPS,
    TRAINING_CASES,
    dense,
    training_data,
)

FIXTURES = Path(__file__).parent / "fixtures"


class InverseStep(keras.optimizers.schedules.LearningRateSchedule):
    """initial_learning_rate / (1 + step / 2): the custom schedule test_schedules.py defines too."""

    def __init__(self, initial_learning_rate: float) -> None:
        self.initial_learning_rate = initial_learning_rate

    def __call__(self, step):  # type: ignore[no-untyped-def]
        return self.initial_learning_rate / (1.0 + keras.ops.cast(step, "float32") / 2.0)

    def get_config(self) -> dict[str, float]:
        return {"initial_learning_rate": self.initial_learning_rate}


def schedule(name: str, arguments: dict) -> keras.optimizers.schedules.LearningRateSchedule:
    return getattr(keras.optimizers.schedules, name)(**arguments)


class ReadRates(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.rates: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):  # type: ignore[no-untyped-def]
        self.rates.append(float(self.model.optimizer.learning_rate))


def training(arrays: dict[str, np.ndarray]) -> None:
    x, y = training_data()
    for case, ((optimizer_name, optimizer_arguments), (schedule_name, schedule_arguments)) in TRAINING_CASES.items():
        keras.utils.set_random_seed(0)
        model = dense(keras)
        optimizer = getattr(keras.optimizers, optimizer_name)(learning_rate=schedule(schedule_name, schedule_arguments),
                                                              **optimizer_arguments)
        model.compile(optimizer=optimizer, loss="mse")
        arrays.update({f"{case}_initial_{index}": array for index, array in enumerate(model.get_weights())})
        reader = ReadRates()
        history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False, verbose=0,
                            callbacks=[reader, keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=100)])
        arrays[f"{case}_rates"] = np.asarray(reader.rates, dtype=np.float32)
        arrays[f"{case}_logged"] = np.asarray(history.history["learning_rate"], dtype=np.float32)
        arrays.update({f"{case}_after_{index}": array for index, array in enumerate(model.get_weights())})


def keras_files() -> None:
    x, y = training_data()
    made = {"cosine": lambda: keras.optimizers.Adam(learning_rate=schedule(*TRAINING_CASES["adam_cosine_warmup"][1])),
            "custom": lambda: keras.optimizers.SGD(learning_rate=InverseStep(0.05), momentum=0.9)}
    for name, optimizer in made.items():
        keras.utils.set_random_seed(1)
        model = dense(keras)
        model.compile(optimizer=optimizer(), loss="mse")
        initial = model.get_weights()
        model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
        model.save(FIXTURES / f"schedule_{name}.keras")
        model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
        arrays = {f"initial_{index}": array for index, array in enumerate(initial)}
        arrays.update({f"after_{index}": array for index, array in enumerate(model.get_weights())})
        np.savez_compressed(FIXTURES / f"schedule_{name}.npz", **arrays)


def main() -> None:
    arrays = {name: np.asarray([float(schedule(cls, arguments)(int(step))) for step in STEPS], dtype=np.float32)
              for name, (cls, arguments) in SCHEDULE_CASES.items()}
    training(arrays)
    np.savez_compressed(FIXTURES / "schedules.npz", **arrays)
    keras_files()


if __name__ == "__main__":
    main()
