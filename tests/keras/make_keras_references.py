"""Write what real Keras computes for the layers, activations, optimizers and metrics that the
tests compare convscope with (tests/keras/test_keras_layers.py, test_keras_training_objects.py).

Run with the Keras venv (benchmarks/setup_keras.sh), from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_references.py
It writes, under tests/keras/fixtures/:
    layers.npz, layers.json   per layer case: input, weights (Keras layout), output; config,
                              output shape and parameter count
    activations.npz           each activation on one input
    optimizers.npz            each optimizer's weights after each of 5 steps
    metrics.npz               each metric's result after each of 2 batches
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
from layer_cases import ACTIVATIONS, CASES  # noqa: E402
from training_cases import METRIC_CASES, OPTIMIZER_CASES, metric_batches, optimizer_problem  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
DROPPED_KEYS = {"dtype"}  # Keras's dtype policy: convscope layers are float32


def layer_references() -> None:
    arrays: dict[str, np.ndarray] = {}
    described: dict[str, dict] = {}
    for index, (case, (class_name, kwargs, shape, options)) in enumerate(CASES.items()):
        rng = np.random.default_rng(index)
        x = (rng.integers(0, 256, shape) if options.get("pixels") else rng.normal(size=shape)).astype("float32")
        layer = getattr(keras.layers, class_name)(**kwargs)
        layer.build(shape)
        weights = [rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()]
        layer.set_weights(weights)
        y = np.asarray(layer(x, training=options.get("training", False)))
        arrays[f"{case}/x"], arrays[f"{case}/y"] = x, y
        for number, weight in enumerate(weights):
            arrays[f"{case}/w{number}"] = weight
        config = {key: value for key, value in layer.get_config().items() if key not in DROPPED_KEYS}
        described[case] = {"config": config, "output_shape": list(layer.compute_output_shape(shape)),
                           "params": layer.count_params(), "weights": len(weights)}
    np.savez_compressed(FIXTURES / "layers.npz", **arrays)
    (FIXTURES / "layers.json").write_text(json.dumps(described, indent=1, sort_keys=True, default=str) + "\n")


def activation_references() -> None:
    x = np.linspace(-6, 6, 49, dtype="float32").reshape(7, 7)
    arrays = {"x": x}
    for name in ACTIVATIONS:
        arrays[name] = np.asarray(keras.activations.get(name)(x))
    arrays["gelu_approximate"] = np.asarray(keras.activations.gelu(x, approximate=True))
    arrays["leaky_relu_0.1"] = np.asarray(keras.activations.leaky_relu(x, negative_slope=0.1))
    arrays["elu_0.5"] = np.asarray(keras.activations.elu(x, alpha=0.5))
    np.savez_compressed(FIXTURES / "activations.npz", **arrays)


def optimizer_references() -> None:
    start, curvature, pull = optimizer_problem()
    arrays = {}
    for case, (class_name, kwargs) in OPTIMIZER_CASES.items():
        variable = keras.Variable(start)
        optimizer = getattr(keras.optimizers, class_name)(**kwargs)
        steps = []
        for _ in range(5):
            gradient = curvature * np.asarray(variable) + pull  # d/dw of sum(curvature * w^2 / 2 + pull * w)
            optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
            steps.append(np.asarray(variable))
        arrays[case] = np.stack(steps)
    np.savez_compressed(FIXTURES / "optimizers.npz", **arrays)


def metric_references() -> None:
    arrays = {}
    for case, (class_name, kwargs, kind) in METRIC_CASES.items():
        metric = getattr(keras.metrics, class_name)(**kwargs)
        results = []
        for y_true, y_pred, weight in metric_batches(kind):
            metric.update_state(y_true, y_pred, sample_weight=weight)
            results.append(np.asarray(metric.result()))
        arrays[case] = np.stack(results)
    np.savez_compressed(FIXTURES / "metrics.npz", **arrays)


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    layer_references()
    activation_references()
    optimizer_references()
    metric_references()
    print(f"wrote layers, activations, optimizers and metrics references with Keras {keras.__version__} "
          f"to {FIXTURES}")


if __name__ == "__main__":
    main()
