"""What every benchmark peer shares: the data, the model's arithmetic cost, clocks and output.

NumPy and the standard library only: the Keras peer imports this from its own environment,
which has no torch and no convscope.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

FASHION_DIR = Path(os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist"))
TARGET_ACCURACY = 0.91

# The seed model, Keras 'valid' padding: 28 -> 26 -> 13 -> 11 -> 5 -> 1600 features.
FORWARD_FLOPS_PER_IMAGE = (
    26 * 26 * 64 * (3 * 3 * 1) * 2  # conv 1
    + 11 * 11 * 64 * (3 * 3 * 64) * 2  # conv 2 (88% of the total)
    + 1600 * 128 * 2  # dense 128
    + 128 * 10 * 2  # dense 10
)  # 10.1 MFLOP
TRAIN_FLOPS_PER_IMAGE = 3 * FORWARD_FLOPS_PER_IMAGE  # backward costs about twice the forward

# The residual model (zoo "residual-cnn"), 'same' padding: a 3x3 stem on 28x28, 2x2 max pooling,
# then one basic block per stage at 14x14x32, 7x7x64 and 4x4x128 (strided, with 1x1 projections).
RESIDUAL_FORWARD_FLOPS_PER_IMAGE = (
    28 * 28 * 32 * (3 * 3 * 1) * 2  # stem conv
    + 2 * 14 * 14 * 32 * (3 * 3 * 32) * 2  # stage 1: two convs
    + 7 * 7 * 64 * (3 * 3 * 32 + 3 * 3 * 64 + 32) * 2  # stage 2: strided conv, conv, projection
    + 4 * 4 * 128 * (3 * 3 * 64 + 3 * 3 * 128 + 64) * 2  # stage 3
    + 128 * 10 * 2  # dense 10
)  # 20.6 MFLOP (BatchNormalization, relu and the additions not counted)
MODELS = ("seed", "residual")
FORWARD_FLOPS = {"seed": FORWARD_FLOPS_PER_IMAGE, "residual": RESIDUAL_FORWARD_FLOPS_PER_IMAGE}

# The harness exports its wall-clock time just before launching a peer, so "since start"
# covers interpreter start-up, imports and data loading, as a user would see them.
_T0 = float(os.environ.get("BENCH_T0", time.time()))


def since_start() -> float:
    """Seconds since the harness launched this process (or since import, run alone)."""
    return time.time() - _T0


def read_idx(path: Path) -> np.ndarray:
    """Read one gzip IDX file into a uint8 array of the shape its header gives."""
    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion(train_images: int = 60000, test_images: int = 10000) -> tuple[np.ndarray, ...]:
    """Fashion-MNIST, channels-last float32 in [0, 1]: x (N, 28, 28, 1), y (N,) int64.

    Raises FileNotFoundError with the fix when the Debian package's files are missing.
    """
    def split(prefix: str, count: int) -> tuple[np.ndarray, np.ndarray]:
        images_path = FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz"
        if not images_path.exists():
            raise FileNotFoundError(
                f"Fashion-MNIST not found at {images_path}. Install the Debian package "
                "dataset-fashion-mnist or set FASHION_MNIST_DIR to a folder with the IDX .gz files."
            )
        images = read_idx(images_path)[:count]
        labels = read_idx(FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz")[:count]
        x = (images.astype(np.float32) / 255.0)[..., None]  # (N, 28, 28, 1)
        return x, labels.astype(np.int64)

    x_train, y_train = split("train", train_images)
    x_test, y_test = split("t10k", test_images)
    return x_train, y_train, x_test, y_test


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summarize_epochs(epochs: list[dict[str, Any]], batch: int) -> dict[str, Any]:
    """Throughput (median over epochs after the first, which pays for warm-up) and time to target."""
    steady = [e["train_s"] for e in epochs[1:]] or [e["train_s"] for e in epochs]
    images = epochs[0]["images"]
    train_s = sorted(steady)[len(steady) // 2]
    summary: dict[str, Any] = {
        "batch": batch,
        "images_per_s": images / train_s,
        "epoch_train_s": [round(e["train_s"], 3) for e in epochs],
        "test_accuracy": [round(e["test_accuracy"], 4) for e in epochs if "test_accuracy" in e],
        "since_start_s": [round(e["since_start_s"], 2) for e in epochs],
    }
    reached = [e for e in epochs if e.get("test_accuracy", 0.0) >= TARGET_ACCURACY]
    summary["time_to_target_s"] = round(reached[0]["since_start_s"], 2) if reached else None
    summary["epochs_to_target"] = epochs.index(reached[0]) + 1 if reached else None
    return summary


def emit(result: dict[str, Any]) -> None:
    """Print the result as the last stdout line, the one the harness reads."""
    result.setdefault("peak_rss_mb", round(peak_rss_mb(), 1))
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def time_predict(predict: Callable[[], Any], images: int, repeats: int = 3) -> float:
    """Images/s of the best of `repeats` calls after one warm-up call."""
    predict()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        predict()
        best = min(best, time.perf_counter() - start)
    return images / best


def time_predict_batches(predict: Callable[[int | None], Any], batches: list[int], images: int,
                         has_default: bool = True) -> dict[str, Any]:
    """Predict throughput at each batch size, and the best of them, as result fields. Batch 0
    means the library's own default (`predict(None)`), where it has one."""
    by_batch = {("default" if batch == 0 else str(batch)): round(
        time_predict(functools.partial(predict, batch or None), images), 1)
        for batch in batches if batch or has_default}
    best = max(by_batch, key=lambda batch: by_batch[batch])
    return {"predict_images_per_s_by_batch": by_batch, "predict_images_per_s": by_batch[best],
            "predict_batch": best}


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every peer takes, so the harness drives them alike."""
    parser.add_argument("--model", choices=MODELS, default="seed",
                        help="seed: the seed CNN; residual: the zoo's residual-cnn and its Keras twin")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-images", type=int, default=60000)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--until-target", action="store_true",
                        help="stop once test accuracy reaches 91%%")
    parser.add_argument("--max-seconds", type=float, default=float("inf"),
                        help="stop after the epoch that passes this many seconds since launch")
    parser.add_argument("--predict", action="store_true", help="also time predict on the test set")
    parser.add_argument("--predict-batch", type=int, nargs="+", default=[0, 128, 256],
                        help="batch sizes to time predict at; 0 is the library's default")
