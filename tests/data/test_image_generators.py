"""ImageDataGenerator: transforms, normalization, flow / flow_from_directory iterators, and the
image helpers (load_img, img_to_array, array_to_img)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convscope.data.image_generators import ImageDataGenerator
from convscope.data.images import array_to_img, img_to_array, load_img, resize


def grid(height: int = 3, width: int = 4) -> np.ndarray:
    return np.arange(height * width, dtype=np.float32).reshape(height, width, 1)


def write_folder(root: Path, counts: dict[str, int], size: tuple[int, int] = (8, 6)) -> None:
    """`root/<class>/<i>.png`: grey images whose every pixel is 10 * class index + i."""
    for label, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for index in range(count):
            pixels = np.full((size[0], size[1]), 10 * label + index, dtype=np.uint8)
            Image.fromarray(pixels, "L").save(root / name / f"{index}.png")


def test_a_transform_that_moves_nothing_returns_the_image() -> None:
    image = grid()
    np.testing.assert_array_equal(ImageDataGenerator().apply_transform(image, {}), image)


def test_a_quarter_turn_of_a_square_image_is_rot90() -> None:
    square = grid(3, 3)
    turned = ImageDataGenerator().apply_transform(square, {"theta": 90})
    np.testing.assert_allclose(turned[..., 0], np.rot90(square[..., 0]), atol=1e-5)


def test_shifts_fill_with_cval_in_constant_mode() -> None:
    generator = ImageDataGenerator(fill_mode="constant", cval=-1.0)
    # Keras's matrix swaps its axes: the height shift (tx) moves columns, and so does convscope
    shifted = generator.apply_transform(grid(), {"tx": 1})
    np.testing.assert_array_equal(shifted[..., 0], [[1, 2, 3, -1], [5, 6, 7, -1], [9, 10, 11, -1]])
    down = generator.apply_transform(grid(), {"ty": -1})
    np.testing.assert_array_equal(down[..., 0], [[-1, -1, -1, -1], [0, 1, 2, 3], [4, 5, 6, 7]])


def test_flips_and_channel_shift() -> None:
    generator = ImageDataGenerator()
    np.testing.assert_array_equal(generator.apply_transform(grid(), {"flip_horizontal": True})[0, :, 0], [3, 2, 1, 0])
    np.testing.assert_array_equal(generator.apply_transform(grid(), {"flip_vertical": True})[0, :, 0], [8, 9, 10, 11])
    shifted = generator.apply_transform(grid(), {"channel_shift_intensity": 5.0})
    np.testing.assert_array_equal(shifted[:, :, 0], np.clip(grid()[:, :, 0] + 5, 0, 11))


def test_random_parameters_follow_the_ranges() -> None:
    generator = ImageDataGenerator(rotation_range=20, width_shift_range=0.25, zoom_range=[0.5, 0.6],
                                   horizontal_flip=True)
    drawn = [generator.get_random_transform((8, 12, 1), seed=seed) for seed in range(50)]
    assert all(-20 <= p["theta"] <= 20 for p in drawn)
    assert all(-3 <= p["ty"] <= 3 for p in drawn)  # a quarter of the width, 12
    assert all(0.5 <= p["zx"] <= 0.6 and 0.5 <= p["zy"] <= 0.6 for p in drawn)
    assert {p["flip_horizontal"] for p in drawn} == {True, False}
    assert all(p["tx"] == 0 and not p["flip_vertical"] for p in drawn)
    assert generator.get_random_transform((8, 12, 1), seed=3) == drawn[3]


def test_standardize_in_keras_order() -> None:
    generator = ImageDataGenerator(rescale=0.5, samplewise_center=True, preprocessing_function=lambda x: x + 2)
    out = generator.standardize(grid().copy())
    np.testing.assert_allclose(out, (grid() + 2) * 0.5 - np.mean((grid() + 2) * 0.5))


def test_featurewise_statistics_come_from_fit() -> None:
    x = np.random.default_rng(0).normal(3.0, 2.0, (50, 4, 4, 3)).astype(np.float32)
    generator = ImageDataGenerator(featurewise_std_normalization=True)  # implies featurewise_center
    with pytest.warns(UserWarning, match="has not been fit"):
        generator.standardize(x[0].copy())
    generator.fit(x)
    assert generator.mean is not None and generator.std is not None
    np.testing.assert_allclose(generator.mean.ravel(), x.mean(axis=(0, 1, 2)), rtol=1e-5)
    batch, = [generator.flow(x, batch_size=50, shuffle=False)[0]]
    np.testing.assert_allclose(batch.mean(axis=(0, 1, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(batch.std(axis=(0, 1, 2)), 1, atol=1e-3)


def test_flow_batches_are_reproducible_with_a_seed() -> None:
    x = np.random.default_rng(1).random((20, 6, 6, 1)).astype(np.float32)
    y = np.arange(20)
    generator = ImageDataGenerator(rotation_range=30, zoom_range=0.2, horizontal_flip=True)
    first, again, other = (generator.flow(x, y, batch_size=8, seed=seed) for seed in (5, 5, 6))
    assert len(first) == 3
    for index in range(3):
        np.testing.assert_array_equal(first[index][0], again[index][0])
        np.testing.assert_array_equal(first[index][1], again[index][1])
    assert not np.array_equal(first[0][0], other[0][0])
    assert sorted(np.concatenate([first[i][1] for i in range(3)]).tolist()) == list(range(20))
    next_batch = next(generator.flow(x, y, batch_size=8, seed=5))
    assert next_batch[0].shape == (8, 6, 6, 1)


def test_flow_subsets_take_the_first_fraction_for_validation() -> None:
    x = np.zeros((10, 4, 4, 1), dtype=np.float32)
    y = np.array([0, 1] * 5)
    generator = ImageDataGenerator(validation_split=0.4)
    validation = generator.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    training = generator.flow(x, y, batch_size=10, shuffle=False, subset="training")
    assert validation[0][1].tolist() == [0, 1, 0, 1] and len(training[0][1]) == 6
    with pytest.raises(ValueError, match="different classes"):
        generator.flow(x, np.array([0] * 4 + [1] * 6), subset="validation")
    with pytest.raises(ValueError, match=r"reshape\(-1, 4, 4, 1\)"):
        generator.flow(np.zeros((10, 4, 4)), y)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="channels_last"):
        ImageDataGenerator(data_format="channels_first")
    with pytest.raises(ValueError, match="fill_mode"):
        ImageDataGenerator(fill_mode="mirror")
    with pytest.raises(ValueError, match="zoom_range"):
        ImageDataGenerator(zoom_range=[1, 2, 3])
    with pytest.raises(ValueError, match="validation_split"):
        ImageDataGenerator(validation_split=1.5)


def test_flow_from_directory_labels_and_splits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_folder(tmp_path, {"cats": 4, "dogs": 6})
    (tmp_path / ".ipynb_checkpoints").mkdir()  # hidden folders are not classes
    generator = ImageDataGenerator(rescale=1.0, validation_split=0.5)
    iterator = generator.flow_from_directory(tmp_path, target_size=(8, 6), color_mode="grayscale",
                                             class_mode="sparse", batch_size=20, shuffle=False)
    assert "Found 10 images belonging to 2 classes." in capsys.readouterr().out
    images, labels = iterator[0]
    assert iterator.class_indices == {"cats": 0, "dogs": 1}
    assert images.shape == (10, 8, 6, 1) and labels.tolist() == [0] * 4 + [1] * 6
    np.testing.assert_array_equal(images[:, 0, 0, 0], [0, 1, 2, 3, 10, 11, 12, 13, 14, 15])
    validation = generator.flow_from_directory(tmp_path, target_size=(8, 6), color_mode="grayscale",
                                               class_mode="categorical", shuffle=False, subset="validation")
    assert validation.samples == 5 and validation.filenames[:2] == ["cats/0.png", "cats/1.png"]
    np.testing.assert_array_equal(validation[0][1].argmax(axis=1), [0, 0, 1, 1, 1])
    rgb, = [generator.flow_from_directory(tmp_path, target_size=(4, 3), class_mode=None, batch_size=3)[0]]
    assert rgb.shape == (3, 4, 3, 3)


def test_models_train_on_generator_batches() -> None:
    import convscope.keras as keras

    rng = np.random.default_rng(0)
    x = rng.random((40, 8, 8, 1)).astype(np.float32)
    y = keras.utils.to_categorical((x[:, :4].mean(axis=(1, 2, 3)) > 0.5).astype(int), 2)
    model = keras.Sequential([keras.layers.Conv2D(2, 3, input_shape=(8, 8, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    generator = ImageDataGenerator(width_shift_range=0.1, validation_split=0.25)
    history = model.fit(generator.flow(x, y, batch_size=10, seed=0, subset="training"), epochs=2, verbose=0,
                        validation_data=generator.flow(x, y, batch_size=10, subset="validation"))
    assert len(history.history["val_accuracy"]) == 2
    plain = ImageDataGenerator().flow(x, y, batch_size=16, shuffle=False)
    loss, _ = model.evaluate(plain, verbose=0)
    assert loss == pytest.approx(model.evaluate(x, y, verbose=0)[0], rel=1e-5)
    assert model.predict(ImageDataGenerator().flow(x, batch_size=16, shuffle=False), verbose=0).shape == (40, 2)


def test_image_files_to_arrays_and_back(tmp_path: Path) -> None:
    pixels = np.random.default_rng(2).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(tmp_path / "image.png")
    array = img_to_array(load_img(tmp_path / "image.png"))
    assert array.dtype == np.float32 and array.shape == (5, 7, 3)
    np.testing.assert_array_equal(array, pixels)
    grey = img_to_array(load_img(tmp_path / "image.png", color_mode="grayscale", target_size=(10, 14)))
    assert grey.shape == (10, 14, 1)
    np.testing.assert_array_equal(np.asarray(array_to_img(array, scale=False)), pixels)
    stretched = np.asarray(array_to_img(np.array([[[0.0], [0.5], [1.0]]])))
    assert stretched.tolist() == [[0, 127, 255]]
    with pytest.raises(ValueError, match="x\\[0\\]"):
        array_to_img(np.zeros((2, 5, 7, 3)))


def test_resize_follows_tensorflow_half_pixel_arithmetic() -> None:
    image = np.array([[0.0, 4.0]], dtype=np.float32).reshape(1, 2, 1)
    np.testing.assert_array_equal(resize(image, (1, 4), "bilinear")[0, :, 0], [0, 1, 3, 4])
    np.testing.assert_array_equal(resize(image, (1, 4), "nearest")[0, :, 0], [0, 0, 4, 4])
    np.testing.assert_array_equal(resize(np.arange(6.0).reshape(1, 6, 1), (1, 3), "bilinear")[0, :, 0], [0.5, 2.5, 4.5])
