"""A model's training API as a Keras program sees it, against real Keras 3.15 (TensorFlow
backend): `history.params` and `callback.params` are exactly {"verbose", "epochs", "steps"},
each callback hook sees the model, this fit's History and the optimizer's steps as in Keras,
`metrics_names`/`metrics`/`get_metrics_result()` list what Keras lists, and evaluate and the
*_on_batch calls return their dict sorted by name and their list in Keras's order. The program
is tests/keras/keras_model_api_cases.py; fixtures/model_api.json holds what Keras saw
(make_keras_model_api_fixtures.py)."""

from __future__ import annotations

import json
from typing import Any

import keras_model_api_cases
import numpy as np
import pytest
from keras_fixture_files import FIXTURES

from convscope import keras

KERAS = json.loads((FIXTURES / "model_api.json").read_text())


@pytest.fixture(scope="module")
def seen() -> dict[str, Any]:
    return keras_model_api_cases.observe(keras)


def test_the_fixture_comes_from_keras_3() -> None:
    assert KERAS["keras_version"].startswith("3.") and KERAS["backend"] == "tensorflow"


@pytest.mark.parametrize("name", [name for name in KERAS["seen"] if name != "hooks"])
def test_observation_matches_keras(seen: dict[str, Any], name: str) -> None:
    assert seen[name] == KERAS["seen"][name]


@pytest.mark.parametrize("hook", keras_model_api_cases.HOOKS)
def test_each_callback_hook_sees_what_keras_shows(seen: dict[str, Any], hook: str) -> None:
    assert seen["hooks"].get(hook) == KERAS["seen"]["hooks"][hook]


def small_model(metrics: Any = ("accuracy",)) -> Any:
    model = keras_model_api_cases.dense(keras)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=list(metrics))
    return model


def test_history_params_hold_only_keras_keys_and_the_engine_keeps_its_own_apart() -> None:
    x, y = keras_model_api_cases.data()
    states = []

    class Spy(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            states.append(self.fit_state)

    history = small_model().fit(x, y, batch_size=32, epochs=2, validation_split=0.2, verbose=0, callbacks=[Spy()])
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 3}
    assert (states[0].samples, states[0].batch_size, states[0].position.global_step) == (80, 32, 6)


def test_get_metrics_result_holds_the_last_call_and_metrics_hold_its_values() -> None:
    x, y = keras_model_api_cases.data()
    model = small_model()
    logs = model.test_on_batch(x[:10], y[:10], return_dict=True)
    assert model.get_metrics_result() == pytest.approx({"loss": logs["loss"], "accuracy": logs["accuracy"]})
    loss_tracker, compile_metrics = model.metrics
    assert float(loss_tracker.result()) == pytest.approx(logs["loss"])
    assert compile_metrics.result() == pytest.approx({"accuracy": logs["accuracy"]})
    assert [metric.name for metric in compile_metrics.metrics] == ["accuracy"]
    evaluated = model.evaluate(x, y, verbose=0, return_dict=True)
    assert model.get_metrics_result() == pytest.approx({"loss": evaluated["loss"], "accuracy": evaluated["accuracy"]})


def test_get_metrics_result_before_a_step_without_compile_metrics_is_a_zero_loss() -> None:
    model = keras_model_api_cases.dense(keras)
    assert model.get_metrics_result() == {} and model.metrics_names == []
    model.compile("adam", "mse")
    assert model.get_metrics_result() == {"loss": 0.0}


def test_the_test_hooks_run_for_every_validation_batch_with_running_logs() -> None:
    x, y = keras_model_api_cases.data()
    batches: list[tuple[str, int, Any]] = []

    class Spy(keras.callbacks.Callback):
        def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
            batches.append(("begin", batch, dict(logs)))

        def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
            batches.append(("end", batch, sorted(logs)))

    small_model().fit(x, y, batch_size=50, epochs=1, validation_data=(x[:30], y[:30]), validation_batch_size=10,
                      verbose=0, callbacks=[Spy()])
    assert batches == [(kind, batch, {} if kind == "begin" else ["accuracy", "loss"])
                       for batch in range(3) for kind in ("begin", "end")]


def test_on_train_end_gets_the_last_epochs_logs() -> None:
    x, y = keras_model_api_cases.data()
    ends = []
    history = small_model().fit(x, y, epochs=2, verbose=0, validation_split=0.2,
                                callbacks=[keras.callbacks.LambdaCallback(on_train_end=lambda logs: ends.append(logs))])
    assert ends[0] == pytest.approx({key: values[-1] for key, values in history.history.items()})
    assert np.isfinite(ends[0]["val_loss"])
