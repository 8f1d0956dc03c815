"""The Keras/TensorFlow peer: the seed model (or, with --model residual, the twin of convscope's
zoo residual-cnn) trained the Keras way; prints one JSON line.

Runs in benchmarks/.keras-env (made by setup_keras.sh), never in the project's environment.

    benchmarks/.keras-env/bin/python benchmarks/keras_peer.py --batch 128 --epochs 2
    benchmarks/.keras-env/bin/python benchmarks/keras_peer.py --model residual --batch 32
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import bench_common  # noqa: E402


def residual_block(keras: Any, x: Any, filters: int, strides: int = 1) -> Any:
    """convscope.zoo.residual_block in Keras: two 3x3 conv + BatchNormalization layers added to
    the input or to its 1x1 projection, then relu; the layers made in the same order."""
    layers = keras.layers

    def normalized(tensor: Any) -> Any:
        return layers.BatchNormalization(momentum=0.9)(tensor)  # as convscope.zoo.BATCH_NORM_MOMENTUM

    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
    y = layers.ReLU()(normalized(y))
    y = normalized(layers.Conv2D(filters, 3, padding="same", use_bias=False)(y))
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = normalized(layers.Conv2D(filters, 1, strides=strides, use_bias=False)(x))
    return layers.ReLU()(layers.Add()([y, shortcut]))


def residual_cnn(keras: Any, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10,
                 widths: tuple[int, ...] = (32, 64, 128)) -> Any:
    """The twin of convscope.zoo.residual_cnn: same layers, shapes and parameter count."""
    layers = keras.layers
    inputs = keras.Input(input_shape)
    x = layers.RandomFlip("horizontal")(inputs)
    x = layers.Conv2D(widths[0], 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    for stage, filters in enumerate(widths):
        x = residual_block(keras, x, filters, strides=2 if stage else 1)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="residual_cnn")


def build_model(keras: Any, model: str = "seed") -> Any:
    if model == "residual":
        return residual_cnn(keras)
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    bench_common.add_common_arguments(parser)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    x_train, y_train, x_test, y_test = bench_common.load_fashion(args.train_images, args.test_images)
    loaded_s = bench_common.since_start()
    model = build_model(keras, args.model)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    epochs: list[dict[str, Any]] = []

    class Clock(keras.callbacks.Callback):
        """Epoch training time without the validation pass, and accuracy after each epoch."""

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.begin = time.perf_counter()
            self.train_s = None

        def on_test_begin(self, logs: Any = None) -> None:
            if self.train_s is None:
                self.train_s = time.perf_counter() - self.begin

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epochs.append({"images": len(x_train), "train_s": self.train_s,
                           "test_accuracy": float(logs["val_accuracy"]),
                           "since_start_s": bench_common.since_start()})
            reached = logs["val_accuracy"] >= bench_common.TARGET_ACCURACY
            if (args.until_target and reached) or bench_common.since_start() > args.max_seconds:
                self.model.stop_training = True

    model.fit(x_train, y_train, batch_size=args.batch, epochs=args.epochs, verbose=0,
              validation_data=(x_test, y_test), validation_batch_size=1000, callbacks=[Clock()])
    result = {"peer": "keras", "version": f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
              "precision": "float32", "data_loaded_s": round(loaded_s, 2),
              "model": args.model, "params": model.count_params(),
              **bench_common.summarize_epochs(epochs, args.batch)}
    if args.predict:
        result.update(bench_common.time_predict_batches(
            lambda batch: model.predict(x_test, batch_size=batch, verbose=0), args.predict_batch, len(x_test)))
    bench_common.emit(result)


if __name__ == "__main__":
    main()
