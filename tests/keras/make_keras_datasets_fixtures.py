"""Write what real Keras's `keras.datasets` loaders give on the stand-in files
(tests/keras/test_keras_datasets.py compares convscope with it).

Run with the Keras venv (benchmarks/setup_keras.sh), from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_datasets_fixtures.py
It writes the stand-ins (tests/keras/fixtures/datasets/), then points each Keras loader's
`get_file` at them (no network), and writes expected.npz (images, labels, housing rows) and
expected_sequences.json (imdb and reuters word-index lists and labels).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from keras.src.datasets import boston_housing, california_housing, cifar100, imdb, reuters  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from keras_datasets_cases import (  # noqa: E402
    BOSTON_CASES,
    CALIFORNIA_CASES,
    CIFAR100_CASES,
    EXPECTED_ARRAYS,
    EXPECTED_SEQUENCES,
    IMDB_CASES,
    REUTERS_CASES,
    STAND_INS,
    write_stand_ins,
)


def stand_in_get_file(extracted: Path, downloads: dict[str, str]) -> Any:
    """Keras's get_file, answered from the stand-ins: the file named by the origin URL's last part.
    Records each origin URL and its hash in `downloads`."""

    def get_file(fname: Any = None, origin: str = "", extract: bool = False, file_hash: str = "", **_: Any) -> str:
        name = origin.rsplit("/", 1)[-1]
        downloads[origin] = file_hash
        return str(extracted if extract else STAND_INS / name)

    return get_file


def main() -> None:
    write_stand_ins()
    arrays: dict[str, np.ndarray] = {}
    sequences: dict[str, Any] = {}
    downloads: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as temp:
        with tarfile.open(STAND_INS / "cifar-100-python.tar.gz") as archive:
            archive.extractall(temp, filter="data")
        for module in (boston_housing, california_housing, cifar100, imdb, reuters):
            module.get_file = stand_in_get_file(Path(temp), downloads)  # type: ignore[attr-defined]
        for case, options in CIFAR100_CASES.items():
            (x_train, y_train), (x_test, y_test) = cifar100.load_data(**options)
            arrays.update({f"cifar100_{case}_x_train": x_train, f"cifar100_{case}_y_train": y_train,
                           f"cifar100_{case}_x_test": x_test, f"cifar100_{case}_y_test": y_test})
        for prefix, loader, cases in (("boston", boston_housing.load_data, BOSTON_CASES),
                                      ("california", california_housing.load_data, CALIFORNIA_CASES)):
            for case, options in cases.items():
                (x_train, y_train), (x_test, y_test) = loader(**options)
                arrays.update({f"{prefix}_{case}_x_train": x_train, f"{prefix}_{case}_y_train": y_train,
                               f"{prefix}_{case}_x_test": x_test, f"{prefix}_{case}_y_test": y_test})
        for prefix, text_loader, text_cases in (("imdb", imdb.load_data, IMDB_CASES),
                                                ("reuters", reuters.load_data, REUTERS_CASES)):
            for case, options in text_cases.items():
                (x_train, y_train), (x_test, y_test) = text_loader(**options)
                sequences[f"{prefix}_{case}"] = {
                    "x_train": [list(map(int, x)) for x in x_train], "y_train": y_train.tolist(),
                    "x_test": [list(map(int, x)) for x in x_test], "y_test": y_test.tolist(),
                    "x_dtype": str(x_train.dtype), "x_shape": list(x_train.shape),
                    "y_dtype": str(y_train.dtype), "element_type": type(x_train[0]).__name__,
                    "word_type": type(x_train[0][0]).__name__,
                }
        sequences["imdb_word_index"] = imdb.get_word_index()
        sequences["reuters_word_index"] = reuters.get_word_index()
        sequences["reuters_label_names"] = list(reuters.get_label_names())
    sequences["keras_downloads"] = downloads
    np.savez(EXPECTED_ARRAYS, **arrays)
    EXPECTED_SEQUENCES.write_text(json.dumps(sequences, indent=1) + "\n", encoding="utf-8")
    shutil.rmtree(STAND_INS / "__pycache__", ignore_errors=True)
    print(f"wrote {EXPECTED_ARRAYS} and {EXPECTED_SEQUENCES}")


if __name__ == "__main__":
    main()
