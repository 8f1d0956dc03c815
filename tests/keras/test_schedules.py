"""Learning-rate schedules (`keras.optimizers.schedules`) against real Keras: each schedule's
rates at many steps, the rates fit uses and logs, save/load and exact resume in convscope's
format and in .keras files both ways, a user's own schedule, and Keras's errors. Fixtures are
written by make_keras_schedule_fixtures.py from keras_schedule_cases.py."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from keras_schedule_cases import (
    BATCH_SIZE,
    EPOCHS,
    SCHEDULE_CASES,
    STEPS,
    TRAINING_CASES,
    dense,
    training_data,
)

import convscope.keras as keras
from convscope import optimizers, schedules
from convscope.engine.callbacks import Callback, LearningRateScheduler, ReduceLROnPlateau
from convscope.engine.checkpoint import Checkpointer, restore_latest
from convscope.models import Model, load_model

FIXTURES = Path(__file__).parent / "fixtures"
RATES = np.load(FIXTURES / "schedules.npz")


class InverseStep(schedules.LearningRateSchedule):
    """initial_learning_rate / (1 + step / 2): the custom schedule of the fixture writer."""

    def __init__(self, initial_learning_rate: float) -> None:
        self.initial_learning_rate = initial_learning_rate

    def __call__(self, step: Any) -> float:
        return self.initial_learning_rate / (1.0 + step / 2.0)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate}


class ReadRates(Callback):
    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self.rates.append(float(self.model.optimizer.learning_rate))


def make_schedule(name: str, arguments: dict[str, Any]) -> schedules.LearningRateSchedule:
    schedule: schedules.LearningRateSchedule = getattr(keras.optimizers.schedules, name)(**arguments)
    return schedule


def weights(archive: Any, prefix: str) -> list[np.ndarray]:
    return [archive[f"{prefix}{index}"] for index in range(sum(key.startswith(prefix) for key in archive))]


@pytest.mark.parametrize("case", sorted(SCHEDULE_CASES))
def test_schedule_rates_equal_keras_at_every_step(case: str) -> None:
    name, arguments = SCHEDULE_CASES[case]
    schedule = make_schedule(name, arguments)
    ours = np.asarray([schedule(int(step)) for step in STEPS], dtype=np.float32)
    np.testing.assert_allclose(ours, RATES[case], rtol=2e-6, atol=1e-30)


def test_keras_tutorial_spelling_and_values() -> None:
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, decay_steps=1000, decay_rate=0.9)
    optimizer = keras.optimizers.Adam(learning_rate=schedule)
    assert float(optimizer.learning_rate) == pytest.approx(1e-3)
    assert float(schedule(2000)) == pytest.approx(1e-3 * 0.81, rel=1e-6)
    assert float(keras.optimizers.schedules.PiecewiseConstantDecay([1.7, 3], [1.0, 2.0, 3.0])(1)) == 1.0


@pytest.mark.parametrize("case", sorted(TRAINING_CASES))
def test_fit_uses_and_logs_the_schedule_as_keras_does(case: str) -> None:
    (optimizer_name, optimizer_arguments), (schedule_name, schedule_arguments) = TRAINING_CASES[case]
    model = dense(keras)
    model.compile(optimizer=getattr(optimizers, optimizer_name)(
        learning_rate=make_schedule(schedule_name, schedule_arguments), **optimizer_arguments),
        loss="mse", precision="float32")
    model.set_weights(weights(RATES, f"{case}_initial_"))
    reader = ReadRates()
    x, y = training_data()
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False, verbose=0,
                        callbacks=[reader, ReduceLROnPlateau(monitor="loss", patience=100)])
    np.testing.assert_allclose(reader.rates, RATES[f"{case}_rates"], rtol=2e-6)
    np.testing.assert_allclose(history.history["learning_rate"], RATES[f"{case}_logged"], rtol=2e-6)
    for ours, theirs in zip(model.get_weights(), weights(RATES, f"{case}_after_")):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    steps = len(x) // BATCH_SIZE * EPOCHS
    assert model.optimizer is not None and model.optimizer.iterations == steps
    assert float(model.optimizer.learning_rate) == pytest.approx(float(model.optimizer.schedule(steps)), rel=1e-7)


def test_train_on_batch_steps_the_schedule() -> None:
    model = dense(keras)
    model.compile(optimizer=optimizers.SGD(learning_rate=schedules.PiecewiseConstantDecay([0, 1], [0.5, 0.2, 0.1])),
                  loss="mse", precision="float32")
    x, y = training_data()
    rates = []
    for _ in range(3):
        rates.append(float(model.optimizer.learning_rate))  # type: ignore[union-attr]
        model.train_on_batch(x[:4], y[:4])
    assert rates == pytest.approx([0.5, 0.2, 0.1]) and model.learning_rate == pytest.approx(0.1)


def test_a_number_over_a_schedule_raises_keras_type_error() -> None:
    model = dense(keras)
    model.compile(optimizer=optimizers.Adam(learning_rate=schedules.InverseTimeDecay(0.1, 10, 0.5)), loss="mse")
    assert model.optimizer is not None
    with pytest.raises(TypeError, match="created with a `LearningRateSchedule`.*not settable"):
        model.optimizer.learning_rate = 0.01
    with pytest.raises(TypeError, match="not settable"):
        model.optimizer.learning_rate.assign(0.01)
    x, y = training_data()
    for callback in (LearningRateScheduler(lambda epoch, rate: rate * 0.5),
                     ReduceLROnPlateau(monitor="loss", patience=0, min_delta=1e9)):
        with pytest.raises(TypeError, match="not settable"):
            model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    model.optimizer.learning_rate = schedules.ExponentialDecay(0.3, 1, 0.5)  # a new schedule replaces it
    assert float(model.optimizer.learning_rate) == pytest.approx(0.3 * 0.5 ** model.optimizer.iterations)


def test_bad_arguments_raise_keras_errors() -> None:
    with pytest.raises(ValueError, match=r"ExponentialDecay: Argument `decay_steps` must be > 0. Received: decay_steps=0"):
        schedules.ExponentialDecay(0.1, 0, 0.9)
    with pytest.raises(ValueError, match="CosineDecayRestarts: Argument `first_decay_steps` must be > 0"):
        schedules.CosineDecayRestarts(0.1, -5)
    with pytest.raises(ValueError, match="PiecewiseConstantDecay: The length of boundaries should be 1 less"):
        schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5])
    with pytest.raises(NotImplementedError, match="'Unfinished' must override `__call__"):
        type("Unfinished", (schedules.LearningRateSchedule,), {})()(3)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'Nope'"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


def test_serialize_is_keras_form_and_round_trips() -> None:
    schedule = schedules.CosineDecay(0.0, 80, warmup_target=0.01, warmup_steps=20)
    entry = keras.optimizers.schedules.serialize(schedule)
    assert entry == {"module": "keras.optimizers.schedules", "class_name": "CosineDecay",
                     "config": {"initial_learning_rate": 0.0, "decay_steps": 80, "alpha": 0.0, "name": "CosineDecay",
                                "warmup_target": 0.01, "warmup_steps": 20}, "registered_name": None}
    again = keras.optimizers.schedules.deserialize(json.loads(json.dumps(entry)))
    assert type(again) is schedules.CosineDecay and again.get_config() == schedule.get_config()
    custom = schedules.serialize(InverseStep(0.05))
    assert custom["registered_name"] == "InverseStep" and custom["module"] == __name__
    built = schedules.deserialize(custom, custom_objects={"InverseStep": InverseStep})
    assert isinstance(built, InverseStep) and built.initial_learning_rate == 0.05


@pytest.mark.parametrize("schedule", [schedules.PolynomialDecay(0.1, 5, power=2.0), InverseStep(0.05)],
                         ids=["polynomial", "custom"])
def test_folder_save_load_and_checkpoint_resume_continue_the_schedule(schedule: Any, tmp_path: Path) -> None:
    x, y = training_data()

    def compiled() -> Model:
        model = dense(keras)
        model.compile(optimizer=optimizers.SGD(learning_rate=schedule, momentum=0.9), loss="mse", precision="float32")
        model.set_weights(weights(RATES, "sgd_exponential_initial_"))
        return model

    straight = compiled()
    straight.fit(x, y, batch_size=BATCH_SIZE, epochs=2, shuffle=False, verbose=0)
    first = compiled()
    first.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0,
              callbacks=[Checkpointer(tmp_path / "checkpoints")])
    first.save(tmp_path / "model")
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["compile"]["optimizer"]["config"]["learning_rate"] == schedules.serialize(schedule)
    loaded = load_model(tmp_path / "model", custom_objects={"InverseStep": InverseStep})
    resumed = compiled()
    point = restore_latest(resumed, tmp_path / "checkpoints")
    for model in (loaded, resumed):
        assert model.optimizer is not None and model.optimizer.iterations == 6
        assert type(model.optimizer.schedule) is type(schedule)
        assert float(model.optimizer.learning_rate) == pytest.approx(float(schedule(6)))
    loaded.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    resumed.fit(x, y, batch_size=BATCH_SIZE, epochs=2, initial_epoch=point.epoch, resume=point, shuffle=False,
                verbose=0)
    for model in (loaded, resumed):
        for ours, theirs in zip(model.get_weights(), straight.get_weights()):
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["cosine", "custom"])
def test_keras_file_with_a_schedule_continues_as_in_keras(name: str, tmp_path: Path) -> None:
    custom = {"InverseStep": InverseStep}
    model = load_model(FIXTURES / f"schedule_{name}.keras", custom_objects=custom)
    assert model.optimizer is not None and model.optimizer.iterations == 6
    schedule = model.optimizer.schedule
    assert isinstance(schedule, schedules.CosineDecay if name == "cosine" else InverseStep)
    x, y = training_data()
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    with np.load(FIXTURES / f"schedule_{name}.npz") as archive:
        for ours, theirs in zip(model.get_weights(), weights(archive, "after_")):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # written back as Keras writes it: the schedule in the config, no learning_rate variable
    model.save(tmp_path / "again.keras")
    with zipfile.ZipFile(tmp_path / "again.keras") as archive:
        written = json.loads(archive.read("config.json"))["compile_config"]["optimizer"]["config"]["learning_rate"]
    with zipfile.ZipFile(FIXTURES / f"schedule_{name}.keras") as archive:
        original = json.loads(archive.read("config.json"))["compile_config"]["optimizer"]["config"]["learning_rate"]
    assert {key: written[key] for key in ("class_name", "config", "registered_name")} == \
        {key: original[key] for key in ("class_name", "config", "registered_name")}
    again = load_model(tmp_path / "again.keras", custom_objects=custom)
    assert again.optimizer is not None and again.optimizer.iterations == 12
    assert float(again.optimizer.learning_rate) == pytest.approx(float(schedule(12)), rel=1e-6)


def test_keras_file_with_an_unknown_custom_schedule_loads_uncompiled_naming_the_fix() -> None:
    with pytest.warns(UserWarning, match="unknown learning-rate schedule 'InverseStep'.*custom_objects"):
        model = load_model(FIXTURES / "schedule_custom.keras")
    assert model.optimizer is None


KERAS_PYTHON = Path(__file__).resolve().parents[2] / "benchmarks" / ".keras-env" / "bin" / "python"
# Load NAME.keras with real Keras, report iterations, the rate and the schedule's config, fit one
# epoch on data.npz's batches (not shuffled) and save the weights.
KERAS_CONTINUES = """
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
folder, batch_size = sys.argv[1], int(sys.argv[2])
data = np.load(os.path.join(folder, "data.npz"))
model = keras.models.load_model(os.path.join(folder, "model.keras"))
report = {"iterations": int(model.optimizer.iterations), "rate": float(model.optimizer.learning_rate),
          "schedule": keras.optimizers.schedules.serialize(model.optimizer._learning_rate)}
