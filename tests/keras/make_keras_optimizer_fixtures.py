"""Write the Keras files with optimizer state that test_keras_optimizer_state.py reads, with
real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_optimizer_fixtures.py [case ...]
(case names write only those cases; "rules" only the rule files, a rule file's name only it).
For each case of keras_optimizer_cases.py the model is compiled, trained one epoch on the case's
data (batches of 8, not shuffled) and saved as opt_<case>.keras and opt_<case>.h5 (no .h5 for
Adafactor, see `keras_writes_h5`); then it trains
one more epoch. opt_<case>.npz holds the weights before the first epoch ("initial_<i>") and after
the second ("after_<i>"), in get_weights order.

optimizer_rules.npz holds, for each case of RULE_CASES (optimizer_rules_more.npz of MORE_RULE_CASES), the weights after RULE_STEPS updates
(apply_gradients on float32 variables): "<case>_<i>" for the i-th weight.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
import keras_twins  # noqa: E402
from keras_optimizer_cases import (  # noqa: E402
    BATCH_SIZE,
    OPTIMIZER_STATE_CASES,
    RULE_CHANGE,
    RULE_FIXTURES,
    build_objects,
    case_data,
    keras_writes_h5,
    rule_problem,
)

FIXTURES = Path(__file__).parent / "fixtures"


def dense() -> keras.Model:
    """Dense layers around a BatchNormalization (whose moving statistics the optimizer skips),
    ending in logits."""
    return keras.Sequential([
        layers.Input((12,)),
        layers.Dense(16, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(4),
    ], name="dense_logits")


def compiled(case: str) -> keras.Model:
    model_name, (optimizer_class, optimizer_arguments), arguments = OPTIMIZER_STATE_CASES[case]
    model = {"seed_cnn": lambda: keras_twins.small_seed_cnn(keras), "dense": dense,
             "two_heads": lambda: keras_twins.two_heads(keras)}[model_name]()
    settings: dict[str, Any] = dict(arguments)
    settings["loss"] = build_objects(settings["loss"], lambda name, config: getattr(keras.losses, name)(**config))
    for key in ("metrics", "weighted_metrics"):
        settings[key] = build_objects(settings.get(key), lambda name, config: getattr(keras.metrics, name)(**config))
    model.compile(optimizer=getattr(keras.optimizers, optimizer_class)(**optimizer_arguments), **settings)
    return model


def rule_weights(cases: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, np.ndarray]:
    """Each rule case's weights after its steps, as optimizer_rules*.npz store them."""
    arrays = {}
    for case, (optimizer_class, arguments) in cases.items():
        settings = dict(arguments)
        rate_after = settings.pop("learning_rate_after", None)
        if isinstance(settings.get("learning_rate"), dict):
            settings["learning_rate"] = keras.optimizers.schedules.ExponentialDecay(**settings["learning_rate"])
        start, grads = rule_problem(case)
        variables = [keras.Variable(value, dtype="float32") for value in start]
        optimizer = getattr(keras.optimizers, optimizer_class)(**settings)
        for step, step_grads in enumerate(grads):
            if rate_after is not None and step == RULE_CHANGE:
                optimizer.learning_rate.assign(rate_after)
            optimizer.apply_gradients(zip([keras.ops.convert_to_tensor(grad) for grad in step_grads], variables))
        arrays.update({f"{case}_{index}": np.asarray(variable.numpy()) for index, variable in enumerate(variables)})
    return arrays


def main(chosen: list[str]) -> None:
    FIXTURES.mkdir(exist_ok=True)
    for file, cases in RULE_FIXTURES.items():
        if not chosen or "rules" in chosen or file in chosen:
            np.savez_compressed(FIXTURES / file, **rule_weights(cases))
    for case, (model_name, _, _) in OPTIMIZER_STATE_CASES.items():
        if chosen and case not in chosen:
            continue
        keras.utils.set_random_seed(0)
        model = compiled(case)
        x, y = case_data(model_name)
        initial = model.get_weights()
        model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, shuffle=False, verbose=0)
        model.save(FIXTURES / f"opt_{case}.keras")
        if keras_writes_h5(case):
            model.save(FIXTURES / f"opt_{case}.h5")
        model.fit(x, y, epochs=1, batch_size=BATCH_SIZE, shuffle=False, verbose=0)
        arrays = {f"initial_{index}": array for index, array in enumerate(initial)}
        arrays.update({f"after_{index}": array for index, array in enumerate(model.get_weights())})
        np.savez_compressed(FIXTURES / f"opt_{case}.npz", **arrays)
        print(case, len(model.optimizer.variables), "optimizer variables")


if __name__ == "__main__":
    main(sys.argv[1:])
