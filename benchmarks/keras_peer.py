"""The Keras/TensorFlow peer: the seed model (or, with --model residual, the twin of convscope's
zoo residual-cnn, built by convscope/zoo.py's own code) trained the Keras way; prints one JSON line.

Runs in benchmarks/.keras-env (made by setup_keras.sh), never in the project's environment.

    benchmarks/.keras-env/bin/python benchmarks/keras_peer.py --batch 128 --epochs 2
    benchmarks/.keras-env/bin/python benchmarks/keras_peer.py --model residual --batch 32
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import bench_common  # noqa: E402

ZOO_FILE = Path(__file__).resolve().parents[1] / "convscope" / "zoo.py"


def load_zoo() -> ModuleType:
    """convscope/zoo.py, loaded alone: it imports nothing of convscope until a model is built with
    convscope's own layers, so it loads here, where there is no convscope (nor torch)."""
    spec = importlib.util.spec_from_file_location("convscope_zoo", ZOO_FILE)
    assert spec is not None and spec.loader is not None
    zoo = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = zoo  # dataclasses look their module up while the class is made
    spec.loader.exec_module(zoo)
    return zoo


def residual_cnn(keras: Any, input_shape: tuple[int, ...] = (28, 28, 1), num_classes: int = 10,
                 widths: tuple[int, ...] = (32, 64, 128)) -> Any:
    """The twin of convscope.zoo.residual_cnn: the zoo's own code, given Keras's layers."""
    return load_zoo().residual_cnn(input_shape, num_classes, widths, keras=keras)


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
