"""The seeds' Keras code, run through convscope with only the import lines changed.

Spelling mistakes in the seeds are fixed (Sequencial -> Sequential, `activation+'relu'` ->
`activation='relu'`, `input_shape(28,28,1)` -> `input_shape=(28,28,1)`); nothing else.
"""

from __future__ import annotations

import numpy as np
import pytest


def test_seed_004_model_with_tf_keras_spelling() -> None:
    import convscope as tf  # was: import tensorflow as tf

    model = tf.keras.models.Sequential([
        tf.keras.layers.Conv2D(64, (3, 3), activation='relu', input_shape=(28, 28, 1)),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(64, (3, 3), activation='relu'),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(128, activation='relu'),
        tf.keras.layers.Dense(10, activation='softmax')
    ])
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for expected in ("(None, 26, 26, 64)", "(None, 13, 13, 64)", "(None, 11, 11, 64)", "(None, 5, 5, 64)",
                     "(None, 1600)", "Total params: 243,786"):
        assert expected in text
    assert isinstance(model, __import__("torch").nn.Module)


def test_seed_002_preparation(shared_data_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVSCOPE_DATA_DIR", str(shared_data_dir))
    import random

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from convscope.keras.datasets import mnist  # was: from keras.datasets import mnist
    from convscope.keras.layers import Dense  # noqa: F401  was: from keras.layers import Dense
    from convscope.keras.models import Sequential  # noqa: F401  was: from keras.models import Sequential
    from convscope.keras.optimizers import Adam  # noqa: F401  was: from keras.optimizers import Adam
    from convscope.keras.utils.np_utils import (
        to_categorical,  # was: from keras.utils.np_utils import ...
    )

    np.random.seed(0)
    (X_train, y_train), (X_test, y_test) = mnist.load_data()

    print(X_train.shape)
    print(X_test.shape)
    assert(X_train.shape[0] == y_train.shape[0]), "The number of images is not equal to the number of labels."
    assert(X_train.shape[1:] == (28, 28)), "The dimensions of the images are not 28 x 28."
    assert(X_test.shape[0] == y_test.shape[0]), "The number of images is not equal to the number of labels."
    assert(X_test.shape[1:] == (28, 28)), "The dimensions of the images are not 28 x 28."

    num_of_samples = []
    cols = 5
    num_classes = 10
    fig, axs = plt.subplots(nrows=num_classes, ncols=cols, figsize=(5, 10))
    fig.tight_layout()
    for i in range(cols):
        for j in range(num_classes):
            x_selected = X_train[y_train == j]
            axs[j][i].imshow(x_selected[random.randint(0, (len(x_selected) - 1)), :, :], cmap=plt.get_cmap('gray'))
            axs[j][i].axis("off")
            if i == 2:
                axs[j][i].set_title(str(j))
                num_of_samples.append(len(x_selected))
    plt.close(fig)

    X_train = X_train.reshape(60000, 28, 28, 1)
    X_test = X_test.reshape(10000, 28, 28, 1)
    y_train = to_categorical(y_train, 10)
    y_test = to_categorical(y_test, 10)
    X_train = X_train/255
    X_test = X_test/255

    assert num_of_samples == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert X_train.dtype == np.float64 and X_train.max() == 1.0 and X_train.shape == (60000, 28, 28, 1)
    assert y_train.shape == (60000, 10) and y_test.sum() == 10000
