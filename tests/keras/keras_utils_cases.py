"""Inputs for the keras.utils comparisons: make_keras_utils_fixtures.py feeds them to real
Keras, tests/keras/test_keras_utils.py to convscope."""

from __future__ import annotations

import numpy as np

PAD_SEQUENCES = [[1], [2, 3], [4, 5, 6], [], [7, 8, 9, 10, 11]]
PAD_CASES: dict[str, dict] = {
    "default": {},
    "post": {"padding": "post"},
    "maxlen_pre": {"maxlen": 3},
    "maxlen_post_truncate": {"maxlen": 3, "truncating": "post"},
    "maxlen_long_post": {"maxlen": 7, "padding": "post", "truncating": "post", "value": -1},
    "float": {"maxlen": 4, "dtype": "float32", "value": 0.5},
}

SERIES = np.arange(100, dtype="float32")
SIGNAL = np.stack([np.sin(np.arange(60) / 5), np.cos(np.arange(60) / 7)], axis=1).astype("float32")  # (60, 2)
TIMESERIES_CASES: dict[str, tuple[np.ndarray, np.ndarray | None, dict]] = {
    "docstring": (SERIES[:99], None, {"sequence_length": 10, "sampling_rate": 2, "sequence_stride": 3,
                                      "batch_size": 8}),
    "regression": (SERIES[:-10], SERIES[10:], {"sequence_length": 10, "batch_size": 16}),
    "channels_indices": (SIGNAL, np.arange(60) % 3, {"sequence_length": 8, "sequence_stride": 2,
                                                     "sampling_rate": 3, "batch_size": 5, "start_index": 4,
                                                     "end_index": 50}),
    "unbatched": (SIGNAL, np.arange(60), {"sequence_length": 20, "sequence_stride": 7, "batch_size": None}),
}

SPLIT_X = np.arange(40, dtype="float32").reshape(10, 2, 2)
SPLIT_Y = np.arange(10, dtype="int64")
SPLIT_CASES: dict[str, tuple[object, dict]] = {
    "array_fraction": (SPLIT_X, {"left_size": 0.8}),
    "tuple_right_int": ((SPLIT_X, SPLIT_Y), {"right_size": 3}),
    "tuple_both_dropping": ((SPLIT_X, SPLIT_Y), {"left_size": 0.4, "right_size": 0.3}),
    "tuple_shuffled": ((SPLIT_X, SPLIT_Y), {"left_size": 6, "shuffle": True, "seed": 7}),
}

# (Progbar arguments, [(method, count, values)], seconds per clock reading)
PROGBAR_CASES: dict[str, tuple[dict, list, float]] = {
    "steps_with_loss": ({"target": 5}, [("update", step, [["loss", 1.0 / step], ["acc", 0.1 * step]])
                                        for step in range(1, 6)], 0.3),
    "stateful": ({"target": 3, "stateful_metrics": ["lr"], "width": 10},
                 [("update", step, [["lr", 0.01 * step], ["loss", 0.5]]) for step in range(1, 4)], 0.02),
    "add_unknown_target": ({"target": None, "unit_name": "sample"},
                           [("add", 4, [["loss", 0.25]]), ("add", 4, [["loss", 0.0001]])], 1.5),
    "slow_eta": ({"target": 200}, [("update", 1, []), ("update", 2, []), ("update", 200, [])], 40.0),
    "verbose_2": ({"target": 4, "verbose": 2}, [("update", step, [["loss", 2.0]]) for step in range(1, 5)], 0.001),
}
