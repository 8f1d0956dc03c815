"""Optimizer-state cases compared with real Keras: a model, its optimizer and compile settings,
trained one epoch, saved, then trained one more epoch on the same batches. Read by the fixture
writer (under real Keras, make_keras_optimizer_fixtures.py) and by test_keras_optimizer_state.py
(under convscope). NumPy only.

A loss or metric with arguments is written as ("object", class name, arguments), which each side
builds as its own object.
"""

from __future__ import annotations

from typing import Any

import numpy as np

BATCH_SIZE = 8
SPARSE_LOGITS = ("object", "SparseCategoricalCrossentropy", {"from_logits": True})

# name: (model, (Keras optimizer class, arguments), compile arguments)
OPTIMIZER_STATE_CASES: dict[str, tuple[str, tuple[str, dict[str, Any]], dict[str, Any]]] = {
    "seed_cnn_adam": ("seed_cnn", ("Adam", {"learning_rate": 0.002}),
                      {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}),
    "seed_cnn_sgd": ("seed_cnn", ("SGD", {"learning_rate": 0.05, "momentum": 0.9}),
                     {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}),
    "dense_adam": ("dense", ("Adam", {"learning_rate": 0.01, "beta_1": 0.85, "amsgrad": True, "clipnorm": 1.0}),
                   {"loss": SPARSE_LOGITS,
                    "metrics": [("object", "SparseTopKCategoricalAccuracy", {"k": 2}), "accuracy"]}),
    "dense_sgd": ("dense", ("SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
                  {"loss": SPARSE_LOGITS, "loss_weights": [0.5], "metrics": ["accuracy"]}),
    "dense_rmsprop": ("dense", ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9, "centered": True}),
                      {"loss": SPARSE_LOGITS, "metrics": ["accuracy"]}),
    "dense_adamax": ("dense", ("Adamax", {"learning_rate": 0.01}), {"loss": SPARSE_LOGITS, "metrics": ["accuracy"]}),
    "dense_adagrad": ("dense", ("Adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.0}),
                      {"loss": SPARSE_LOGITS, "metrics": ["accuracy"]}),
    "seed_cnn_adafactor": ("seed_cnn", ("Adafactor", {"learning_rate": 0.01}),
                           {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}),
    "seed_cnn_lion": ("seed_cnn", ("Lion", {"learning_rate": 0.001, "weight_decay": 0.1}),
                      {"loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"]}),
    "dense_adadelta": ("dense", ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
                       {"loss": SPARSE_LOGITS, "metrics": ["accuracy"]}),
    "dense_ftrl": ("dense", ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.001,
                                      "l2_shrinkage_regularization_strength": 0.01, "beta": 0.5}),
                   {"loss": SPARSE_LOGITS, "metrics": ["accuracy"]}),
    "two_heads_adam": ("two_heads", ("Adam", {"learning_rate": 0.005}),
                       {"loss": {"class_out": ("object", "SparseCategoricalCrossentropy", {}), "reg_out": "mse"},
                        "loss_weights": {"class_out": 1.0, "reg_out": 0.5},
                        "metrics": {"class_out": ["accuracy"],
                                    "reg_out": ["mae", ("object", "MeanSquaredError", {"name": "mse_metric"})]},
                        "weighted_metrics": {"class_out": ["accuracy"]}}),
}


def keras_writes_h5(case: str) -> bool:
    """Whether Keras saves the case's model as a legacy .h5: not with Adafactor, whose factored
    moments share their weight's name ("adafactor/kernel" twice), which the .h5 cannot hold."""
    return OPTIMIZER_STATE_CASES[case][1][0] != "Adafactor"


