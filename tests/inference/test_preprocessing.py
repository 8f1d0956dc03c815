"""Preprocessing read from training data, and its record in a run's config.json."""

from __future__ import annotations

import numpy as np

from convscope.inference import Preprocessing, infer_preprocessing, input_scale


def test_mnist_like_digits_are_centred_in_their_box() -> None:
    rng = np.random.default_rng(0)
    digits = np.zeros((50, 28, 28, 1), np.uint8)
    for image in digits:  # 20-pixel-tall strokes centred in dark 28x28 frames, like MNIST
        column = rng.integers(8, 20)
        image[4:24, column:column + 3] = 255
    assert infer_preprocessing(digits) == Preprocessing((28, 28, 1), 1 / 255, "dark", "center", 20)


def test_content_reaching_the_border_keeps_its_framing() -> None:
    clothes = np.zeros((20, 28, 28, 1), np.uint8)
    clothes[:, 2:26, 4:24] = 200  # touches two of the four borders, like Fashion-MNIST's shirts
    clothes[:, 0, 4:24] = 200
    preprocessing = infer_preprocessing(clothes)
    assert (preprocessing.background, preprocessing.fit) == ("dark", "resize")


def test_signals_and_photos_are_used_as_they_are() -> None:
    rng = np.random.default_rng(0)
    signals = infer_preprocessing(rng.normal(size=(10, 40, 1)).astype(np.float32))
    assert signals == Preprocessing((40, 1), 1.0, "mixed", "resize", 0) and not signals.is_image
    photos = infer_preprocessing(rng.integers(0, 256, (10, 32, 32, 3)).astype(np.uint8))
    assert (photos.background, photos.fit, photos.scale) == ("mixed", "resize", 1 / 255)


def test_input_scale_follows_the_dtype() -> None:
    assert input_scale(np.zeros(3, np.uint8)) == 1 / 255 and input_scale(np.zeros(3, np.int64)) == 1 / 255
    assert input_scale(np.zeros(3, np.float32)) == 1.0


def test_the_record_keeps_its_key_names_and_fills_missing_ones() -> None:
    preprocessing = Preprocessing((28, 28, 1), 1 / 255, "light", "center", 18)
    record = preprocessing.to_dict()
    assert record == {"shape": [28, 28, 1], "scale": 1 / 255, "background": "light", "fit": "center", "box": 18}
    assert Preprocessing.from_dict(record) == preprocessing
    assert Preprocessing.from_dict({"shape": [40, 1], "scale": 1.0}) == Preprocessing((40, 1), 1.0, "dark", "center", 20)
    assert Preprocessing.for_shape((40, 1)) == Preprocessing((40, 1), 1.0, "mixed", "resize", 0)
    assert Preprocessing.for_shape((28, 28, 1)) == Preprocessing((28, 28, 1))
