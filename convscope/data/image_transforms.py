"""The random image transforms of Keras's `ImageDataGenerator`, one image at a time.

An image is (height, width, channels). `random_parameters` draws one transform from a NumPy
random state in the order Keras draws it, so a seeded generator gives Keras's own
augmentations; `apply_transform` applies it (an affine map through `scipy.ndimage`, then
channel shift, flips and brightness).

>>> parameters = random_parameters(settings, (28, 28, 1), np.random.RandomState(0))
>>> augmented = apply_transform(image, parameters, settings)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


@dataclass(frozen=True)
class TransformSettings:
    """The augmentation ranges of an `ImageDataGenerator` (see its arguments)."""

    rotation_range: float = 0.0
    width_shift_range: Any = 0.0
    height_shift_range: Any = 0.0
    shear_range: float = 0.0
    zoom_range: tuple[float, float] = (1.0, 1.0)
    channel_shift_range: float = 0.0
    brightness_range: tuple[float, float] | None = None
    horizontal_flip: bool = False
    vertical_flip: bool = False
    fill_mode: str = "nearest"
    cval: float = 0.0
    interpolation_order: int = 1


@dataclass(frozen=True)
class Transform:
    """One drawn transform: degrees, pixels, factors and flags."""

    theta: float = 0.0
    # pixels drawn from height_shift_range (tx) and width_shift_range (ty); Keras's axis swap
    # in its matrix makes tx move columns and ty move rows, and convscope keeps that for parity
    tx: float = 0.0
    ty: float = 0.0
    shear: float = 0.0
    zx: float = 1.0
    zy: float = 1.0
    flip_horizontal: bool = False
    flip_vertical: bool = False
    channel_shift_intensity: float | None = None
    brightness: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def zoom_bounds(zoom_range: Any) -> tuple[float, float]:
    """Keras's `zoom_range`: a float z means [1 - z, 1 + z]; a pair is taken as it is."""
    if isinstance(zoom_range, (int, float)):
        return 1.0 - zoom_range, 1.0 + zoom_range
    if isinstance(zoom_range, (tuple, list)) and len(zoom_range) == 2 and \
            all(isinstance(value, (int, float)) for value in zoom_range):
        return float(zoom_range[0]), float(zoom_range[1])
    raise ValueError(f"ImageDataGenerator: zoom_range must be a float or a pair of floats; got {zoom_range!r}.")


def _shift(shift_range: Any, size: int, random: Any) -> float:
    """A shift in pixels: a float range is a fraction of `size` (when below 1) or pixels;
    an int or a list picks one of its values, with a random sign."""
    try:  # an int or a 1-D array-like: one of its values, either sign
        shift = float(random.choice(shift_range)) * float(random.choice([-1, 1]))
    except ValueError:  # a float: a uniform draw
        shift = float(random.uniform(-shift_range, shift_range))
    return shift * size if np.max(shift_range) < 1 else shift


def random_parameters(settings: TransformSettings, image_shape: tuple[int, ...], random: Any) -> Transform:
    """One random transform for an image of `image_shape` (height, width, channels), drawn from
    `random` (a `np.random.RandomState`, or the `np.random` module) in Keras's order."""
    theta = float(random.uniform(-settings.rotation_range, settings.rotation_range)) if settings.rotation_range else 0.0
    tx = _shift(settings.height_shift_range, image_shape[0], random) if settings.height_shift_range else 0.0
    ty = _shift(settings.width_shift_range, image_shape[1], random) if settings.width_shift_range else 0.0
    shear = float(random.uniform(-settings.shear_range, settings.shear_range)) if settings.shear_range else 0.0
    zx, zy = 1.0, 1.0
    if settings.zoom_range != (1.0, 1.0):
        zx, zy = (float(value) for value in random.uniform(settings.zoom_range[0], settings.zoom_range[1], 2))
    flip_horizontal = bool(random.random() < 0.5) and settings.horizontal_flip
    flip_vertical = bool(random.random() < 0.5) and settings.vertical_flip
    channel_shift = None
    if settings.channel_shift_range != 0:
        channel_shift = float(random.uniform(-settings.channel_shift_range, settings.channel_shift_range))
    brightness = None
    if settings.brightness_range is not None:
        brightness = float(random.uniform(settings.brightness_range[0], settings.brightness_range[1]))
    return Transform(theta, tx, ty, shear, zx, zy, flip_horizontal, flip_vertical, channel_shift, brightness)


