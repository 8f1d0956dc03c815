"""Training with several inputs and outputs, sample weights and class weights, against real
Keras 3.15.1: each case of keras_multi_output_cases.py runs here on the same model with the same
starting weights, and every log (names and values), evaluate's list, fit's history and the
weights after each call match what make_keras_multi_output_fixtures.py recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from keras_multi_output_cases import MULTI_OUTPUT_CASES, WEIGHT_CASES, resolve
from keras_twins import small_seed_cnn, two_heads

from convscope import keras, optimizers

FIXTURES = Path(__file__).parent / "fixtures"
RESULTS = json.loads((FIXTURES / "multi_output.json").read_text())
ARRAYS = np.load(FIXTURES / "multi_output.npz")
TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def fixture_arrays(prefix: str) -> tuple[dict[str, np.ndarray], list[np.ndarray]]:
    data = {key.split("/")[-1]: ARRAYS[key] for key in ARRAYS.files if key.startswith(f"{prefix}/data/")}
    count = sum(1 for key in ARRAYS.files if key.startswith(f"{prefix}/w"))
    return data, [ARRAYS[f"{prefix}/w{index}"] for index in range(count)]


def assert_logs(mine: dict[str, Any], theirs: dict[str, Any], where: str) -> None:
    assert sorted(mine) == sorted(theirs["keys"]), where
    for key in theirs["keys"]:
        np.testing.assert_allclose(mine[key], theirs["values"][key], **TOLERANCE, err_msg=f"{where}: {key}")


def replay(case: str, build: Any, prefix: str, cases: dict[str, Any]) -> None:
    """Run the case on `build(keras)` (a tests/keras_twins.py builder) from the fixture's starting weights."""
    data, start = fixture_arrays(prefix)
    compile_arguments, calls = cases[case]
    model = build(keras)
    model.set_weights(start)
    model.compile(optimizer=optimizers.SGD(learning_rate=0.05), precision="float32", device="cpu",
                  **compile_arguments)
    for step, ((method, arguments), expected) in enumerate(zip(calls, RESULTS[case])):
        where = f"{case} call {step} ({method})"
        resolved = resolve(arguments, data)
        if method == "fit":
            assert_logs(model.fit(**resolved, verbose=0).history, expected["history"], where)
        else:
            returned = getattr(model, method)(**resolved, **({"verbose": 0} if method == "evaluate" else {}))
            if "list" in expected:
                np.testing.assert_allclose(np.atleast_1d(returned), expected["list"], **TOLERANCE, err_msg=where)
            else:
                assert_logs(returned, expected, where)
        count = sum(1 for key in ARRAYS.files if key.startswith(f"{case}/after{step}/"))
        for index, weight in enumerate(model.get_weights()[:count]):
            np.testing.assert_allclose(weight, ARRAYS[f"{case}/after{step}/w{index}"], **TOLERANCE,
                                       err_msg=f"{where}: weight {index}")


@pytest.mark.parametrize("case", list(MULTI_OUTPUT_CASES))
def test_two_inputs_and_two_outputs_train_as_keras_does(case: str) -> None:
    """Lists and dicts for x, y, loss, loss_weights, metrics and sample weights; the total loss,
    each output's loss and metric, their names and evaluate's order are Keras's."""
    replay(case, two_heads, "two_heads", MULTI_OUTPUT_CASES)


@pytest.mark.parametrize("case", list(WEIGHT_CASES))
def test_the_seed_cnn_weighs_samples_as_keras_does(case: str) -> None:
    """sum(w * loss) / N for the loss, weighted_metrics weighted and metrics not, class weights
    from integer and one-hot labels, validation with and without weights."""
    replay(case, small_seed_cnn, "seed_cnn", WEIGHT_CASES)


def test_the_fixtures_hold_keras_names() -> None:
    """What the fixtures recorded: per-output logs named "<output>_<name>", weighted metrics
    whose name is taken renamed "weighted_<name>", no per-output loss with one loss in use."""
    assert RESULTS["lists"][0]["keys"] == ["class_out_accuracy", "class_out_loss", "loss", "reg_out_loss",
                                           "reg_out_mae", "reg_out_mse"]
    assert "class_out_weighted_accuracy" in RESULTS["dicts_weighted"][0]["keys"]
    assert RESULTS["one_output_without_loss"][0]["keys"] == ["class_out_accuracy", "loss"]
    assert RESULTS["sample_weight"][3]["history"]["keys"] == [
        "accuracy", "loss", "val_accuracy", "val_loss", "val_weighted_accuracy", "weighted_accuracy"]
