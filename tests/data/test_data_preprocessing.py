"""to_categorical (Keras semantics), normalize, channel axis, train/validation split."""

from __future__ import annotations

import numpy as np
import pytest

from convscope import datasets


def test_to_categorical_matches_keras() -> None:
    one_hot = datasets.to_categorical([0, 2, 1], 4)
    assert one_hot.dtype == np.float32 and one_hot.tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    assert datasets.to_categorical(np.array([[1], [0]])).shape == (2, 2)  # (N, 1) -> (N, C)
    assert datasets.to_categorical(np.array([[0, 1], [2, 0]])).shape == (2, 2, 3)
    assert datasets.to_categorical([1.0, 0.0], dtype="int64").dtype == np.int64


@pytest.mark.parametrize("labels, num_classes, message", [
    ([0, 5], 3, "label 5 does not fit num_classes=3; pass num_classes=6"),
    ([0, -1], None, "labels must be >= 0"),
    ([0.5], None, "labels must be integers"),
])
def test_to_categorical_errors(labels: list[float], num_classes: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        datasets.to_categorical(labels, num_classes)


def test_normalize_unit_and_standardize() -> None:
    images = np.array([[0, 51], [255, 102]], dtype=np.uint8)
    np.testing.assert_allclose(datasets.normalize(images), [[0, 0.2], [1, 0.4]], rtol=1e-6)
    np.testing.assert_allclose(datasets.normalize(np.array([2.0, 4.0, 6.0])), [0, 0.5, 1])
    standard = datasets.normalize(np.array([1.0, 2.0, 3.0, 4.0]), "standardize")
    assert abs(standard.mean()) < 1e-6 and abs(standard.std() - 1) < 1e-6
    test = datasets.normalize(np.array([5.0]), "standardize", mean=1.0, std=2.0)
    assert test.tolist() == [2.0]
    with pytest.raises(ValueError, match="method must be 'unit' or 'standardize'; got 'minmax'"):
        datasets.normalize(images, "minmax")  # type: ignore[arg-type]


def test_channel_axis_helpers() -> None:
    images = np.zeros((3, 28, 28), np.uint8)
    with_channel = datasets.add_channel_axis(images)
    assert with_channel.shape == (3, 28, 28, 1)
    assert datasets.add_channel_axis(with_channel, sample_ndim=2) is with_channel
    assert datasets.remove_channel_axis(with_channel).shape == (3, 28, 28)
    with pytest.raises(ValueError, match=r"got shape \(5,\)"):
        datasets.add_channel_axis(np.zeros(5))
    with pytest.raises(ValueError, match="trailing axis of size 1"):
        datasets.remove_channel_axis(np.zeros((2, 4, 4, 3)))


def test_split_is_disjoint_complete_reproducible() -> None:
    x = np.arange(100)
    y = np.arange(100) % 4
    (x_train, y_train), (x_val, y_val) = datasets.train_validation_split(x, y, 0.2, seed=3)
    assert len(x_val) == 20 and sorted(np.concatenate([x_train, x_val]).tolist()) == list(range(100))
    assert (y_train == x_train % 4).all()
    (again, _), _ = datasets.train_validation_split(x, y, 0.2, seed=3)
    np.testing.assert_array_equal(again, x_train)
    (_, _), (tail, _) = datasets.train_validation_split(x, y, 0.1, shuffle=False)
    assert tail.tolist() == list(range(90, 100))  # like Keras' validation_split


def test_stratified_split_keeps_class_shares() -> None:
    y = np.array([0] * 90 + [1] * 10)
    (_, y_train), (_, y_val) = datasets.train_validation_split(np.arange(100), y, 0.2, stratify=True)
    assert np.bincount(y_val).tolist() == [18, 2] and np.bincount(y_train).tolist() == [72, 8]
    with pytest.raises(ValueError, match="x has 3 samples but y has 2"):
        datasets.train_validation_split(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"validation_fraction must be in \(0, 1\); got 1.5"):
        datasets.train_validation_split(np.zeros(3), np.zeros(3), 1.5)
