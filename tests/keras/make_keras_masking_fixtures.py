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
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import write_model_files  # noqa: E402
from keras_masking_cases import CASES, padded_inputs, sequence_task, tagger  # noqa: E402

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


if __name__ == "__main__":
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    cases(arrays, described)
    evaluations(arrays, described)
    np.savez_compressed(FIXTURES / "masking.npz", **arrays)
    (FIXTURES / "masking.json").write_text(json.dumps(described, indent=1, sort_keys=True) + "\n")
    saved_model()
