"""describe: shapes, dtypes, value range, class counts, and readable failures of the usual checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convscope import datasets


def _data(n_train: int = 20, n_test: int = 10) -> tuple:
    images = np.arange(n_train * 28 * 28, dtype=np.int64).reshape(n_train, 28, 28) % 256
    return ((images.astype(np.uint8), np.arange(n_train) % 10),
            (images[:n_test].astype(np.uint8), np.arange(n_test) % 10))


def test_describe_reports_shapes_range_and_counts() -> None:
    description = datasets.describe(_data(), name="toy", class_names=[f"c{i}" for i in range(10)])
    assert description.ok and [split.name for split in description.splits] == ["train", "test"]
    train = description.splits[0]
    assert (train.x_shape, train.x_dtype, train.value_min, train.value_max) == ((20, 28, 28), "uint8", 0.0, 255.0)
    assert train.class_counts == {label: 2 for label in range(10)}
    text = str(description)
    assert "train: x (20, 28, 28) uint8, y (20,) int64, values 0..255" in text
    assert "3 (c3): 2" in text and "Checks passed" in text
    assert json.loads(json.dumps(description.to_dict()))["splits"][1]["class_counts"]["0"] == 1


def test_describe_reports_the_usual_checks_as_readable_failures() -> None:
    (x_train, y_train), (x_test, y_test) = _data()
    bad = ((x_train, y_train[:-1]), (x_test[:, :27, :], y_test + 1))
    description = datasets.describe(bad, expected_sample_shape=(28, 28, 1))
    assert not description.ok
    assert description.problems == [
        "train: 20 samples but 19 labels; each sample needs exactly one label.",
        "test: samples have shape (27, 28); expected (28, 28, 1).",
        "test: labels [10] never appear in train.",
    ]
    assert "Problems:\n  - train: 20 samples but 19 labels" in str(description)
    with pytest.raises(ValueError, match="describe\\(arrays\\): train: 20 samples but 19 labels"):
        datasets.describe(bad, expected_sample_shape=(28, 28, 1), strict=True)


def test_describe_a_single_split_with_one_hot_labels() -> None:
    x = np.zeros((6, 40, 1), np.float32)
    description = datasets.describe((x, datasets.to_categorical([0, 1, 2, 0, 1, 2])))
    assert description.ok and description.splits[0].class_counts == {0: 2, 1: 2, 2: 2}


def test_describe_a_named_dataset() -> None:
    description = datasets.describe("digits")
    assert description.ok and description.name == "digits" and description.class_names[0] == "0"
    assert description.splits[0].x_shape == (1438, 8, 8, 1)
