"""Image files as Keras reads them: `load_img`, `img_to_array`, `array_to_img`, `save_img`, the
listing of image files under a folder, and TensorFlow's resize arithmetic in NumPy.

Images are channels-last NumPy arrays (height, width, channels); files are read with Pillow.

>>> image = load_img("cats/001.png", target_size=(64, 64))
>>> x = img_to_array(image)                # (64, 64, 3) float32, 0..255
>>> array_to_img(x / 255.0).save("copy.png")
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

PathLike = str | os.PathLike[str]
COLOR_MODES = {"grayscale": 1, "rgb": 3, "rgba": 4}
PIL_RESAMPLING = {
    "nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC, "hamming": Image.Resampling.HAMMING,
    "box": Image.Resampling.BOX, "lanczos": Image.Resampling.LANCZOS,
}


def check_data_format(data_format: str | None, where: str) -> None:
    """convscope's images are channels-last; channels_first is refused with the fix."""
    if data_format not in (None, "channels_last"):
        raise ValueError(f"{where}: data_format must be 'channels_last' (or None); got {data_format!r}. convscope "
                         "keeps images as (height, width, channels); transpose channels-first arrays with "
                         "x.transpose(0, 2, 3, 1).")


def check_color_mode(color_mode: str, where: str) -> int:
    """The number of channels of `color_mode` ('grayscale' 1, 'rgb' 3, 'rgba' 4)."""
    if color_mode not in COLOR_MODES:
        raise ValueError(f"{where}: color_mode must be 'grayscale', 'rgb' or 'rgba'; got {color_mode!r}.")
    return COLOR_MODES[color_mode]


