"""Training on the real datasets through the public API (slow: minutes on 2 cores)."""

from __future__ import annotations

import pytest

from convscope import Sequential, datasets, layers, set_seed


def seed_cnn() -> Sequential:
    return Sequential([
        layers.Conv2D(64, (3, 3), activation="relu", input_shape=(28, 28, 1)),
        layers.MaxPooling2D(2, 2),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.MaxPooling2D(2, 2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])


@pytest.mark.slow
def test_seed_cnn_fashion_mnist_two_epochs(fashion_dir) -> None:
    set_seed(0)
    (x_train, y_train), (x_test, y_test) = datasets.load("fashion_mnist", path=fashion_dir)
    model = seed_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train / 255.0, y_train, batch_size=128, epochs=2, verbose=0)
    _, accuracy = model.evaluate(x_test / 255.0, y_test, verbose=0)
    assert accuracy >= 0.88


@pytest.mark.slow
def test_seed_cnn_mnist_one_epoch(shared_data_dir) -> None:
    set_seed(0)
    (x_train, y_train), (x_test, y_test) = datasets.load("mnist", path=shared_data_dir / "mnist")
    model = seed_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train / 255.0, y_train, batch_size=128, epochs=1, verbose=0)
    _, accuracy = model.evaluate(x_test / 255.0, y_test, verbose=0)
    assert accuracy >= 0.98
