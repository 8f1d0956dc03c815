"""Write what real Keras 3 computes when it trains a model with two inputs and two outputs, and
the seed CNN with sample and class weights (tests/keras/test_keras_multi_output.py reads them).

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_multi_output_fixtures.py
It writes, under tests/keras/fixtures/:
    multi_output.npz    the data (CASE/x..., y..., w...), each model's starting weights
                        (MODEL/w0, w1, ...) and its weights after each case's training steps
    multi_output.json   per case: the compile arguments, and what Keras returned for each call
                        (dicts of logs, evaluate's list, fit's history), with their key order
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parents[1])]
import keras_twins  # noqa: E402
from keras_multi_output_cases import (  # noqa: E402
    MULTI_OUTPUT_CASES,
    WEIGHT_CASES,
    multi_output_data,
    resolve,
    weight_data,
)

FIXTURES = Path(__file__).parent / "fixtures"


def logs(values: dict[str, Any]) -> dict[str, Any]:
    """Keras's logs as JSON: float values, keys in Keras's order."""
    return {"keys": list(values), "values": {key: float(np.asarray(value).ravel()[0]) if np.ndim(value) == 0
                                             else [float(v) for v in value] for key, value in values.items()}}


def run_calls(model: keras.Model, calls: list[tuple[str, dict[str, Any]]], data: dict[str, Any],
              arrays: dict[str, np.ndarray], case: str) -> list[dict[str, Any]]:
    """Run each (method, arguments) call; array arguments name entries of `data`."""
    results = []
    for step, (method, arguments) in enumerate(calls):
        resolved = {key: resolve(value, data) for key, value in arguments.items()}
        if method == "fit":
            history = model.fit(**resolved, verbose=0)
            results.append({"history": logs(history.history)})
        else:
            returned = getattr(model, method)(**resolved, **({"verbose": 0} if method == "evaluate" else {}))
            results.append(logs(returned) if isinstance(returned, dict) else
                           {"list": [float(value) for value in np.atleast_1d(returned)]})
        for index, weight in enumerate(model.get_weights()):
            arrays[f"{case}/after{step}/w{index}"] = weight
    return results


def main() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, Any] = {}
    for cases, build, make_data, prefix in ((MULTI_OUTPUT_CASES, keras_twins.two_heads, multi_output_data, "two_heads"),
                                            (WEIGHT_CASES, keras_twins.small_seed_cnn, weight_data, "seed_cnn")):
        data = make_data()
        for key, value in data.items():
            arrays[f"{prefix}/data/{key}"] = value
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        start = build(keras).get_weights()
        for index, weight in enumerate(start):
            arrays[f"{prefix}/w{index}"] = weight
        for case, (compile_arguments, calls) in cases.items():
            keras.backend.clear_session()
            model = build(keras)
            model.set_weights(start)
            model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), **compile_arguments)
            described[case] = run_calls(model, calls, data, arrays, case)
            print(case, [list(result.get("keys", result.get("history", {}).get("keys", ["list"])))
                         for result in described[case]])
    np.savez_compressed(FIXTURES / "multi_output.npz", **arrays)
    (FIXTURES / "multi_output.json").write_text(json.dumps(described, indent=1) + "\n")


if __name__ == "__main__":
    main()
