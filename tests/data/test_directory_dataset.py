"""image_dataset_from_directory: listing, shuffling and splitting as Keras does, label modes,
pixels, and training from the dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from convscope.data.directory_dataset import image_dataset_from_directory


def write_folder(root: Path, counts: dict[str, int], size: tuple[int, int] = (6, 5)) -> None:
    """`root/<class>/<i>.png`: RGB images whose red channel is 10 * class index + i."""
    for label, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True)
        for index in range(count):
            pixels = np.zeros((*size, 3), dtype=np.uint8)
            pixels[..., 0] = 10 * label + index
            pixels[..., 1] = 200
            Image.fromarray(pixels, "RGB").save(root / name / f"{index:02d}.png")


def red_values(dataset: object) -> list[int]:
    return [int(image[0, 0, 0]) for images, _ in dataset for image in images]  # type: ignore[attr-defined]


def test_batches_of_float_images_and_int_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_folder(tmp_path, {"cats": 3, "dogs": 4})
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    dataset = image_dataset_from_directory(tmp_path, image_size=(6, 5), batch_size=4, shuffle=False)
    assert "Found 7 files belonging to 2 classes." in capsys.readouterr().out
    assert dataset.class_names == ["cats", "dogs"] and len(dataset) == 2
    images, labels = dataset[0]
    assert images.shape == (4, 6, 5, 3) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.tolist() == [0, 0, 0, 1]
    assert red_values(dataset) == [0, 1, 2, 10, 11, 12, 13]
    assert float(images[..., 1].max()) == 200.0  # 0..255, not rescaled


def test_label_modes(tmp_path: Path) -> None:
    write_folder(tmp_path, {"a": 2, "b": 2, "c": 2})
    categorical = image_dataset_from_directory(tmp_path, image_size=(6, 5), label_mode="categorical",
                                               shuffle=False, verbose=False)
    labels = categorical[0][1]
    assert labels.dtype == np.float32 and labels.tolist()[2:4] == [[0, 1, 0], [0, 1, 0]]
    images_only = image_dataset_from_directory(tmp_path, image_size=(6, 5), labels=None, verbose=False)
    assert images_only.class_names is None and images_only[0].shape == (6, 6, 5, 3)
    with pytest.raises(ValueError, match="exactly 2 classes"):
        image_dataset_from_directory(tmp_path, label_mode="binary", verbose=False)
    two = tmp_path / "two"
    write_folder(two, {"no": 1, "yes": 2})
    binary = image_dataset_from_directory(two, image_size=(6, 5), label_mode="binary", shuffle=False, verbose=False)
    assert binary[0][1].shape == (3, 1) and binary[0][1].ravel().tolist() == [0, 1, 1]


def test_seeded_split_is_disjoint_and_covers_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_folder(tmp_path, {"cats": 6, "dogs": 4})
    arguments = {"image_size": (6, 5), "batch_size": 3, "validation_split": 0.3, "seed": 7}
    training = image_dataset_from_directory(tmp_path, subset="training", **arguments)
    validation = image_dataset_from_directory(tmp_path, subset="validation", **arguments)
    output = capsys.readouterr().out
    assert "Using 7 files for training." in output and "Using 3 files for validation." in output
    assert sorted(training.file_paths + validation.file_paths) == sorted(
        str(path) for path in tmp_path.glob("*/*.png"))
    assert not set(training.file_paths) & set(validation.file_paths)
    both = image_dataset_from_directory(tmp_path, subset="both", **arguments)
    assert [d.file_paths for d in both] == [training.file_paths, validation.file_paths]
    # the files' order is Keras's: np.random.RandomState(seed).shuffle over the sorted listing
    listing = [str(tmp_path / name / f"{i:02d}.png") for name, count in (("cats", 6), ("dogs", 4))
               for i in range(count)]
    np.random.RandomState(7).shuffle(listing)
    assert training.file_paths + validation.file_paths == listing


def test_training_order_is_reshuffled_each_pass(tmp_path: Path) -> None:
    write_folder(tmp_path, {"cats": 8, "dogs": 8})
    dataset = image_dataset_from_directory(tmp_path, image_size=(6, 5), batch_size=4, seed=1, verbose=False)
    first, second = red_values(dataset), red_values(dataset)
    assert sorted(first) == sorted(second) and first != second


def test_resizing_and_colour_modes(tmp_path: Path) -> None:
    write_folder(tmp_path, {"cats": 1}, size=(2, 2))
    bilinear = image_dataset_from_directory(tmp_path, image_size=(4, 4), shuffle=False, verbose=False)[0][0]
    assert bilinear.shape == (1, 4, 4, 3) and float(bilinear[0, 1, 1, 1]) == 200.0
    nearest = image_dataset_from_directory(tmp_path, image_size=3, interpolation="nearest", verbose=False)[0][0]
    assert nearest.shape == (1, 3, 3, 3) and nearest.dtype == np.uint8  # as tf.image.resize gives
    grey = image_dataset_from_directory(tmp_path, image_size=(2, 2), color_mode="grayscale", verbose=False)
    assert grey[0][0].shape == (1, 2, 2, 1)


def test_arguments_are_checked(tmp_path: Path) -> None:
    write_folder(tmp_path, {"cats": 2})
    with pytest.raises(ValueError, match="pass seed="):
        image_dataset_from_directory(tmp_path, validation_split=0.5, subset="training")
    with pytest.raises(ValueError, match="go together"):
        image_dataset_from_directory(tmp_path, validation_split=0.5)
    with pytest.raises(ValueError, match="not a folder"):
        image_dataset_from_directory(tmp_path / "missing")
    with pytest.raises(ValueError, match="not all subfolders"):
        image_dataset_from_directory(tmp_path, class_names=["cats", "dogs"])
    with pytest.raises(ValueError, match="interpolation"):
        image_dataset_from_directory(tmp_path, interpolation="gaussian")


def test_the_tutorial_chain_trains_a_model(tmp_path: Path) -> None:
    import convscope as tf  # the spelling of a script that did `import tensorflow as tf`

    write_folder(tmp_path, {"dark": 8, "light": 8})
    train_ds = tf.keras.utils.image_dataset_from_directory(tmp_path, validation_split=0.25, subset="training",
                                                           seed=3, image_size=(6, 5), batch_size=4)
    val_ds = tf.keras.utils.image_dataset_from_directory(tmp_path, validation_split=0.25, subset="validation",
                                                         seed=3, image_size=(6, 5), batch_size=4)
    train_ds = train_ds.cache().shuffle(1000).prefetch(buffer_size=tf.data.AUTOTUNE)
    normalized = train_ds.map(lambda x, y: (x / 255.0, y))
    model = tf.keras.Sequential([tf.keras.layers.Conv2D(2, 3, activation="relu", input_shape=(6, 5, 3)),
                                 tf.keras.layers.Flatten(), tf.keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(normalized, validation_data=val_ds.map(lambda x, y: (x / 255.0, y)), epochs=2, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert model.predict(val_ds, verbose=0).shape == (4, 2)
