"""MNIST-1D end to end through the public API: load, build a Conv1D model, train, evaluate.

Greydanus' paper reports about 94% test accuracy for its CNN (68% for its MLP) on this
split; a small convolutional network with global max pooling (shift-invariant, as the digits
are translated at random) clears that in a dozen epochs.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from convscope import datasets


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Run on one intra-op thread, then restore. The batches are tiny: on a busy shared machine
    two spinning threads made each epoch about 20 times slower (32 s instead of 1.7 s)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_conv1d_model_reaches_the_papers_cnn_accuracy(one_torch_thread: None) -> None:
    from convscope import Sequential, layers, optimizers, set_seed

    (x_train, y_train), (x_test, y_test) = datasets.load("mnist1d")
    assert x_train.shape == (4000, 40, 1) and x_test.shape == (1000, 40, 1)
    set_seed(1)
    model = Sequential([
        layers.Input((40, 1)),
        layers.Conv1D(32, 5, activation="relu", padding="same"),
        layers.Conv1D(32, 5, activation="relu", padding="same"),
        layers.MaxPooling1D(2),                                    # (20, 32)
        layers.Conv1D(64, 3, activation="relu", padding="same"),
        layers.Conv1D(64, 3, activation="relu", padding="same"),
        layers.GlobalMaxPooling1D(),                               # (64,)
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=optimizers.Adam(learning_rate=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=12, batch_size=64, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"MNIST-1D test accuracy {accuracy:.4f}, loss {loss:.4f}")
    assert accuracy >= 0.94
    assert np.isfinite(loss) and loss < 0.3