def case_data(model: str) -> tuple[Any, Any]:
    """(x, y) the case's model trains on, as the model takes them (lists for two_heads)."""
    rng = np.random.default_rng(5)
    if model == "seed_cnn":
        return rng.normal(size=(24, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 24)
    if model == "dense":
        return rng.normal(size=(32, 12)).astype("float32"), rng.integers(0, 4, 32)
    image, extra = rng.normal(size=(24, 8, 8, 1)).astype("float32"), rng.normal(size=(24, 3)).astype("float32")
    return [image, extra], [rng.integers(0, 3, 24), rng.normal(size=(24, 1)).astype("float32")]


def build_objects(value: Any, make: Any) -> Any:
    """`value` with each ("object", class, arguments) made by `make(class, arguments)`."""
    if isinstance(value, tuple) and value and value[0] == "object":
        return make(value[1], value[2])
    if isinstance(value, dict):
        return {key: build_objects(item, make) for key, item in value.items()}
    if isinstance(value, list):
        return [build_objects(item, make) for item in value]
    return value


# Update rules compared step by step: name: (Keras class, arguments). Gradients span 1 to 1e-6
# (where epsilon's place shows); "learning_rate_after" changes the rate before step RULE_CHANGE.
RULE_STEPS, RULE_CHANGE = 10, 5
RULE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "rmsprop": ("RMSprop", {"learning_rate": 0.01}),
    "rmsprop_momentum": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    "rmsprop_centered": ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    "rmsprop_centered_momentum": ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5, "rho": 0.8}),
    "rmsprop_momentum_rate_change": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9,
                                                 "learning_rate_after": 0.0025}),
    "rmsprop_weight_decay": ("RMSprop", {"learning_rate": 0.01, "weight_decay": 0.1, "epsilon": 1e-4}),
    "adagrad": ("Adagrad", {"learning_rate": 0.05}),
    "adagrad_from_zero": ("Adagrad", {"learning_rate": 0.05, "initial_accumulator_value": 0.0}),
    "adamax": ("Adamax", {"learning_rate": 0.01}),
    "adamax_large_epsilon": ("Adamax", {"learning_rate": 0.01, "beta_2": 0.5, "epsilon": 1e-3}),
    "sgd_momentum_rate_change": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "learning_rate_after": 0.0125}),
    "sgd_nesterov_rate_change": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True,
                                         "learning_rate_after": 0.0125}),
    "adam": ("Adam", {"learning_rate": 0.01}),
    "adam_amsgrad_rate_change": ("Adam", {"learning_rate": 0.01, "amsgrad": True, "learning_rate_after": 0.0025}),
    "adamw": ("AdamW", {"learning_rate": 0.01}),
    "nadam": ("Nadam", {"learning_rate": 0.01}),
}
# Cases of the optimizers without a torch.optim counterpart, in their own fixture file
# (optimizer_rules_more.npz); their problem adds a (3, 3, 2, 4) conv kernel, whose factored
# moments (Adafactor) run over its last two axes. "schedule" is an ExponentialDecay's config.
SCHEDULE = {"initial_learning_rate": 0.05, "decay_steps": 3, "decay_rate": 0.5}
MORE_RULE_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "adadelta": ("Adadelta", {}),
    "adadelta_fast": ("Adadelta", {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-5}),
    "adadelta_schedule_weight_decay": ("Adadelta", {"learning_rate": SCHEDULE, "weight_decay": 0.5}),
    "ftrl": ("Ftrl", {"learning_rate": 0.05}),
    "ftrl_regularized": ("Ftrl", {"learning_rate": 0.05, "learning_rate_power": -0.7, "initial_accumulator_value": 0.3,
                                  "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
                                  "l2_shrinkage_regularization_strength": 0.03, "beta": 0.1}),
    "ftrl_fixed_rate_change": ("Ftrl", {"learning_rate": 0.05, "learning_rate_power": 0.0,
                                        "initial_accumulator_value": 0.0, "learning_rate_after": 0.02}),
    "lion": ("Lion", {"learning_rate": 0.01}),
    "lion_betas_clipnorm": ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "clipnorm": 0.1}),
    "lion_schedule_weight_decay": ("Lion", {"learning_rate": SCHEDULE, "weight_decay": 0.1}),
    "adafactor": ("Adafactor", {}),
    "adafactor_large_rate": ("Adafactor", {"learning_rate": 0.5, "beta_2_decay": -0.5, "epsilon_1": 1e-10,
                                           "epsilon_2": 0.01, "clip_threshold": 0.5}),
    "adafactor_schedule": ("Adafactor", {"learning_rate": SCHEDULE, "relative_step": False,
                                         "global_clipnorm": 0.5}),
    "adafactor_rate_change": ("Adafactor", {"learning_rate": 0.5, "weight_decay": 0.05,
                                            "learning_rate_after": 0.1}),
}
RULE_FIXTURES = {"optimizer_rules.npz": RULE_CASES, "optimizer_rules_more.npz": MORE_RULE_CASES}


def rule_problem(case: str = "") -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """(start weights, each step's gradients) for RULE_CASES: a (3, 4) kernel whose columns get
    gradients of about 1, 1e-2, 1e-4 and 1e-6, and a (4,) bias; for MORE_RULE_CASES also a
    (3, 3, 2, 4) conv kernel (Keras's layout) with gradients of about 0.1."""
    rng = np.random.default_rng(11)
    start = [rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=4).astype("float32")]
    scale = np.array([1.0, 1e-2, 1e-4, 1e-6])
    grads = [[(rng.normal(size=(3, 4)) * scale).astype("float32"), (rng.normal(size=4) * scale).astype("float32")]
             for _ in range(RULE_STEPS)]
    if case in MORE_RULE_CASES:
        conv = np.random.default_rng(12)
        start.append(conv.normal(size=(3, 3, 2, 4)).astype("float32"))
        for step_grads in grads:
            step_grads.append((conv.normal(size=(3, 3, 2, 4)) * 0.1).astype("float32"))
    return start, grads
