"""Keras's `image_dataset_from_directory`: a dataset of (images, labels) batches read from
`directory/<class name>/<image files>`.

The files are listed and shuffled as Keras lists and shuffles them (so a seed gives Keras's
training/validation split, file for file), then read with Pillow and resized with
TensorFlow's arithmetic each time a batch is read. Images come as float32 0..255.

>>> train_ds = image_dataset_from_directory("flowers/", validation_split=0.2, subset="training",
...                                         seed=123, image_size=(180, 180), batch_size=32)
>>> train_ds.class_names
['daisy', 'roses', 'tulips']
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from convscope.data import images
from convscope.data.pipeline import Dataset, Elements, as_tensors

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
LABEL_MODES = ("int", "categorical", "binary", None)
INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3")
SUBSETS = ("training", "validation", "both", None)


def _check_arguments(labels: Any, label_mode: str | None, class_names: list[str] | None,
                     validation_split: float | None, subset: str | None, shuffle: bool, seed: int | None,
                     interpolation: str) -> None:
    where = "image_dataset_from_directory"
    if labels not in ("inferred", None) and not isinstance(labels, (list, tuple)):
        raise ValueError(f"{where}: labels must be 'inferred', None, or a list of integer labels (one per file, "
                         f"in the sorted order of the file paths); got {labels!r}.")
    if labels not in ("inferred", None) and class_names:
        raise ValueError(f"{where}: class_names can only be given with labels='inferred'.")
    if label_mode not in LABEL_MODES:
        raise ValueError(f"{where}: label_mode must be 'int', 'categorical', 'binary' or None; got {label_mode!r}.")
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"{where}: interpolation must be one of {', '.join(INTERPOLATIONS)}; got {interpolation!r}.")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"{where}: validation_split must be between 0 and 1; got {validation_split!r}.")
    if bool(validation_split) != bool(subset):
        raise ValueError(f"{where}: subset and validation_split go together; got validation_split="
                         f"{validation_split!r}, subset={subset!r}.")
    if subset not in SUBSETS:
        raise ValueError(f"{where}: subset must be 'training', 'validation' or 'both'; got {subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ValueError(f"{where}: with validation_split and shuffle=True, pass seed= (the same in both calls) so "
                         "that the training and validation subsets do not overlap.")


def index_directory(directory: str | os.PathLike[str], labels: Any, class_names: list[str] | None,
                    shuffle: bool, seed: int, follow_links: bool = False,
                    ) -> tuple[list[str], np.ndarray | None, list[str] | None]:
    """(file paths, labels, class names) in Keras's order, shuffled with `seed` when `shuffle`;
    prints "Found N files belonging to C classes."."""
    where = "image_dataset_from_directory"
    if labels == "inferred":
        found = images.class_subfolders(directory, where)
        if class_names is not None and not set(class_names) <= set(found):
            raise ValueError(f"{where}: class_names {class_names} are not all subfolders of {directory}; its "
                             f"subfolders are {found}.")
        folders = list(class_names) if class_names is not None else found
    else:
        folders = [""]
    paths: list[str] = []
    found_labels: list[int] = []
    for label, folder in enumerate(folders):
        files = [str(path) for path in images.image_files(Path(directory) / folder, IMAGE_SUFFIXES, follow_links)]
        paths += [os.path.join(directory, os.path.relpath(path, directory)) for path in files]
        found_labels += [label] * len(files)
    array_labels: np.ndarray | None = np.asarray(found_labels, dtype="int32")
    names: list[str] | None = folders
    if labels is None:
        array_labels, names = None, None
        print(f"Found {len(paths)} files.")
    else:
        if labels != "inferred":
            if len(labels) != len(paths):
                raise ValueError(f"{where}: {len(labels)} labels were given for the {len(paths)} files in "
                                 f"{directory}; give one label per file.")
            array_labels = np.asarray(labels)
            names = [str(label) for label in sorted(set(labels))]
        print(f"Found {len(paths)} files belonging to {len(names or [])} classes.")
    if shuffle:  # two generators with the same seed shuffle paths and labels alike (Keras's way)
        np.random.RandomState(seed).shuffle(paths)
        if array_labels is not None:
            np.random.RandomState(seed).shuffle(array_labels)
    return paths, array_labels, names


def split(paths: list[str], labels: np.ndarray | None, validation_split: float | None,
          subset: str) -> tuple[list[str], np.ndarray | None]:
    """Keras's split: the last `validation_split` of the (shuffled) files are for validation."""
    if not validation_split:
        return paths, labels
    count = int(validation_split * len(paths))
    if subset == "training":
        print(f"Using {len(paths) - count} files for training.")
        part = slice(None, len(paths) - count)
    else:
        print(f"Using {count} files for validation.")
        part = slice(len(paths) - count, None)
    return paths[part], None if labels is None else labels[part]


