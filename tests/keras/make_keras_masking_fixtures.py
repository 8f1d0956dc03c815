"""Write what real Keras computes for masked models (Embedding(mask_zero=True), Masking) that
tests/keras/test_keras_masking.py compares convscope with.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_masking_fixtures.py
It writes, under tests/keras/fixtures/:
    masking.npz, masking.json  per case of keras_masking_cases.py: weights CASE/w0.. (Keras
                               layout), inputs CASE/pre and CASE/post (padded before and after)
                               and Keras's outputs CASE/pre_y, CASE/post_y; per case the
                               warnings Keras gave; for the tagger, the loss and metrics
                               `evaluate` reports in one batch, in batches of 4 and with
                               per-step sample weights
    masked_text.keras/.h5/.npz/_summary.txt
                               Embedding(mask_zero=True) -> LSTM -> Dense(sigmoid), saved by Keras
    masking_extras.npz, .json  per case of EXTRA_CASES (merges, a nested model, TimeDistributed):
                               weights, inputs CASE/pre_x0.., outputs and their masks; Softmax
                               called with masks; the errors Keras raises; the stateful metrics
                               of a masked model
    masking_nested.npz, .json  per case of NESTED_CASES (a mask from the outer model passing
                               into a model used as a layer): weights, inputs, outputs and their
                               masks as in masking_extras, and the mask warnings Keras gave
    masked_nested.keras/.h5/.npz/_summary.txt
                               Embedding(mask_zero=True) -> Sequential([LSTM, average, Dense]),
                               saved by Keras
`... make_keras_masking_fixtures.py extras` writes masking_extras.* alone; `... nested` writes
masking_nested.* and masked_nested.* alone.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import write_model_files  # noqa: E402
from keras_masking_cases import (  # noqa: E402
    CASES,
    EXTRA_CASES,
    NESTED_CASES,
    extra_inputs,
    masked_nested_text,
    padded_inputs,
    sequence_task,
    tagger,
)  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def randomized(model: keras.Model, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = [(0.5 * rng.normal(size=w.shape)).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    return weights


def cases(arrays: dict[str, np.ndarray], described: dict[str, dict]) -> None:
    for index, (case, (build, kind)) in enumerate(CASES.items()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = build(keras)
            weights = randomized(model, index)
            for padding, x in padded_inputs(kind, index).items():
                arrays[f"{case}/{padding}"] = x
                arrays[f"{case}/{padding}_y"] = np.asarray(model(x, training=False))
        for number, weight in enumerate(weights):
            arrays[f"{case}/w{number}"] = weight
        described[case] = {"weights": len(weights),
                           "warnings": sorted({str(item.message) for item in caught if "mask" in str(item.message)})}


def evaluations(arrays: dict[str, np.ndarray], described: dict[str, dict]) -> None:
    model = tagger(keras)
    weights = randomized(model, 99)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["sparse_categorical_accuracy"])
    x, y = sequence_task(5, 10)
    sample_weight = np.linspace(0.5, 2.0, 70).reshape(10, 7).astype("float32")  # one per step
    arrays["tagger/x"], arrays["tagger/y"], arrays["tagger/sample_weight"] = x, y, sample_weight
    for number, weight in enumerate(weights):
        arrays[f"tagger/w{number}"] = weight
    described["tagger"] = {
        "weights": len(weights),
        "one_batch": model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True),
        "batches_of_4": model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True),
        "sample_weight": model.evaluate(x, y, batch_size=10, sample_weight=sample_weight, verbose=0,
                                        return_dict=True)}


def saved_model() -> None:
    model = keras.Sequential([keras.Input((9,)), keras.layers.Embedding(15, 6, mask_zero=True),
                              keras.layers.LSTM(5), keras.layers.Dense(1, activation="sigmoid")], name="masked_text")
    randomized(model, 3)
    rng = np.random.default_rng(4)
    x = keras.utils.pad_sequences([rng.integers(1, 15, size=length).tolist() for length in (9, 3, 6, 1)],
                                  maxlen=9).astype("float32")
    write_model_files(FIXTURES, "masked_text", model, [x], [model.predict(x, verbose=0)])


def extra_cases(arrays: dict[str, np.ndarray], described: dict[str, dict],
                listed: dict[str, Any] = EXTRA_CASES, first_seed: int = 200) -> None:
    for index, (case, (build, kind)) in enumerate(listed.items()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = build(keras)
            weights = randomized(model, first_seed + index)
            for padding, inputs in extra_inputs(kind, index).items():
                for number, x in enumerate(inputs):
                    arrays[f"{case}/{padding}_x{number}"] = x
                y = model(inputs if len(inputs) > 1 else inputs[0], training=False)
                arrays[f"{case}/{padding}_y"] = np.asarray(y)
                mask = getattr(y, "_keras_mask", None)
                if mask is not None:
                    arrays[f"{case}/{padding}_mask"] = np.asarray(mask)
        for number, weight in enumerate(weights):
            arrays[f"{case}/w{number}"] = weight
        described[case] = {"weights": len(weights), "inputs": len(inputs)}
        if listed is not EXTRA_CASES:
            described[case]["warnings"] = sorted({str(item.message) for item in caught if "mask" in str(item.message)})


def nested() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    extra_cases(arrays, described, NESTED_CASES, 400)
    np.savez_compressed(FIXTURES / "masking_nested.npz", **arrays)
    (FIXTURES / "masking_nested.json").write_text(json.dumps(described, indent=1, sort_keys=True) + "\n")
    model = masked_nested_text(keras)
    randomized(model, 5)
    x = padded_inputs("ids", 6)
    inputs = [np.concatenate([x["pre"], x["post"]])]
    write_model_files(FIXTURES, "masked_nested", model, inputs, [model.predict(inputs[0], verbose=0)])


SOFTMAX_CALLS = {  # name -> (input shape, mask, axis)
    "rows": ((5, 7), np.arange(35).reshape(5, 7) % 3 != 0, -1),
    "fully_masked_row": ((2, 4), np.array([[True, False, True, True], [False] * 4]), -1),
    "broadcast_keys": ((2, 3, 5), np.array([[[1, 1, 0, 1, 0]], [[0, 1, 1, 1, 1]]], bool), -1),
    "axis_1": ((2, 3, 4), np.array([[1, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 0]], bool), 1),
    "float_mask": ((2, 4), np.array([[0.2, 0.7, 1.0, 0.5], [1.0, 0.0, 0.9, 0.6]], np.float32), -1),
}


def softmax_calls(arrays: dict[str, np.ndarray], described: dict[str, dict]) -> None:
    rng = np.random.default_rng(7)
    for name, (shape, mask, axis) in SOFTMAX_CALLS.items():
        x = rng.normal(size=shape).astype("float32") * 3
        arrays[f"softmax/{name}/x"], arrays[f"softmax/{name}/mask"] = x, mask
        arrays[f"softmax/{name}/y"] = np.asarray(keras.layers.Softmax(axis=axis)(x, mask=mask))
    refused = {}
    model = keras.Sequential([keras.Input((7,)), keras.layers.Embedding(12, 4, mask_zero=True),
                              keras.layers.Dense(3), keras.layers.Softmax()])
    try:  # a (batch, steps) mask on (batch, steps, classes) logits
        model(np.array([[0, 0, 1, 2, 3, 4, 5], [1, 2, 3, 0, 0, 0, 0]], np.float32))
    except ValueError as error:
        refused["sequence_softmax"] = str(error)
    try:
        keras.layers.Softmax()(np.ones((2, 4), np.float32), mask=np.ones((2, 3), bool))
    except ValueError as error:
        refused["softmax_mask_shape"] = str(error)
    described["softmax"] = {"calls": {name: axis for name, (_, _, axis) in SOFTMAX_CALLS.items()},
                            "refused": refused}


def stateful_metrics(arrays: dict[str, np.ndarray], described: dict[str, dict]) -> None:
    """A masked per-step sigmoid model: Keras weighs Mean-based metrics by the mask, not
    Precision, Recall or AUC."""
    model = keras.Sequential([keras.Input((7,)), keras.layers.Embedding(12, 4, mask_zero=True),
                              keras.layers.LSTM(4, return_sequences=True),
                              keras.layers.TimeDistributed(keras.layers.Dense(1, activation="sigmoid"))])
    weights = randomized(model, 302)
    model.compile(loss="binary_crossentropy", metrics=["accuracy", keras.metrics.Precision(name="precision"),
                                                       keras.metrics.Recall(name="recall"),
                                                       keras.metrics.AUC(name="auc")])
    x, y = sequence_task(8, 10)
    y = y[..., None]
    arrays["metrics/x"], arrays["metrics/y"] = x, y
    for number, weight in enumerate(weights):
        arrays[f"metrics/w{number}"] = weight
    described["metrics"] = {"weights": len(weights),
                            "logs": model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)}


def extras() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    extra_cases(arrays, described)
    softmax_calls(arrays, described)
    stateful_metrics(arrays, described)
    np.savez_compressed(FIXTURES / "masking_extras.npz", **arrays)
    (FIXTURES / "masking_extras.json").write_text(json.dumps(described, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__" and sys.argv[1:] == ["extras"]:
    extras()
elif __name__ == "__main__" and sys.argv[1:] == ["nested"]:
    nested()
elif __name__ == "__main__":
    extras()
    nested()
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    cases(arrays, described)
    evaluations(arrays, described)
    np.savez_compressed(FIXTURES / "masking.npz", **arrays)
    (FIXTURES / "masking.json").write_text(json.dumps(described, indent=1, sort_keys=True) + "\n")
    saved_model()
