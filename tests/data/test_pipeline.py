"""convscope.data.Dataset: the tf.data methods tutorials chain, and fit/evaluate/predict reading it."""

from __future__ import annotations

import numpy as np
import pytest

from convscope.data import AUTOTUNE, Dataset
from convscope.data.pipeline import NumpyTensor


def slices(count: int = 10) -> Dataset:
    x = np.arange(count * 2, dtype=np.float32).reshape(count, 2)
    return Dataset.from_tensor_slices((x, np.arange(count)))


def test_autotune_is_reachable_with_the_tensorflow_spelling() -> None:
    import convscope as tf  # as a script that did `import tensorflow as tf`

    assert tf.data.AUTOTUNE == AUTOTUNE == -1
    assert tf.data.Dataset is Dataset


def test_batch_stacks_elements_and_keeps_the_last_short_batch() -> None:
    batches = list(slices(10).batch(4))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    np.testing.assert_array_equal(batches[1][0], [[8, 9], [10, 11], [12, 13], [14, 15]])
    np.testing.assert_array_equal(batches[2][1], [8, 9])
    assert len(slices(10).batch(4, drop_remainder=True)) == 2


def test_elements_answer_numpy_like_tf_tensors() -> None:
    images, labels = slices(6).batch(3)[0]
    assert isinstance(images, NumpyTensor)
    assert images[0].numpy().astype("uint8").tolist() == [0, 1]
    assert type(labels.numpy()) is np.ndarray
    assert ["a", "b", "c"][labels[2]] == "c"  # labels index class-name lists, as tf tensors do


def test_shuffle_is_a_seeded_permutation_redrawn_each_pass() -> None:
    dataset = slices(20).shuffle(100, seed=4)
    first = [int(y) for _, y in dataset]
    second = [int(y) for _, y in dataset]
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != second
    assert first == [int(y) for _, y in slices(20).shuffle(100, seed=4)]
    fixed = slices(20).shuffle(100, seed=4, reshuffle_each_iteration=False)
    assert [int(y) for _, y in fixed] == [int(y) for _, y in fixed]


def test_map_unpacks_tuples_and_cache_reads_each_element_once() -> None:
    calls: list[int] = []

    def scale(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        calls.append(int(y))
        return x / 2, y

    dataset = slices(5).map(scale).cache()
    assert [float(x[0]) for x, _ in dataset] == [0.0, 1.0, 2.0, 3.0, 4.0]
    list(dataset)
    assert calls == [0, 1, 2, 3, 4]


def test_cache_after_shuffle_keeps_the_first_order_as_tf_data_does() -> None:
    dataset = slices(8).shuffle(8, seed=1).cache()
    assert [int(y) for _, y in dataset] == [int(y) for _, y in dataset]


def test_take_skip_unbatch_and_prefetch() -> None:
    dataset = slices(10)
    assert [int(y) for _, y in dataset.take(3)] == [0, 1, 2]
    assert [int(y) for _, y in dataset.skip(7)] == [7, 8, 9]
    assert len(dataset.take(-1)) == 10
    rebatched = dataset.batch(3).unbatch().batch(5)
    assert [y.tolist() for _, y in rebatched] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert dataset.prefetch(AUTOTUNE) is dataset
    assert dataset.batch(4).cardinality() == 3


def test_bad_arguments_say_what_was_expected() -> None:
    with pytest.raises(ValueError, match="same length"):
        Dataset.from_tensor_slices((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="positive integer"):
        slices().batch(0)
    with pytest.raises(IndexError, match="the dataset has 3"):
        slices(10).batch(4)[3]


def test_fit_evaluate_and_predict_read_a_dataset() -> None:
    import convscope.keras as keras

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6, 6, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0).astype(np.int64)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Conv2D(4, 3, activation="relu", input_shape=(6, 6, 1)),
                              keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train = Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(16).prefetch(AUTOTUNE)
    history = model.fit(train, epochs=2, verbose=0, validation_data=Dataset.from_tensor_slices((x, y)).batch(32))
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["val_loss"]).all()
    loss, accuracy = model.evaluate(Dataset.from_tensor_slices((x, y)).batch(32), verbose=0)
    expected_loss, expected_accuracy = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(expected_loss, rel=1e-5) and accuracy == pytest.approx(expected_accuracy)
    predictions = model.predict(Dataset.from_tensor_slices(x).batch(10), verbose=0)
    np.testing.assert_allclose(predictions, model.predict(x, verbose=0), atol=1e-6)
