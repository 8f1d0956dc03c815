"""Seeding and session reset as Keras and TensorFlow scripts write them:
keras.utils.set_random_seed, `import convscope as tf; tf.random.set_seed`, keras.backend.clear_session."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import torch

import convscope as tf
import convscope.keras as keras


def fresh_weights() -> list[np.ndarray]:
    model = keras.Sequential([keras.layers.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(),
                              keras.layers.Dense(3)])
    return model.get_weights()


def augmented() -> torch.Tensor:
    return keras.layers.RandomRotation(0.2)(torch.arange(32.0).reshape(2, 4, 4, 1))  # unseeded: global generator


def test_tf_random_set_seed_repeats_weights_and_augmentation() -> None:
    tf.random.set_seed(3)
    first_weights, first_images = fresh_weights(), augmented()
    tf.random.set_seed(3)
    second_weights, second_images = fresh_weights(), augmented()
    for a, b in zip(first_weights, second_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert torch.equal(first_images, second_images)
    tf.random.set_seed(4)
    assert not np.array_equal(fresh_weights()[0], first_weights[0])


def test_keras_set_random_seed_repeats_numpy_and_torch_draws() -> None:
    keras.utils.set_random_seed(11)
    first = (np.random.rand(3), torch.rand(3))
    keras.utils.set_random_seed(11)
    second = (np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(first[0], second[0])
    assert torch.equal(first[1], second[1])


def test_clear_session_collects_unreachable_models() -> None:
    gc.disable()
    try:
        model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2)])
        model.references = [model]  # a cycle: only the cycle collector can free it
        alive = weakref.ref(model)
        del model
        assert alive() is not None
        keras.backend.clear_session()
        assert alive() is None
    finally:
        gc.enable()
