"""MNIST-1D (Greydanus and Kobak, "Scaling down deep learning"), generated locally.

The `mnist1d` package builds the 1D benchmark from ten digit-shaped templates with random
shifts, scaling, shear and noise; nothing is downloaded. Generation takes a few seconds, so the
arrays are cached as .npz (no pickle) under the user cache, keyed by the generation settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
from pathlib import Path

import numpy as np

from convscope.data.download import publish
from convscope.data.sources import dataset_cache_dir

Split = tuple[np.ndarray, np.ndarray]


def _settings(num_samples: int, seed: int) -> tuple[object, str]:
    from mnist1d.data import get_dataset_args

    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    public = {key: value for key, value in vars(args).items() if key != "url"}
    key = hashlib.sha256(json.dumps(public, sort_keys=True).encode()).hexdigest()[:16]
    return args, key


def generate(num_samples: int = 5000, seed: int = 42) -> tuple[Split, Split]:
    """Generate MNIST-1D with the package's default settings (4000 train / 1000 test for 5000).

    Returns:
        x (N, 40) float32 (standardized by the generator), y (N,) int64, for train and test.

    The global `random` and NumPy RNG states are restored afterwards: the generator seeds them.
    """
    from mnist1d.data import make_dataset

    args, _ = _settings(num_samples, seed)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        data = make_dataset(args)
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
    train = (data["x"].astype(np.float32), data["y"].astype(np.int64))
    test = (data["x_test"].astype(np.float32), data["y_test"].astype(np.int64))
    return train, test


def load_mnist1d(num_samples: int = 5000, seed: int = 42, cache: bool = True) -> tuple[Split, Split]:
    """MNIST-1D as ``(x_train, y_train), (x_test, y_test)``: x (N, 40) float32, y (N,) int64.

    Read from the cache when present, else generated (and cached when `cache`).
    """
    _, key = _settings(num_samples, seed)
    cached = dataset_cache_dir("mnist1d") / f"mnist1d-{key}.npz"
    if cache and cached.is_file():
        with np.load(cached, allow_pickle=False) as stored:
            return (stored["x_train"], stored["y_train"]), (stored["x_test"], stored["y_test"])
    (x_train, y_train), (x_test, y_test) = generate(num_samples, seed)
    if cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp_name = tempfile.mkstemp(dir=cached.parent, suffix=".npz.part")
        with os.fdopen(descriptor, "wb") as handle:
            np.savez(handle, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        publish(temp_name, Path(cached))
    return (x_train, y_train), (x_test, y_test)
