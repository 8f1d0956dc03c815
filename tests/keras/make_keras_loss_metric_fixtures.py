"""Write what real Keras computes for the losses and metrics of keras_loss_metric_cases.py
(tests/keras/test_keras_losses_metrics.py compares convscope with them).

Run with the Keras venv (benchmarks/setup_keras.sh), from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_loss_metric_fixtures.py
It writes, under tests/keras/fixtures/:
    losses_metrics.npz    per loss case: the loss, weighted, summed and per sample ("none");
                          per metric case: the result after each of 3 batches
    losses_metrics.json   each case's Keras config and default name
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from keras_loss_metric_cases import (  # noqa: E402
    LOSS_CASES,
    METRIC_CASES,
    loss_data,
    metric_batches,
)

FIXTURES = Path(__file__).parent / "fixtures"


def main() -> None:
    arrays: dict[str, np.ndarray] = {}
    configs: dict[str, dict] = {"losses": {}, "metrics": {}}
    for case, (class_name, kwargs, kind) in LOSS_CASES.items():
        cls = getattr(keras.losses, class_name)
        y_true, y_pred, weight = loss_data(kind)
        loss = cls(**kwargs)
        arrays[f"loss/{case}/mean"] = np.asarray(loss(y_true, y_pred))
        arrays[f"loss/{case}/sum"] = np.asarray(cls(**kwargs, reduction="sum")(y_true, y_pred))
        arrays[f"loss/{case}/none"] = np.asarray(cls(**kwargs, reduction=None)(y_true, y_pred))
        arrays[f"loss/{case}/weighted"] = np.asarray(loss(y_true, y_pred, sample_weight=weight))
        configs["losses"][case] = loss.get_config()
    for case, (class_name, kwargs, kind) in METRIC_CASES.items():
        metric = getattr(keras.metrics, class_name)(**kwargs)
        results = []
        for y_true, y_pred, weight in metric_batches(kind):
            metric.update_state(y_true, y_pred, sample_weight=weight)
            results.append(np.asarray(metric.result(), dtype="float32"))
        arrays[f"metric/{case}"] = np.stack(results)
        configs["metrics"][case] = metric.get_config()
    np.savez_compressed(FIXTURES / "losses_metrics.npz", **arrays)
    text = json.dumps(configs, indent=1, sort_keys=True, default=str)
    (FIXTURES / "losses_metrics.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