def read_image(path: str, image_size: tuple[int, int], color_mode: str, interpolation: str,
               crop_to_aspect_ratio: bool) -> np.ndarray:
    """One file as (height, width, channels), resized as tf.image.resize does (float32; uint8
    for "nearest", as TensorFlow gives)."""
    mode = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}[color_mode]
    from PIL import Image

    try:
        with Image.open(path) as opened:
            image = opened.convert(mode) if opened.mode != mode else opened.copy()
    except OSError as error:
        raise ValueError(f"image_dataset_from_directory: {path} cannot be read as an image ({error}).") from error
    if crop_to_aspect_ratio:
        box = images.centre_crop_box(image.size, (image_size[1], image_size[0]))
        image = image.crop(box)
    pixels = np.asarray(image)
    pixels = pixels[..., np.newaxis] if pixels.ndim == 2 else pixels
    return images.resize(pixels, image_size, interpolation)


def encode_labels(labels: np.ndarray, label_mode: str, num_classes: int) -> np.ndarray:
    """int32 indices, float32 one-hot ("categorical"), or float32 (N, 1) ("binary")."""
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[labels]
    if label_mode == "binary":
        return labels.astype(np.float32).reshape(-1, 1)
    return labels.astype(np.int32)


def files_dataset(paths: list[str], labels: np.ndarray | None, *, label_mode: str | None, num_classes: int,
                  image_size: tuple[int, int], color_mode: str, interpolation: str, crop_to_aspect_ratio: bool,
                  batch_size: int | None, shuffle: bool, seed: int | None) -> Dataset:
    """Batches of (images, labels) (images alone without labels) read from `paths`."""
    encoded = None if labels is None or label_mode is None else encode_labels(labels, label_mode, num_classes)

    def read(index: int) -> Any:
        image = read_image(paths[index], image_size, color_mode, interpolation, crop_to_aspect_ratio)
        return as_tensors(image if encoded is None else (image, encoded[index]))

    dataset: Dataset = Elements(len(paths), read)
    if shuffle:
        dataset = dataset.shuffle(buffer_size=(batch_size or 128) * 8, seed=seed)
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset.file_paths = paths
    return dataset


def image_dataset_from_directory(
    directory: str | os.PathLike[str], labels: Any = "inferred", label_mode: str | None = "int",
    class_names: list[str] | None = None, color_mode: str = "rgb", batch_size: int | None = 32,
    image_size: tuple[int, int] | int = (256, 256), shuffle: bool = True, seed: int | None = None,
    validation_split: float | None = None, subset: str | None = None, interpolation: str = "bilinear",
    follow_links: bool = False, crop_to_aspect_ratio: bool = False, data_format: str | None = None,
    verbose: bool = True,
) -> Dataset | list[Dataset]:
    """A dataset of `(images, labels)` batches from one subfolder of images per class.

    Args:
        labels: "inferred" (from the subfolders), None (images only), or one integer per file.
        label_mode: "int" (int32 (B,)), "categorical" (float32 one-hot (B, C)), "binary"
            (float32 (B, 1), two classes), or None (images only).
        class_names: the subfolders to use, in label order (default: all, sorted).
        color_mode: "grayscale", "rgb" or "rgba" (1, 3 or 4 channels).
        image_size: (height, width) every image is resized to.
        validation_split, subset: hold out the last fraction of the shuffled files;
            subset "training", "validation" or "both" (a list [training, validation]).

    Returns:
        A `Dataset` with `.class_names` and `.file_paths`; images are float32 (B, H, W, C) in 0..255.

    Raises:
        ValueError: bad arguments, a missing folder, no images, or a subset without a seed.
    """
    images.check_data_format(data_format, "image_dataset_from_directory")
    _check_arguments(labels, label_mode, class_names, validation_split, subset, shuffle, seed, interpolation)
    images.check_color_mode(color_mode, "image_dataset_from_directory")
    size = (image_size, image_size) if isinstance(image_size, int) else (int(image_size[0]), int(image_size[1]))
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    seed = int(np.random.randint(10**6)) if seed is None else seed
    with contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO()):
        paths, found, names = index_directory(directory, labels, class_names, shuffle, seed, follow_links)
        if label_mode == "binary" and len(names or []) != 2:
            raise ValueError(f"image_dataset_from_directory: label_mode='binary' needs exactly 2 classes; found "
                             f"{names}.")
        parts = ["training", "validation"] if subset == "both" else [subset or "training"]
        datasets = []
        for part in parts:
            part_paths, part_labels = split(paths, found, validation_split, part)
            if not part_paths:
                raise ValueError(f"image_dataset_from_directory: no {part} images found in {directory} (files ending "
                                 f"{', '.join(IMAGE_SUFFIXES)} in one subfolder per class).")
            dataset = files_dataset(part_paths, part_labels, label_mode=label_mode, num_classes=len(names or []),
                                    image_size=size, color_mode=color_mode, interpolation=interpolation,
                                    crop_to_aspect_ratio=crop_to_aspect_ratio, batch_size=batch_size,
                                    shuffle=shuffle and (subset != "both" or part == "training"), seed=seed)
            dataset.class_names = names
            datasets.append(dataset)
    return datasets if subset == "both" else datasets[0]
