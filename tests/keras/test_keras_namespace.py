from __future__ import annotations

import numpy as np


def test_namespace_paths_resolve() -> None:
    import convscope.keras as keras
    from convscope import keras as same

    assert keras is same
    assert keras.Sequential is keras.models.Sequential
    assert keras.layers.Conv2D is __import__("convscope").layers.Conv2D
    assert keras.utils.to_categorical is keras.utils.np_utils.to_categorical
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 2], 3), [[1, 0, 0], [0, 0, 1]])
    assert keras.optimizers.Adam().learning_rate == 0.001
    assert keras.optimizers.SGD(momentum=0.9).options["momentum"] == 0.9
    assert callable(keras.callbacks.EarlyStopping)


def test_weights_move_in_keras_layout() -> None:
    """Arrays shaped as Keras stores them load unchanged and come back unchanged."""
    import convscope.keras as keras

    model = keras.Sequential([keras.layers.Conv2D(3, (2, 2), input_shape=(5, 5, 2)), keras.layers.Flatten(),
                              keras.layers.Dense(4)])
    rng = np.random.default_rng(0)
    keras_weights = [rng.normal(size=(2, 2, 2, 3)), rng.normal(size=3), rng.normal(size=(48, 4)), rng.normal(size=4)]
    model.set_weights(keras_weights)
    for given, back in zip(keras_weights, model.get_weights(), strict=True):
        np.testing.assert_allclose(back, given, rtol=1e-6)