def load_img(path: PathLike | io.BytesIO, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Image.Image:
    """A Pillow image from a file, converted to `color_mode` and resized to `target_size`.

    Args:
        color_mode: "grayscale", "rgb" or "rgba".
        target_size: (height, width), or None to keep the file's size.
        interpolation: Pillow resampling: "nearest", "bilinear", "bicubic", "hamming", "box", "lanczos".
        keep_aspect_ratio: crop the centre to the target's aspect ratio before resizing.

    Raises:
        ValueError: an unknown color mode or interpolation, or a file that is not an image.
    """
    check_color_mode(color_mode, "load_img")
    if isinstance(path, io.BytesIO):
        data = path.getvalue()
    else:
        with open(Path(path).expanduser(), "rb") as handle:
            data = handle.read()
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        image.load()
    except OSError as error:  # PIL.UnidentifiedImageError is an OSError
        raise ValueError(f"load_img: {path} cannot be read as an image ({error}).") from error
    if color_mode == "grayscale" and image.mode not in ("L", "I;16", "I"):
        image = image.convert("L")
    elif color_mode == "rgb" and image.mode != "RGB":
        image = image.convert("RGB")
    elif color_mode == "rgba" and image.mode != "RGBA":
        image = image.convert("RGBA")
    if target_size is None or image.size == (target_size[1], target_size[0]):
        return image
    if interpolation not in PIL_RESAMPLING:
        raise ValueError(f"load_img: interpolation must be one of {', '.join(PIL_RESAMPLING)}; got {interpolation!r}.")
    size = (int(target_size[1]), int(target_size[0]))  # Pillow sizes are (width, height)
    box = centre_crop_box(image.size, size) if keep_aspect_ratio else None
    return image.resize(size, PIL_RESAMPLING[interpolation], box=box)


def centre_crop_box(size: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """The centred (left, top, right, bottom) box of `size` with the aspect ratio of `target`
    (both (width, height))."""
    width, height = size
    crop_height = min(height, (width * target[1]) // target[0])
    crop_width = min(width, (height * target[0]) // target[1])
    top, left = (height - crop_height) // 2, (width - crop_width) // 2
    return left, top, left + crop_width, top + crop_height


def img_to_array(img: Any, data_format: str | None = None, dtype: str | np.dtype | None = None) -> np.ndarray:
    """A Pillow image (or array) as a (height, width, channels) array, float32 by default."""
    check_data_format(data_format, "img_to_array")
    array = np.asarray(img, dtype=dtype or "float32")
    if array.ndim == 2:
        return array[..., np.newaxis]
    if array.ndim != 3:
        raise ValueError(f"img_to_array: expected an image of rank 2 or 3; got shape {array.shape}.")
    return array


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: str | np.dtype | None = None) -> Image.Image:
    """A (height, width, channels) array as a Pillow image; `scale` stretches values to 0..255.

    Raises:
        ValueError: not rank 3, or a channel count other than 1, 3 or 4.
    """
    check_data_format(data_format, "array_to_img")
    array = np.array(x, dtype=dtype or "float32")
    if array.ndim != 3:
        raise ValueError(f"array_to_img: expected one image (height, width, channels); got shape {array.shape}. "
                         "Pass x[0] for the first image of a batch.")
    if scale:
        array -= np.min(array)
        peak = np.max(array)
        if peak != 0:
            array /= peak
        array *= 255
    channels = array.shape[2]
    if channels in (3, 4):
        return Image.fromarray(array.astype("uint8"), "RGBA" if channels == 4 else "RGB")
    if channels == 1:
        if np.max(array) > 255:
            return Image.fromarray(array[:, :, 0].astype("int32"), "I")
        return Image.fromarray(array[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"array_to_img: images have 1, 3 or 4 channels; got {channels} (shape {array.shape}).")


def save_img(path: PathLike, x: Any, data_format: str | None = None, file_format: str | None = None,
             scale: bool = True, **kwargs: Any) -> None:
    """Write an image array to `path`; the format comes from the suffix unless `file_format`."""
    if file_format is None:
        file_format = Path(path).suffix[1:].lower() or None
    if file_format == "jpg":
        file_format = "jpeg"
    image = array_to_img(x, data_format=data_format, scale=scale)
    if image.mode == "RGBA" and file_format == "jpeg":
        image = image.convert("RGB")  # JPEG has no alpha channel
    image.save(path, format=file_format, **kwargs)


def class_subfolders(directory: PathLike, where: str) -> list[str]:
    """Sorted names of the subfolders of `directory` that do not start with a dot."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise ValueError(f"{where}: {root} is not a folder; expected one subfolder of images per class, "
                         f"e.g. {root}/cats/*.png and {root}/dogs/*.png.")
    return sorted(entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def image_files(folder: PathLike, suffixes: tuple[str, ...], follow_links: bool = False) -> Iterator[Path]:
    """The files under `folder` (recursively) whose names end with one of `suffixes`, in Keras's
    order: folders sorted by path, files sorted by name within each."""
    walk = sorted(os.walk(folder, followlinks=follow_links), key=lambda entry: entry[0])
    for root, _, names in walk:
        for name in sorted(names):
            if name.lower().endswith(suffixes):
                yield Path(root) / name


def resize(image: np.ndarray, size: tuple[int, int], interpolation: str = "bilinear") -> np.ndarray:
    """(H, W, C) resized to `size` = (height, width), as `tf.image.resize` does: float32, except
    "nearest", which keeps the input's dtype.

    "bilinear" and "nearest" follow TensorFlow's arithmetic (half-pixel centres, no
    antialiasing); "bicubic", "area" and "lanczos3" use Pillow's filters, close to but not
    identical with TensorFlow's.
    """
    height, width = int(size[0]), int(size[1])
    if interpolation == "nearest":
        pixels = np.asarray(image)
        return pixels[_nearest_taps(pixels.shape[0], height)][:, _nearest_taps(pixels.shape[1], width)]
    pixels = np.asarray(image, dtype=np.float32)
    if pixels.shape[:2] == (height, width):
        return pixels
    if interpolation == "bilinear":
        (top, bottom), row_weight = _bilinear_taps(pixels.shape[0], height)
        (left, right), column_weight = _bilinear_taps(pixels.shape[1], width)
        column_weight = column_weight[:, None]  # over (width, channels)
        upper = pixels[top][:, left] + (pixels[top][:, right] - pixels[top][:, left]) * column_weight
        lower = pixels[bottom][:, left] + (pixels[bottom][:, right] - pixels[bottom][:, left]) * column_weight
        return upper + (lower - upper) * row_weight[:, None, None]  # TensorFlow's order of operations
    filters = {"bicubic": Image.Resampling.BICUBIC, "area": Image.Resampling.BOX, "lanczos3": Image.Resampling.LANCZOS}
    if interpolation not in filters:
        raise ValueError(f"interpolation must be 'bilinear', 'nearest', 'bicubic', 'area' or 'lanczos3'; got "
                         f"{interpolation!r}.")
    channels = [np.asarray(Image.fromarray(pixels[:, :, c], "F").resize((width, height), filters[interpolation]))
                for c in range(pixels.shape[2])]
    return np.stack(channels, axis=-1).astype(np.float32)


def _bilinear_taps(in_size: int, out_size: int) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """((lower, upper) source indices, weight of upper) for each output position."""
    scale = np.float32(in_size / out_size)  # float32 throughout, as TensorFlow's kernel computes
    source = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    floor = np.floor(source)
    lower = np.maximum(floor, 0).astype(np.int64)
    upper = np.minimum(np.ceil(source), in_size - 1).astype(np.int64)
    return (lower, upper), (source - floor).astype(np.float32)


def _nearest_taps(in_size: int, out_size: int) -> np.ndarray:
    scale = in_size / out_size
    return np.minimum(np.floor((np.arange(out_size) + 0.5) * scale), in_size - 1).astype(np.int64)
