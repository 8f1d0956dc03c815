"""Training cases compared with real Keras 3: a model with two inputs and two outputs, and the
seed CNN with sample and class weights. Read by the fixture writer (under real Keras,
make_keras_multi_output_fixtures.py) and by test_keras_multi_output.py (under convscope). NumPy only.

A case is (compile arguments, calls): each call is (method, arguments), run in order on one
model; a string "@name" in the arguments names an array of the data.

Where per-output losses are logged, batches are of equal size: Keras 3.15 on TensorFlow averages
"<output>_loss" over batches without weighting them by their size (its tracker's sample weight
is the static batch size, unknown in a traced step), so a short last batch would count as much
as a full one. convscope weights every batch by its size, as Keras does for "loss" itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Call = tuple[str, dict[str, Any]]

X_LIST = ["@image", "@extra"]
X_DICT = {"image": "@image", "extra": "@extra"}
Y_LIST = ["@y_class", "@y_reg"]
Y_DICT = {"class_out": "@y_class", "reg_out": "@y_reg"}

MULTI_OUTPUT_CASES: dict[str, tuple[dict[str, Any], list[Call]]] = {
    "lists": (
        {"loss": ["sparse_categorical_crossentropy", "mse"], "loss_weights": [1.0, 0.5],
         "metrics": [["accuracy"], ["mae", "mse"]]},
        [("train_on_batch", {"x": X_LIST, "y": Y_LIST, "return_dict": True}),
         ("test_on_batch", {"x": X_LIST, "y": Y_LIST, "return_dict": True}),
         ("evaluate", {"x": X_DICT, "y": Y_DICT, "batch_size": 4, "return_dict": True}),
         ("evaluate", {"x": X_LIST, "y": Y_LIST, "batch_size": 6}),
         ("fit", {"x": X_LIST, "y": Y_LIST, "batch_size": 4, "epochs": 2, "shuffle": False,
                  "validation_data": (X_LIST, Y_LIST)})]),
    "dicts_weighted": (
        {"loss": {"class_out": "sparse_categorical_crossentropy", "reg_out": "mse"},
         "loss_weights": {"class_out": 2.0, "reg_out": 0.25}, "metrics": {"class_out": ["accuracy"]},
         "weighted_metrics": {"class_out": ["accuracy"], "reg_out": ["mae"]}},
        [("train_on_batch", {"x": X_DICT, "y": Y_LIST, "sample_weight": ["@w", "@w_reg"], "return_dict": True}),
         ("test_on_batch", {"x": X_LIST, "y": Y_LIST, "sample_weight": "@w", "return_dict": True}),
         ("evaluate", {"x": X_LIST, "y": Y_LIST, "sample_weight": "@w", "batch_size": 4}),
         # Keras 3.15 fails on sample weights with y as a dict (KeyError in CompileLoss): y is a list here.
         ("fit", {"x": X_DICT, "y": Y_LIST, "sample_weight": "@w", "batch_size": 3, "epochs": 1, "shuffle": False,
                  "validation_split": 0.25})]),
    "one_loss": (
        {"loss": "mse", "metrics": ["mae", "mse"]},  # Keras 3: a list as long as the outputs is one per output
        [("train_on_batch", {"x": X_LIST, "y": ["@y_one_hot", "@y_reg"], "return_dict": True}),
         ("evaluate", {"x": X_LIST, "y": ["@y_one_hot", "@y_reg"], "batch_size": 12})]),
    "one_output_without_loss": (
        {"loss": ["sparse_categorical_crossentropy", None], "metrics": [["accuracy"], None]},
        [("train_on_batch", {"x": X_LIST, "y": Y_LIST, "return_dict": True}),
         ("evaluate", {"x": X_LIST, "y": Y_LIST, "batch_size": 5})]),
}

CLASS_WEIGHT = {0: 2.0, 3: 0.5, 7: 3.0}

WEIGHT_CASES: dict[str, tuple[dict[str, Any], list[Call]]] = {
    "sample_weight": (
        {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"], "weighted_metrics": ["accuracy"]},
        [("test_on_batch", {"x": "@x", "y": "@y", "sample_weight": "@w", "return_dict": True}),
         ("evaluate", {"x": "@x", "y": "@y", "sample_weight": "@w", "batch_size": 3}),
         ("train_on_batch", {"x": "@x", "y": "@y", "sample_weight": "@w", "return_dict": True}),
         ("fit", {"x": "@x", "y": "@y", "sample_weight": "@w", "batch_size": 4, "epochs": 1, "shuffle": False,
                  "validation_data": ("@x", "@y", "@w"), "validation_batch_size": 3})]),
    "class_weight": (
        {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"], "weighted_metrics": ["accuracy"]},
        [("train_on_batch", {"x": "@x", "y": "@y", "class_weight": CLASS_WEIGHT, "return_dict": True}),
         ("fit", {"x": "@x", "y": "@y", "class_weight": CLASS_WEIGHT, "batch_size": 4, "epochs": 1,
                  "shuffle": False, "validation_split": 0.25})]),
    "class_weight_one_hot": (
        {"loss": "categorical_crossentropy", "metrics": ["accuracy"]},
        [("train_on_batch", {"x": "@x", "y": "@y_one_hot", "class_weight": CLASS_WEIGHT, "return_dict": True}),
         ("test_on_batch", {"x": "@x", "y": "@y_one_hot", "sample_weight": "@w"})]),
}


def multi_output_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    y_class = rng.integers(0, 3, 12)
    return {"image": rng.normal(size=(12, 8, 8, 1)).astype("float32"),
            "extra": rng.normal(size=(12, 3)).astype("float32"),
            "y_class": y_class, "y_one_hot": np.eye(3, dtype="float32")[y_class],
            "y_reg": rng.normal(size=(12, 1)).astype("float32"),
            "w": rng.uniform(0.2, 2.0, 12).astype("float32"), "w_reg": rng.uniform(0.0, 1.0, 12).astype("float32")}


def weight_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12)
    y = rng.integers(0, 10, 16)
    return {"x": rng.random((16, 28, 28, 1)).astype("float32"), "y": y,
            "y_one_hot": np.eye(10, dtype="float32")[y], "w": rng.uniform(0.1, 2.0, 16).astype("float32")}


def resolve(value: Any, data: dict[str, np.ndarray]) -> Any:
    """`value` with each string "@name" replaced by data["name"], inside lists, tuples and dicts too."""
    if isinstance(value, str) and value.startswith("@"):
        return data[value[1:]]
    if isinstance(value, list):
        return [resolve(item, data) for item in value]
    if isinstance(value, tuple):
        return tuple(resolve(item, data) for item in value)
    if isinstance(value, dict):
        return {key: resolve(item, data) for key, item in value.items()}
    return value
