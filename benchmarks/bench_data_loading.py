"""How long loading MNIST (60,000 + 10,000 images) from gzip IDX files into arrays takes.

    python benchmarks/bench_data_loading.py --data /work/shared/data --repeats 7

Times `convscope.datasets.load("mnist")` end to end (find the files, decompress, check the
SHA-256 of the decompressed content, validate the IDX headers, build writable arrays), then
its stages on the training images alone, and the way Keras reads the same files (gzip.open and
np.frombuffer, no checks) as the reference. Prints the median and the best of the repeats.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def timed(function: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median, best) wall-clock seconds of `function` over `repeats` calls after one warm-up."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def keras_style(folder: Path) -> None:
    """What keras.datasets.mnist does with the same files: no hash, no header check."""
    for name in FILES:
        with gzip.open(folder / f"{name}.gz", "rb") as handle:
            offset = 16 if "images" in name else 8
            np.frombuffer(handle.read(), np.uint8, offset=offset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"),
                        help="folder holding mnist/ (the gzip IDX files)")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    os.environ["CONVSCOPE_DATA_DIR"] = args.data
    from convscope import datasets
    from convscope.data.idx import parse_idx
    from convscope.data.integrity import known_checksums

    folder = Path(args.data) / "mnist"
    (x_train, _), (x_test, _) = datasets.load("mnist", download=False)
    print(f"MNIST {x_train.shape} + {x_test.shape} from {folder}")
    print(f"{platform.python_implementation()} {platform.python_version()}, numpy {np.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, best and median of {args.repeats}")
    compressed = (folder / f"{FILES[0]}.gz").read_bytes()
    content = gzip.decompress(compressed)
    expected = known_checksums("mnist")[FILES[0]]
    rows = [
        ("convscope load('mnist'), all 4 files, verified", lambda: datasets.load("mnist", download=False)),
        ("keras-style gzip.open + frombuffer, unchecked", lambda: keras_style(folder)),
        ("  stage: gunzip train images (9.7 MB -> 47 MB)", lambda: gzip.decompress(compressed)),
        ("  stage: SHA-256 of train images (47 MB)", lambda: hashlib.sha256(content).hexdigest() == expected),
        ("  stage: parse + copy train images", lambda: parse_idx(content, "train-images")),
    ]
    for label, function in rows:
        median, best = timed(function, args.repeats)
        print(f"{label:<50} best {best * 1000:7.1f} ms   median {median * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
