"""The stand-in dataset files and the load_data calls compared with real Keras.

Shared by make_keras_datasets_fixtures.py (run with Keras) and test_keras_datasets.py. The
stand-ins are tiny files of the real formats: the cifar-100-python tarball of pickled dicts, the
housing .npz files, imdb.npz and reuters.npz with object arrays of word-rank lists, the word-index
JSON files.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

STAND_INS = Path(__file__).parent / "fixtures" / "datasets"
EXPECTED_ARRAYS = STAND_INS / "expected.npz"  # numeric outputs (images, labels, housing rows)
EXPECTED_SEQUENCES = STAND_INS / "expected_sequences.json"  # imdb and reuters outputs

CIFAR100_CASES = {"fine": {"label_mode": "fine"}, "coarse": {"label_mode": "coarse"}}
BOSTON_CASES: dict[str, dict[str, Any]] = {
    "default": {}, "split_seed": {"test_split": 0.3, "seed": 7}, "no_test": {"test_split": 0.0},
}
CALIFORNIA_CASES: dict[str, dict[str, Any]] = {
    "default": {}, "small": {"version": "small", "seed": 1}, "split": {"test_split": 0.45, "seed": 3},
}
IMDB_CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "vocabulary": {"num_words": 20, "skip_top": 5},
    "maxlen": {"maxlen": 9, "seed": 4},
    "no_markers": {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 15},
    "drop_oov": {"oov_char": None, "skip_top": 4, "index_from": 2, "start_char": 7, "seed": 99},
}
REUTERS_CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "vocabulary": {"num_words": 12, "skip_top": 2, "test_split": 0.3},
    "maxlen": {"maxlen": 10, "seed": 5},
    "no_markers": {"start_char": None, "oov_char": None, "index_from": 0, "num_words": 10},
    "plain": {"start_char": None, "index_from": 0, "test_split": 0.5},
}


def _ragged(rng: np.random.RandomState, count: int, vocabulary: int, longest: int) -> np.ndarray:
    """An object array of `count` lists of Python ints 1..vocabulary (ranks, as the real files)."""
    sequences = np.empty(count, dtype=object)
    for index in range(count):
        sequences[index] = [int(w) for w in rng.randint(1, vocabulary + 1, rng.randint(2, longest + 1))]
    return sequences


def _cifar100_batch(rng: np.random.RandomState, count: int, name: bytes) -> bytes:
    batch = {
        b"filenames": [b"image_%d.png" % index for index in range(count)],
        b"batch_label": name,
        b"fine_labels": [int(label) for label in rng.randint(0, 100, count)],
        b"coarse_labels": [int(label) for label in rng.randint(0, 20, count)],
        b"data": rng.randint(0, 256, (count, 3072)).astype(np.uint8),
    }
    return pickle.dumps(batch, protocol=4)  # bytes keys, as the Python 2 originals load with encoding="bytes"


def _add(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(content), 0
    archive.addfile(info, io.BytesIO(content))


def write_stand_ins(folder: Path = STAND_INS) -> None:
    """Write every stand-in file into `folder` (deterministic)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(2024)
    with tarfile.open(folder / "cifar-100-python.tar.gz", "w:gz") as archive:
        _add(archive, "cifar-100-python/train", _cifar100_batch(rng, 7, b"training batch 1 of 1"))
        _add(archive, "cifar-100-python/test", _cifar100_batch(rng, 3, b"testing batch 1 of 1"))
        _add(archive, "cifar-100-python/meta", pickle.dumps({b"fine_label_names": [b"apple"]}, protocol=4))
    np.savez(folder / "boston_housing.npz", x=rng.rand(23, 13) * 100, y=rng.rand(23) * 50)
    np.savez(folder / "california_housing.npz", x=(rng.rand(640, 8) * 10).astype(np.float32),
             y=(rng.rand(640) * 5e5).astype(np.float32))
    np.savez(folder / "imdb.npz", x_train=_ragged(rng, 14, 30, 12), y_train=rng.randint(0, 2, 14).astype(np.int64),
             x_test=_ragged(rng, 9, 30, 12), y_test=rng.randint(0, 2, 9).astype(np.int64))
    np.savez(folder / "reuters.npz", x=_ragged(rng, 17, 25, 14), y=rng.randint(0, 46, 17).astype(np.int64))
    for name in ("imdb", "reuters"):
        words = {f"{name}_word_{rank}": rank for rank in range(1, 31)}
        (folder / f"{name}_word_index.json").write_text(json.dumps(words), encoding="utf-8")