def affine_matrix(transform: Transform, height: int, width: int) -> np.ndarray | None:
    """The 3x3 map from output to input pixel coordinates (row, column), about the image
    centre; None when the transform moves nothing."""
    steps = []
    if transform.theta:
        angle = np.deg2rad(transform.theta)
        steps.append(np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]))
    if transform.tx or transform.ty:
        steps.append(np.array([[1, 0, transform.tx], [0, 1, transform.ty], [0, 0, 1]]))
    if transform.shear:
        shear = np.deg2rad(transform.shear)
        steps.append(np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]]))
    if transform.zx != 1 or transform.zy != 1:
        steps.append(np.array([[transform.zx, 0, 0], [0, transform.zy, 0], [0, 0, 1]]))
    if not steps:
        return None
    matrix = steps[0]
    for step in steps[1:]:
        matrix = matrix @ step
    # Keras composes in (x, y) = (row, column) and swaps the axes to scipy's (row, column) order
    centre_row, centre_column = height / 2 - 0.5, width / 2 - 0.5
    to_centre = np.array([[1, 0, centre_row], [0, 1, centre_column], [0, 0, 1]])
    from_centre = np.array([[1, 0, -centre_row], [0, 1, -centre_column], [0, 0, 1]])
    matrix = to_centre @ matrix @ from_centre
    matrix[:, [0, 1]] = matrix[:, [1, 0]]
    matrix[[0, 1]] = matrix[[1, 0]]
    return matrix


def apply_affine(image: np.ndarray, matrix: np.ndarray, fill_mode: str, cval: float, order: int) -> np.ndarray:
    """Resample each channel of (H, W, C) `image` through `matrix` (output -> input)."""
    from scipy import ndimage

    channels = [ndimage.affine_transform(image[:, :, c], matrix[:2, :2], matrix[:2, 2], order=order,
                                         mode=fill_mode, cval=cval) for c in range(image.shape[2])]
    return np.stack(channels, axis=-1)


def apply_transform(image: np.ndarray, transform: Transform, settings: TransformSettings) -> np.ndarray:
    """`image` (H, W, C) moved by `transform`: affine map, channel shift, flips, brightness."""
    matrix = affine_matrix(transform, image.shape[0], image.shape[1])
    if matrix is not None:
        image = apply_affine(image, matrix, settings.fill_mode, settings.cval, settings.interpolation_order)
    if transform.channel_shift_intensity is not None:
        low, high = np.min(image), np.max(image)
        image = np.clip(image + transform.channel_shift_intensity, low, high)
    if transform.flip_horizontal:
        image = image[:, ::-1]
    if transform.flip_vertical:
        image = image[::-1]
    if transform.brightness is not None:
        image = shift_brightness(image, transform.brightness)
    return image


def shift_brightness(image: np.ndarray, brightness: float) -> np.ndarray:
    """Pillow's brightness enhancement of `image`; values outside 0..255 are mapped into that
    range for Pillow and back afterwards."""
    from PIL import ImageEnhance

    from convscope.data.images import array_to_img, img_to_array

    low, high = float(np.min(image)), float(np.max(image))
    out_of_range = low < 0 or high > 255
    brightened = img_to_array(ImageEnhance.Brightness(array_to_img(image, scale=out_of_range)).enhance(brightness))
    return brightened / 255 * (high - low) + low if out_of_range else brightened
