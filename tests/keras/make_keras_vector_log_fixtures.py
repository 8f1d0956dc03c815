"""Write what real Keras logs for metrics whose result is a vector (F1Score(average=None),
TruePositives(thresholds=[...])): tests/keras/test_keras_vector_metrics.py compares convscope
with it.

Run with the Keras venv (benchmarks/setup_keras.sh), from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_vector_log_fixtures.py
It writes, under tests/keras/fixtures/:
    vector_logs.csv    Keras's CSVLogger file for VECTOR_LOGS (two epochs)
    vector_logs.json   the types of a fit's History values and of evaluate's results
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
# The logs test_keras_vector_metrics.py hands convscope's CSVLogger too.
VECTOR_LOGS = [{"loss": 0.5, "f1_score": np.array([0.25, 0.5, 1 / 3], dtype="float32"),
                "true_positives": np.array([6.0, 5.0, 0.0], dtype="float32"), "val_loss": 0.75,
                "val_f1_score": np.array([0.1, 0.2, 0.3], dtype="float32")},
               {"loss": 0.25, "f1_score": np.array([0.125, 0.75, 2 / 3], dtype="float32"),
                "true_positives": np.array([7.0, 4.0, 1.0], dtype="float32"), "val_loss": 0.625,
                "val_f1_score": np.array([0.4, 0.5, 0.6], dtype="float32")}]


def type_name(value: object) -> str:
    return f"ndarray{list(np.shape(value))}" if isinstance(value, np.ndarray) else type(value).__name__


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        logger = keras.callbacks.CSVLogger(os.path.join(folder, "log.csv"))
        logger.on_train_begin()
        for epoch, logs in enumerate(VECTOR_LOGS):
            logger.on_epoch_end(epoch, dict(logs))
        logger.on_train_end()
        (FIXTURES / "vector_logs.csv").write_bytes(Path(folder, "log.csv").read_bytes())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 40)]
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy",
                  metrics=[keras.metrics.F1Score(), keras.metrics.TruePositives(thresholds=[0.3, 0.5, 0.7]),
                           keras.metrics.FalsePositives(thresholds=[0.5], name="one_threshold")])
    history = model.fit(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0)
    found = {"history": {key: type_name(values[0]) for key, values in history.history.items()},
             "evaluate_dict": {key: type_name(value) for key, value in
                               model.evaluate(x, y, verbose=0, return_dict=True).items()},
             "evaluate_list": [type_name(value) for value in model.evaluate(x, y, verbose=0)]}
    (FIXTURES / "vector_logs.json").write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
