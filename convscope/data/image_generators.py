"""Keras's `ImageDataGenerator`: augmented batches from arrays (`flow`) or from a folder of
class subfolders (`flow_from_directory`).

The iterators are datasets of batches (`len` and `[index]`, as `keras.utils.PyDataset`), so
`fit`, `evaluate` and `predict` read them; iterating one with `next()` loops forever, as in
Keras. Random draws come from a NumPy random state reseeded with `seed + batches seen` before
every batch, in Keras's order, so a seeded iterator repeats Keras's own batches; without a
seed they come from NumPy's global state (seeded by `keras.utils.set_random_seed`).

>>> generator = ImageDataGenerator(rescale=1 / 255, rotation_range=10, horizontal_flip=True)
>>> model.fit(generator.flow(x_train, y_train, batch_size=32, seed=0), epochs=2)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from convscope.data import image_transforms, images
from convscope.data.image_transforms import Transform, TransformSettings

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff")  # Keras's list for this generator
CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


class ImageIterator:
    """Batches of samples 0..n-1 in a (reshuffled each epoch) order; subclasses make a batch."""

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed: int | None) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"{type(self).__name__}: batch_size must be a positive integer; got {batch_size!r}.")
        self.n, self.batch_size, self.shuffle, self.seed = n, batch_size, shuffle, seed
        self.batch_index = 0
        self.total_batches_seen = 0
        self.index_array: np.ndarray | None = None
        # a private state reseeded per batch when seeded (Keras reseeds NumPy's global one)
        self.random: Any = np.random.RandomState(seed) if seed is not None else np.random

    def __len__(self) -> int:
        return (self.n + self.batch_size - 1) // self.batch_size

    def __getitem__(self, index: int) -> Any:
        if not 0 <= index < len(self):
            raise IndexError(f"{type(self).__name__}: batch {index} asked for; there are {len(self)} batches.")
        self._reseed()
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        assert self.index_array is not None
        return self.batch(self.index_array[self.batch_size * index:self.batch_size * (index + 1)])

    def __iter__(self) -> ImageIterator:
        return self

    def __next__(self) -> Any:
        """The next batch of an endless pass (the order is redrawn after each full pass)."""
        self._reseed()
        if self.batch_index == 0 or self.index_array is None:
            self._set_index_array()
        assert self.index_array is not None
        start = (self.batch_index * self.batch_size) % self.n if self.n else 0
        self.batch_index = self.batch_index + 1 if self.n > start + self.batch_size else 0
        self.total_batches_seen += 1
        return self.batch(self.index_array[start:start + self.batch_size])

    def on_epoch_end(self) -> None:
        self._set_index_array()

    def reset(self) -> None:
        """Start the next `next()` pass from the first batch."""
        self.batch_index = 0

    def _reseed(self) -> None:
        if self.seed is not None:
            self.random.seed(self.seed + self.total_batches_seen)

    def _set_index_array(self) -> None:
        self.index_array = self.random.permutation(self.n) if self.shuffle else np.arange(self.n)

    def batch(self, indices: np.ndarray) -> Any:
        raise NotImplementedError

    def augment(self, generator: ImageDataGenerator, image: np.ndarray) -> np.ndarray:
        """One image through the generator: a random transform drawn from this iterator's state,
        then standardization."""
        transform = image_transforms.random_parameters(generator.settings, image.shape, self.random)
        return generator.standardize(generator.apply_transform(image, transform))


class NumpyArrayIterator(ImageIterator):
    """Batches `(x, y)` (or `x` alone) of augmented images from arrays; see `ImageDataGenerator.flow`."""

    def __init__(self, x: Any, y: Any, image_data_generator: ImageDataGenerator, batch_size: int = 32,
                 shuffle: bool = False, sample_weight: Any = None, seed: int | None = None,
                 save_to_dir: str | None = None, save_prefix: str = "", save_format: str = "png",
                 subset: str | None = None, ignore_class_split: bool = False, dtype: str = "float32") -> None:
        x = np.asarray(x)
        if y is not None and len(x) != len(y):
            raise ValueError(f"flow: x (images) and y (labels) must have the same length; got x.shape = {x.shape}, "
                             f"y.shape = {np.asarray(y).shape}.")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError(f"flow: x and sample_weight must have the same length; got {len(x)} and "
                             f"{len(sample_weight)}.")
        if subset is not None:
            x, y, sample_weight = _subset_arrays(x, y, sample_weight, subset,
                                                 image_data_generator.validation_split, ignore_class_split)
        self.x = np.asarray(x, dtype=dtype)
        if self.x.ndim != 4:
            raise ValueError(f"flow: x must be images of rank 4 (samples, height, width, channels); got shape "
                             f"{self.x.shape}. Add a channel axis: x.reshape(-1, {', '.join(map(str, self.x.shape[1:]))}"
                             ", 1).")
        if self.x.shape[3] not in (1, 3, 4):
            warnings.warn(f"flow: images are expected to have 1, 3 or 4 channels on their last axis; got shape "
                          f"{self.x.shape} ({self.x.shape[3]} channels).", stacklevel=3)
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator, self.dtype = image_data_generator, dtype
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def batch(self, indices: np.ndarray) -> Any:
        batch_x = np.zeros((len(indices), *self.x.shape[1:]), dtype=self.dtype)
        for position, sample in enumerate(indices):
            batch_x[position] = self.augment(self.image_data_generator, self.x[sample].astype(self.dtype))
        if self.save_to_dir:
            _save_batch(batch_x, indices, self.save_to_dir, self.save_prefix, self.save_format, self.random)
        if self.y is None:
            return batch_x
        if self.sample_weight is None:
            return batch_x, self.y[indices]
        return batch_x, self.y[indices], self.sample_weight[indices]


def _subset_arrays(x: np.ndarray, y: Any, sample_weight: Any, subset: str, validation_split: float,
                   ignore_class_split: bool) -> tuple[Any, Any, Any]:
    """Keras's split of arrays: the first `validation_split` of the samples is the validation subset."""
    if subset not in ("training", "validation"):
        raise ValueError(f"flow: subset must be 'training' or 'validation'; got {subset!r}.")
    if not validation_split:
        raise ValueError("flow: subset needs ImageDataGenerator(validation_split=...) between 0 and 1.")
    split = int(len(x) * validation_split)
    if y is not None and not ignore_class_split and \
            not np.array_equal(np.unique(y[:split]), np.unique(y[split:])):
        raise ValueError("flow: the training and validation subsets hold different classes after the split. If "
                         "the arrays are sorted by label, shuffle them first (or pass ignore_class_split=True).")
    part = slice(None, split) if subset == "validation" else slice(split, None)
    return (x[part], None if y is None else np.asarray(y)[part],
            None if sample_weight is None else np.asarray(sample_weight)[part])


