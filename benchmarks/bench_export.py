"""Predict throughput: convscope vs ONNX Runtime on the same exported model and the same images.

    python benchmarks/bench_export.py --data /work/shared/data/mnist --threads 2

Trains the seed CNN (Conv2D 64 3x3, MaxPool, Conv2D 64 3x3, MaxPool, Flatten, Dense 128,
Dense 10) for one epoch on --train-images MNIST images (random weights if no data is given),
exports it to ONNX, then times `model.predict` and an ONNX Runtime session over the 10,000 test
images (or random images) with the same batch size and the same number of threads: the
median of --repeats runs after one warm-up. Prints images/s for both, the ratio, and the
largest absolute difference between their outputs; --json appends the numbers to a file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch


def seed_model() -> object:
    from convscope import Sequential, layers

    return Sequential([
        layers.Conv2D(64, 3, activation="relu", input_shape=(28, 28, 1)), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax"),
    ])


def images(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(test images, train images, train labels) as float32 in [0, 1]."""
    if not args.data:
        return np.random.default_rng(0).random((10_000, 28, 28, 1), dtype=np.float32), None, None
    import convscope

    (x_train, y_train), (x_test, _) = convscope.datasets.load("mnist", path=args.data, download=False,
                                                              progress=False)
    scale = np.float32(1 / 255)
    return (np.asarray(x_test, np.float32) * scale, np.asarray(x_train[:args.train_images], np.float32) * scale,
            np.asarray(y_train[:args.train_images]))


def timed(run: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Median seconds of `repeats` runs after one warm-up, and the last outputs."""
    outputs = run()
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        outputs = run()
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="MNIST folder (IDX files); random images and weights without it")
    parser.add_argument("--train-images", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="append the result as one JSON line to this file")
    args = parser.parse_args()

    import convscope
    from convscope.export.onnx import onnx_predict, session

    torch.set_num_threads(args.threads)
    convscope.set_seed(0, deterministic=False)
    x_test, x_train, y_train = images(args)
    model = seed_model()
    model.compile("adam", "sparse_categorical_crossentropy", precision="float32", device="cpu")
    if x_train is not None:
        model.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        path = model.export(Path(folder) / "seed.onnx")
        runner = session(path, threads=args.threads)
        ort_seconds, ort_out = timed(lambda: onnx_predict(runner, x_test, batch_size=args.batch_size), args.repeats)
    cs_seconds, cs_out = timed(lambda: model.predict(x_test, batch_size=args.batch_size), args.repeats)
    result = {
        "images": len(x_test), "batch_size": args.batch_size, "threads": args.threads,
        "trained": x_train is not None, "torch": torch.__version__,
        "convscope_images_per_s": round(len(x_test) / cs_seconds, 1),
        "onnxruntime_images_per_s": round(len(x_test) / ort_seconds, 1),
        "onnxruntime_over_convscope": round(cs_seconds / ort_seconds, 3),
        "max_abs_difference": float(np.abs(ort_out - cs_out).max()),
        "same_argmax": float((ort_out.argmax(1) == cs_out.argmax(1)).mean()),
    }
    print(f"predict, {result['images']} images, batch {args.batch_size}, {args.threads} thread(s), "
          f"median of {args.repeats}:")
    print(f"  convscope     {result['convscope_images_per_s']:>10,.0f} images/s")
    print(f"  ONNX Runtime  {result['onnxruntime_images_per_s']:>10,.0f} images/s "
          f"({result['onnxruntime_over_convscope']:.2f}x convscope)")
    print(f"  max |ORT - convscope| = {result['max_abs_difference']:.2e}; same class for "
          f"{result['same_argmax']:.2%} of images")
    if args.json:
        with open(args.json, "a") as handle:
            handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
