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
    NAME.keras, NAME.h5, NAME.npz   Sequential models made of these layers (images and signals),
                              with inputs ("x") and Keras's predictions for them ("y")
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import record_layer, write_layer_files  # noqa: E402
from keras_layer_cases import ACTIVATIONS, CASES  # noqa: E402
from keras_training_cases import METRIC_CASES, OPTIMIZER_CASES, metric_batches, optimizer_problem  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


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
        record_layer(arrays, described, case, layer, shape, x, y, weights)
    write_layer_files(FIXTURES, "layers", arrays, described)


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


def image_model() -> keras.Sequential:
    """A tutorial-style image model: preprocessing and augmentation inside, then the new layers."""
    return keras.Sequential([
        layers.Input((12, 12, 3)),
        layers.Rescaling(1 / 255),
        layers.RandomFlip("horizontal"), layers.RandomRotation(0.1), layers.RandomZoom(0.1),
        layers.RandomTranslation(0.1, 0.1),
        layers.Resizing(10, 10),
        layers.ZeroPadding2D(1),
        layers.SeparableConv2D(6, 3, activation="relu", depth_multiplier=2),
        layers.DepthwiseConv2D(3, padding="same"),
        layers.PReLU(shared_axes=[1, 2]),
        layers.SpatialDropout2D(0.2),
        layers.Conv2DTranspose(4, 3, strides=2, padding="same"),
        layers.LeakyReLU(0.2),
        layers.Cropping2D(((2, 1), (1, 2))),
        layers.UpSampling2D(interpolation="bilinear"),
        layers.ELU(),
        layers.GlobalAveragePooling2D(),
        layers.Dense(3, activation="softmax"),
    ], name="image_layers")


def signal_model() -> keras.Sequential:
    return keras.Sequential([
        layers.Input((24,)),
        layers.Reshape((-1, 2)),
        layers.ZeroPadding1D((1, 2)),
        layers.SeparableConv1D(5, 3, activation="gelu"),
        layers.DepthwiseConv1D(3, depth_multiplier=2),
        layers.SpatialDropout1D(0.3),
        layers.UpSampling1D(2),
        layers.Cropping1D((1, 1)),
        layers.Conv1DTranspose(4, 3, strides=2),
        layers.Flatten(),
        layers.Dense(2, activation="sigmoid"),
    ], name="signal_layers")


def model_references() -> None:
    for index, build in enumerate((image_model, signal_model)):
        model = build()
        rng = np.random.default_rng(100 + index)
        model.set_weights([0.3 * rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
        model.compile(optimizer=keras.optimizers.Nadam(learning_rate=0.002), loss="categorical_crossentropy")
        shape = model.input_shape[1:]
        x = (rng.integers(0, 256, (4, *shape)) if index == 0 else rng.normal(size=(4, *shape))).astype("float32")
        np.savez_compressed(FIXTURES / f"{model.name}.npz", x=x, y=model.predict(x, verbose=0))
        model.save(FIXTURES / f"{model.name}.keras")
        model.save(FIXTURES / f"{model.name}.h5")


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    layer_references()
    activation_references()
    optimizer_references()
    metric_references()
    model_references()
    print(f"wrote layer, activation, optimizer, metric and model references with Keras {keras.__version__} "
          f"to {FIXTURES}")


if __name__ == "__main__":
    main()