class DirectoryIterator(ImageIterator):
    """Batches of augmented images read from `directory/<class>/*.png`; see
    `ImageDataGenerator.flow_from_directory`."""

    def __init__(self, directory: str | Path, image_data_generator: ImageDataGenerator,
                 target_size: tuple[int, int] = (256, 256), color_mode: str = "rgb", classes: list[str] | None = None,
                 class_mode: str | None = "categorical", batch_size: int = 32, shuffle: bool = True,
                 seed: int | None = None, save_to_dir: str | None = None, save_prefix: str = "",
                 save_format: str = "png", follow_links: bool = False, subset: str | None = None,
                 interpolation: str = "nearest", keep_aspect_ratio: bool = False, dtype: str = "float32") -> None:
        channels = images.check_color_mode(color_mode, "flow_from_directory")
        if class_mode not in CLASS_MODES:
            raise ValueError(f"flow_from_directory: class_mode must be one of {CLASS_MODES}; got {class_mode!r}.")
        split = _directory_split(subset, image_data_generator.validation_split)
        self.directory, self.image_data_generator, self.dtype = str(directory), image_data_generator, dtype
        self.target_size = (int(target_size[0]), int(target_size[1]))
        self.color_mode, self.class_mode = color_mode, class_mode
        self.image_shape = (*self.target_size, channels)
        self.interpolation, self.keep_aspect_ratio, self.subset = interpolation, keep_aspect_ratio, subset
        self.save_to_dir, self.save_prefix, self.save_format = save_to_dir, save_prefix, save_format
        names = list(classes) if classes else images.class_subfolders(directory, "flow_from_directory")
        self.num_classes = len(names)
        self.class_indices = {name: index for index, name in enumerate(names)}
        self.filenames: list[str] = []
        labels: list[int] = []
        for name in names:
            files = list(images.image_files(Path(directory) / name, IMAGE_SUFFIXES, follow_links))
            if split is not None:
                files = files[int(split[0] * len(files)):int(split[1] * len(files))]
            self.filenames += [str(Path(name) / path.relative_to(Path(directory) / name)) for path in files]
            labels += [self.class_indices[name]] * len(files)
        self.classes = np.asarray(labels, dtype="int32")
        self.samples = len(self.filenames)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self.filepaths = [str(Path(directory) / name) for name in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    @property
    def labels(self) -> np.ndarray:
        return self.classes

    def batch(self, indices: np.ndarray) -> Any:
        batch_x = np.zeros((len(indices), *self.image_shape), dtype=self.dtype)
        for position, sample in enumerate(indices):
            with images.load_img(self.filepaths[sample], color_mode=self.color_mode, target_size=self.target_size,
                                 interpolation=self.interpolation, keep_aspect_ratio=self.keep_aspect_ratio) as image:
                pixels = images.img_to_array(image, dtype=self.dtype)
            batch_x[position] = self.augment(self.image_data_generator, pixels)
        if self.save_to_dir:
            _save_batch(batch_x, indices, self.save_to_dir, self.save_prefix, self.save_format, self.random)
        labels = self.classes[indices]
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode in ("binary", "sparse"):
            return batch_x, labels.astype(self.dtype)
        if self.class_mode == "categorical":
            return batch_x, np.eye(self.num_classes, dtype=self.dtype)[labels]
        return batch_x


def _directory_split(subset: str | None, validation_split: float) -> tuple[float, float] | None:
    """The fraction of each class folder a subset takes: validation first, then training."""
    if subset is None:
        return None
    if subset not in ("training", "validation"):
        raise ValueError(f"flow_from_directory: subset must be 'training' or 'validation'; got {subset!r}.")
    if not validation_split:
        raise ValueError("flow_from_directory: subset needs ImageDataGenerator(validation_split=...) between 0 and 1.")
    return (0.0, validation_split) if subset == "validation" else (validation_split, 1.0)


def _save_batch(batch_x: np.ndarray, indices: np.ndarray, folder: str, prefix: str, file_format: str,
                random: Any) -> None:
    for image, sample in zip(batch_x, indices):
        name = f"{prefix}_{sample}_{random.randint(10**7)}.{file_format}"
        images.array_to_img(image, scale=True).save(Path(folder) / name)


class ImageDataGenerator:
    """Random augmentation and normalization of image batches, as Keras's `ImageDataGenerator`.

    Images are channels-last (height, width, channels). Augmentations: `rotation_range`
    (degrees), `width_shift_range`/`height_shift_range` (a fraction of the size when below 1,
    else pixels; an int or list picks one of its values), `shear_range` (degrees),
    `zoom_range` (z or [low, high]), `channel_shift_range`, `brightness_range`, flips;
    new pixels follow `fill_mode` ("constant" with `cval`, "nearest", "reflect", "wrap").
    Normalization, in this order: `preprocessing_function`, `rescale`, samplewise centring
    and scaling, featurewise ones (after `fit(x)`), ZCA whitening (after `fit(x)`).

    Raises:
        ValueError: `data_format='channels_first'`, a `validation_split` outside (0, 1), an
            unknown fill mode, or a malformed range.

    Example:
        >>> generator = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
        >>> generator.fit(x_train)
        >>> batches = generator.flow(x_train, y_train, batch_size=64)
    """

    def __init__(self, featurewise_center: bool = False, samplewise_center: bool = False,
                 featurewise_std_normalization: bool = False, samplewise_std_normalization: bool = False,
                 zca_whitening: bool = False, zca_epsilon: float = 1e-6, rotation_range: float = 0,
                 width_shift_range: Any = 0.0, height_shift_range: Any = 0.0,
                 brightness_range: tuple[float, float] | None = None, shear_range: float = 0.0,
                 zoom_range: Any = 0.0, channel_shift_range: float = 0.0, fill_mode: str = "nearest",
                 cval: float = 0.0, horizontal_flip: bool = False, vertical_flip: bool = False,
                 rescale: float | None = None, preprocessing_function: Callable[[np.ndarray], np.ndarray] | None = None,
                 data_format: str | None = None, validation_split: float = 0.0, interpolation_order: int = 1,
                 dtype: str | None = None) -> None:
        images.check_data_format(data_format, "ImageDataGenerator")
        if fill_mode not in image_transforms.FILL_MODES:
            raise ValueError(f"ImageDataGenerator: fill_mode must be one of {image_transforms.FILL_MODES}; got "
                             f"{fill_mode!r}.")
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"ImageDataGenerator: validation_split must be strictly between 0 and 1; got "
                             f"{validation_split!r}.")
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list)) or
                                             len(brightness_range) != 2):
            raise ValueError(f"ImageDataGenerator: brightness_range must be a pair of floats; got {brightness_range!r}.")
        self.settings = TransformSettings(
            rotation_range=rotation_range, width_shift_range=width_shift_range,
            height_shift_range=height_shift_range, shear_range=shear_range, zoom_range=image_transforms.zoom_bounds(
                zoom_range), channel_shift_range=channel_shift_range,
            brightness_range=None if brightness_range is None else (brightness_range[0], brightness_range[1]),
            horizontal_flip=horizontal_flip, vertical_flip=vertical_flip, fill_mode=fill_mode, cval=cval,
            interpolation_order=interpolation_order)
        self.featurewise_center = featurewise_center or featurewise_std_normalization or zca_whitening
        self.featurewise_std_normalization = featurewise_std_normalization and not zca_whitening
        self.samplewise_center = samplewise_center or samplewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, zca_epsilon
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.validation_split, self.dtype = validation_split, dtype or "float32"
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.zca_whitening_matrix: np.ndarray | None = None

    def flow(self, x: Any, y: Any = None, batch_size: int = 32, shuffle: bool = True, sample_weight: Any = None,
             seed: int | None = None, save_to_dir: str | None = None, save_prefix: str = "",
             save_format: str = "png", ignore_class_split: bool = False, subset: str | None = None) -> NumpyArrayIterator:
        """Batches `(x_batch, y_batch)` of augmented images from arrays x (N, H, W, C) and y."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
                                  seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
                                  save_format=save_format, subset=subset, ignore_class_split=ignore_class_split,
                                  dtype=self.dtype)

    def flow_from_directory(self, directory: str | Path, target_size: tuple[int, int] = (256, 256),
                            color_mode: str = "rgb", classes: list[str] | None = None,
                            class_mode: str | None = "categorical", batch_size: int = 32, shuffle: bool = True,
                            seed: int | None = None, save_to_dir: str | None = None, save_prefix: str = "",
                            save_format: str = "png", follow_links: bool = False, subset: str | None = None,
                            interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> DirectoryIterator:
        """Batches of augmented images from `directory/<class name>/<image files>`.

        Labels by `class_mode`: "categorical" (one-hot), "binary"/"sparse" (class index as a
        float), "input" (the images), None (images only). Prints "Found N images belonging to
        C classes." as Keras does.
        """
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode, classes=classes,
                                 class_mode=class_mode, batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix, save_format=save_format,
                                 follow_links=follow_links, subset=subset, interpolation=interpolation,
                                 keep_aspect_ratio=keep_aspect_ratio, dtype=self.dtype)

    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Normalize one image (or a batch) in place where possible, as configured."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is None:
                _warn_unfitted("featurewise_center")
            else:
                x -= self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                _warn_unfitted("featurewise_std_normalization")
            else:
                x /= self.std + 1e-6
        if self.zca_whitening:
            if self.zca_whitening_matrix is None:
                _warn_unfitted("zca_whitening")
            else:
                x = np.reshape(x.reshape(-1, int(np.prod(x.shape[-3:]))) @ self.zca_whitening_matrix, x.shape)
        return x

    def get_random_transform(self, img_shape: tuple[int, ...], seed: int | None = None) -> dict[str, Any]:
        """One random transform for an image of `img_shape`, as Keras's parameter dict."""
        random = np.random.RandomState(seed) if seed is not None else np.random
        return image_transforms.random_parameters(self.settings, img_shape, random).as_dict()

    def apply_transform(self, x: np.ndarray, transform_parameters: Transform | dict[str, Any]) -> np.ndarray:
        """`x` (H, W, C) moved by a transform (from `get_random_transform`)."""
        transform = transform_parameters if isinstance(transform_parameters, Transform) else \
            Transform(**transform_parameters)
        return image_transforms.apply_transform(x, transform, self.settings)

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """`x` (H, W, C) moved by a freshly drawn transform."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def fit(self, x: Any, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """Compute the featurewise mean, std and ZCA matrix from images x (N, H, W, C).

        Raises:
            ValueError: x is not of rank 4.
        """
        x = np.array(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"ImageDataGenerator.fit: x must be images of rank 4 (samples, height, width, "
                             f"channels); got shape {x.shape}.")
        random = np.random.RandomState(seed) if seed is not None else np.random
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.concatenate([np.stack([self.apply_transform(image, image_transforms.random_parameters(
                self.settings, image.shape, random)) for image in x]) for _ in range(rounds)]).astype(self.dtype)
        if self.featurewise_center:
            self.mean = np.mean(x, axis=(0, 1, 2)).reshape(1, 1, -1)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=(0, 1, 2)).reshape(1, 1, -1)
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(len(x), -1)
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(len(x)) / (s + self.zca_epsilon))) @ u.T


def _warn_unfitted(setting: str) -> None:
    warnings.warn(f"This ImageDataGenerator specifies `{setting}` but has not been fit on any data; images are "
                  "left as they are. Call generator.fit(x_train) first.", stacklevel=3)
