"""What a Keras program sees of a model's training API besides the numbers: `history.params`,
`callback.params` and the other state each callback hook sees, `metrics_names`, `metrics`,
`get_metrics_result()`, the keys and list order of evaluate and the *_on_batch calls, and
`optimizer.iterations`.

`observe(keras)` runs the same program on real Keras (make_keras_model_api_fixtures.py writes
what it saw to fixtures/model_api.json) and on convscope.keras (test_keras_model_api.py
compares). Each observation is named; values are JSON (names, orders, counts, flags), never
trained numbers, which differ between the two. NumPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

HOOKS = ("on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_train_batch_end", "on_test_begin",
         "on_test_batch_begin", "on_test_batch_end", "on_test_end", "on_epoch_end", "on_train_end")


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((100, 4), dtype=np.float32), rng.integers(0, 3, 100)


def dense(keras: Any) -> Any:
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])


def two_outputs(keras: Any) -> Any:
    inputs = keras.Input((4,), name="inp")
    return keras.Model(inputs, [keras.layers.Dense(3, activation="softmax", name="cls")(inputs),
                                keras.layers.Dense(1, name="reg")(inputs)])


def iterations(model: Any) -> int:
    return int(np.asarray(model.optimizer.iterations))


def metric_kinds(model: Any) -> list[str]:
    return [f"{type(metric).__name__}:{metric.name}" for metric in model.metrics]


def list_order(returned: Any, logs: dict[str, Any]) -> list[str]:
    """The names whose values the list form holds, in its order ("?" where values coincide;
    the metrics are chosen so that they do not)."""
    order = []
    for got in (float(value) for value in returned):
        names = [name for name, value in logs.items() if abs(float(value) - got) < 1e-6]
        order.append(names[0] if len(names) == 1 else "?")
    return order


def recorder(keras: Any, model: Any) -> Any:
    """A callback that notes, at the first call of each hook, its params, log keys, whether
    `self.model` is the model and `model.history` this fit's, and the optimizer's step count."""

    class Recorder(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seen: dict[str, Any] = {}
            self.old_history = getattr(model, "history", None)
            self.batch_end_calls = 0

        def note(self, hook: str, logs: Any) -> None:
            if hook not in self.seen:  # log keys sorted: their order is not compared here
                self.seen[hook] = {
                    "params": dict(self.params), "log_keys": None if logs is None else sorted(logs),
                    "model_is_the_model": self.model is model,
                    "history_is_this_fits": getattr(model, "history", None) not in (None, self.old_history),
                    "stop_training": model.stop_training, "iterations": iterations(model)}

        def on_batch_end(self, batch: int, logs: Any = None) -> None:  # Keras 2's name for on_train_batch_end
            self.batch_end_calls += 1

    for hook in HOOKS:
        indexed = "epoch" in hook or "batch" in hook

        def method(self: Any, *args: Any, _hook: str = hook, _indexed: bool = indexed, **kwargs: Any) -> None:
            logs = kwargs.get("logs", args[1] if _indexed and len(args) > 1 else args[0] if args and not _indexed
                              else None)
            self.note(_hook, logs)
            if _hook == "on_train_batch_end":
                keras.callbacks.Callback.on_train_batch_end(self, *args, **kwargs)

        setattr(Recorder, hook, method)
    return Recorder()


def fit_observations(keras: Any, seen: dict[str, Any]) -> None:
    x, y = data()
    model = dense(keras)
    seen["metrics_names uncompiled"] = attempt(lambda: model.metrics_names)
    seen["metrics uncompiled"] = attempt(lambda: metric_kinds(model))
    seen["loss uncompiled"] = attempt(lambda: model.loss)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    seen["loss compiled"] = attempt(lambda: model.loss)
    seen["metrics_names compiled"] = attempt(lambda: model.metrics_names)
    seen["metrics compiled"] = attempt(lambda: metric_kinds(model))
    callback = recorder(keras, model)
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_split=0.2, callbacks=[callback])
    seen["hooks"] = callback.seen
    seen["on_batch_end calls"] = callback.batch_end_calls
    seen["params validation_split"] = history.params
    seen["history.epoch"] = history.epoch
    seen["model.history is the returned History"] = model.history is history
    seen["metrics_names after fit"] = attempt(lambda: model.metrics_names)
    seen["get_metrics_result after fit holds the validation"] = attempt(lambda: {
        name: bool(abs(float(value) - history.history[f"val_{name}"][-1]) < 1e-6)
        for name, value in model.get_metrics_result().items()})
    seen["iterations after fit"] = iterations(model)
    seen["stop_training after fit"] = model.stop_training
    given = keras.callbacks.History()
    seen["fit returns a History given among the callbacks"] = model.fit(
        x, y, epochs=1, verbose=0, callbacks=[given]) is given and model.history is given


def params_observations(keras: Any, seen: dict[str, Any]) -> None:
    x, y = data()
    model = dense(keras)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    runs: dict[str, Callable[[], Any]] = {
        "arrays": lambda: model.fit(x, y, batch_size=32, epochs=3, verbose=0),
        "verbose 2": lambda: model.fit(x, y, batch_size=50, epochs=1, verbose=2),
        "verbose auto": lambda: model.fit(x, y, epochs=1),
        "initial_epoch": lambda: model.fit(x, y, batch_size=32, epochs=4, initial_epoch=2, verbose=0),
        "validation_data": lambda: model.fit(x, y, batch_size=30, epochs=1, verbose=0,
                                             validation_data=(x[:10], y[:10])),
        "generator": lambda: model.fit(((x[:10], y[:10]) for _ in range(10)), steps_per_epoch=5, epochs=2,
                                       verbose=0),
    }

    class Batches(keras.utils.PyDataset):
        def __len__(self) -> int:
            return 7

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            return x[index * 10:(index + 1) * 10], y[index * 10:(index + 1) * 10]

    runs["PyDataset"] = lambda: model.fit(Batches(), epochs=2, verbose=0)
    for name, run in runs.items():
        seen[f"params {name}"] = run().params


def results_observations(keras: Any, seen: dict[str, Any]) -> None:
    x, y = data()
    one_hot = np.eye(3, dtype=np.float32)[y]
    model = dense(keras)
    model.compile("adam", "categorical_crossentropy",
                  metrics=["mae", "accuracy", keras.metrics.MeanSquaredError(name="squared")])
    seen["several metrics: get_metrics_result before any step"] = error_of(lambda: model.get_metrics_result())
    for call, run in {"train_on_batch": lambda **kwargs: model.train_on_batch(x[:8], one_hot[:8], **kwargs),
                      "test_on_batch": lambda **kwargs: model.test_on_batch(x[:8], one_hot[:8], **kwargs),
                      "evaluate": lambda **kwargs: model.evaluate(x, one_hot, verbose=0, **kwargs)}.items():
        logs = run(return_dict=True)
        seen[f"several metrics: {call} dict keys"] = list(logs)
        if call != "train_on_batch":  # a second train_on_batch would log another step's values
            seen[f"several metrics: {call} list order"] = list_order(run(), logs)
        seen[f"several metrics: get_metrics_result keys after {call}"] = attempt(lambda: list(model.get_metrics_result()))
    seen["several metrics: metrics_names"] = attempt(lambda: model.metrics_names)
    seen["evaluate with callbacks"] = attempt(lambda: evaluate_hooks(keras, model, x, one_hot))
    attempt(lambda: model.reset_metrics())
    seen["get_metrics_result after reset_metrics"] = attempt(lambda: {
        name: float(value) for name, value in model.get_metrics_result().items()})
    seen["several metrics: iterations after train_on_batch"] = iterations(model)
    seen["predict with callbacks"] = attempt(lambda: predict_hooks(keras, model, x))
    predicted = model.predict_on_batch(x[:5])
    seen["predict_on_batch"] = [type(predicted).__name__, str(predicted.dtype), list(predicted.shape)]

    plain = dense(keras)
    plain.compile("adam", "mse")
    seen["no metrics: metrics_names compiled"] = attempt(lambda: plain.metrics_names)
    seen["no metrics: train_on_batch returns"] = type(plain.train_on_batch(x[:8], np.zeros((8, 3)))).__name__
    seen["no metrics: metrics after a step"] = attempt(lambda: metric_kinds(plain))


def multi_output_observations(keras: Any, seen: dict[str, Any]) -> None:
    x, y = data()
    model = two_outputs(keras)
    model.compile("adam", ["sparse_categorical_crossentropy", "mse"], metrics=[["accuracy"], ["mae"]])
    targets = [y[:8], np.linspace(-1, 1, 8, dtype=np.float32).reshape(8, 1)]
    seen["two outputs: metrics_names compiled"] = attempt(lambda: model.metrics_names)
    seen["two outputs: train_on_batch dict keys"] = list(model.train_on_batch(x[:8], targets, return_dict=True))
    seen["two outputs: metrics_names after a step"] = attempt(lambda: model.metrics_names)
    seen["two outputs: metrics after a step"] = attempt(lambda: metric_kinds(model))
    logs = model.test_on_batch(x[:8], targets, return_dict=True)
    seen["two outputs: test_on_batch dict keys"] = list(logs)
    seen["two outputs: test_on_batch list order"] = list_order(model.test_on_batch(x[:8], targets), logs)
    seen["two outputs: get_metrics_result keys"] = attempt(lambda: list(model.get_metrics_result()))
    seen["two outputs: predict with callbacks"] = attempt(lambda: predict_hooks(keras, model, x))
    predicted = model.predict_on_batch(x[:5])
    seen["two outputs: predict_on_batch"] = [type(predicted).__name__, [list(part.shape) for part in predicted]]


def evaluate_hooks(keras: Any, model: Any, x: np.ndarray, y: np.ndarray) -> list[Any]:
    """The hooks `evaluate(callbacks=...)` calls, in order, with their params and log keys."""
    calls: list[Any] = []

    class Recorder(keras.callbacks.Callback):
        def on_test_begin(self, logs: Any = None) -> None:
            calls.append(["on_test_begin", dict(self.params), sorted(logs or {})])

        def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
            calls.append(["on_test_batch_begin", batch])

        def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
            calls.append(["on_test_batch_end", batch, sorted(logs or {})])

        def on_test_end(self, logs: Any = None) -> None:
            calls.append(["on_test_end", list(logs or {})])

    model.evaluate(x, y, batch_size=40, verbose=0, callbacks=[Recorder()])
    return calls


def predict_hooks(keras: Any, model: Any, x: np.ndarray) -> list[Any]:
    """The hooks `predict(callbacks=...)` calls, in order, with their params and the shapes of
    the outputs each batch's end gets."""
    calls: list[Any] = []

    def shapes(outputs: Any) -> Any:
        return [list(np.shape(part)) for part in outputs] if isinstance(outputs, (list, tuple)) \
            else list(np.shape(outputs))

    class Recorder(keras.callbacks.Callback):
        def on_predict_begin(self, logs: Any = None) -> None:
            calls.append(["on_predict_begin", dict(self.params), sorted(logs or {})])

        def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
            calls.append(["on_predict_batch_begin", batch])

        def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
            calls.append(["on_predict_batch_end", batch, sorted(logs), shapes(logs["outputs"])])

        def on_predict_end(self, logs: Any = None) -> None:
            calls.append(["on_predict_end", sorted(logs or {})])

    model.predict(x[:50], batch_size=20, verbose=0, callbacks=[Recorder()])
    return calls


def error_of(call: Callable[[], Any]) -> str | None:
    """The type of error `call` raises, or None."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the type is what is observed
        return type(error).__name__
    return None


def attempt(call: Callable[[], Any]) -> Any:
    """What `call` returns, or the type of the error it raises (so one missing attribute shows
    as one differing observation, not as a failed program)."""
    try:
        return call()
    except Exception as error:  # noqa: BLE001 - the type is what is observed
        return f"raises {type(error).__name__}"


def observe(keras: Any) -> dict[str, Any]:
    keras.utils.set_random_seed(0)
    seen: dict[str, Any] = {}
    for observations in (fit_observations, params_observations, results_observations, multi_output_observations):
        observations(keras, seen)
    return seen