model.fit(data["x"], data["y"], epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
np.savez(os.path.join(folder, "keras.npz"), *model.get_weights())
json.dump(report, open(os.path.join(folder, "report.json"), "w"))
"""


@pytest.mark.keras
@pytest.mark.skipif(not KERAS_PYTHON.exists(), reason="no benchmarks/.keras-env (real Keras)")
def test_real_keras_continues_a_convscope_file_with_a_schedule(tmp_path: Path) -> None:
    import os
    import subprocess

    x, y = training_data()
    schedule = schedules.CosineDecayRestarts(0.02, 3, t_mul=1.5, m_mul=0.8)
    model = dense(keras)
    model.compile(optimizer=optimizers.SGD(learning_rate=schedule, momentum=0.9), loss="mse", precision="float32")
    model.set_weights(weights(RATES, "sgd_exponential_initial_"))
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "model.keras")
    np.savez(tmp_path / "data.npz", x=x, y=y)
    model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=False, verbose=0)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    done = subprocess.run([str(KERAS_PYTHON), "-c", KERAS_CONTINUES, str(tmp_path), str(BATCH_SIZE)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["iterations"] == 6 and report["rate"] == pytest.approx(float(schedule(6)), rel=1e-6)
    assert report["schedule"] == schedules.serialize(schedule)
    with np.load(tmp_path / "keras.npz") as archive:
        for ours, theirs in zip(model.get_weights(), [archive[f"arr_{index}"] for index in range(4)], strict=True):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
