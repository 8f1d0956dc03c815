"""Turning an uploaded image (or a drawing) into exactly what a model was trained on.

`decode_image` checks the bytes (a PNG/JPEG/... that Pillow can read, not truncated, not
absurdly large, not a decompression bomb), decoding a large image reduced when asked, and
`image_to_input` converts colour, polarity and size the way the run's
`Preprocessing` says, returning notes that say what was done. For MNIST-like data the drawing is
cropped, scaled into a 20x20 box and centred by its centre of mass in 28x28, as MNIST's own
digits were.

    >>> image = decode_image(open("digit.png", "rb").read())
    >>> pixels, notes = image_to_input(image, run.preprocessing)   # (28, 28, 1) float32 in [0, 1]
"""

from __future__ import annotations

import io
import re
import struct
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from convscope.inference.preprocessing import Preprocessing

MAX_PIXELS = 4096 * 4096  # larger images are refused before they are decoded
SOURCE = "convscope.source"  # image.info key: the file's format, size and mode, as decoded


class InputError(ValueError):
    """A request input that cannot be used; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS, max_side: int | None = None,
                 formats: tuple[str, ...] | None = None) -> Image.Image:
    """Open and fully decode image bytes, optionally reduced and only in some `formats`.

    With `max_side`, an image at least twice as long is decoded reduced by a whole factor to a
    longer side of max_side..2*max_side: a JPEG by its decoder (1/2, 1/4 or 1/8 scale), then a
    box filter, so that at most one full-size copy exists (64 MiB for 4096x4096 RGB, which
    Pillow keeps at 4 bytes a pixel), and only until the reduced one is made.
    `image.info[SOURCE]` says what the file held, e.g. "PNG 4096x4096 RGB".

    Raises:
        InputError: empty data (400), not an image or not of `formats` (415), too many pixels
            (413, also for a header claiming more than Pillow opens), truncated or corrupt data (400).
    """
    image = _open(data, max_pixels, formats)
    source, source_size = f"{image.format} {image.width}x{image.height} {image.mode}", image.size
    factor = _reduce_factor(image.size, max_side)
    if factor > 1:
        # only JPEG scales while decoding (by 1/2, 1/4 or 1/8); for other formats this does nothing
        image.draft(image.mode, (max(1, image.width // factor), max(1, image.height // factor)))
    try:
        image.load()
    except Image.DecompressionBombError as error:
        raise InputError(_bomb_message(error, max_pixels), 413) from error
    except (OSError, EOFError, SyntaxError, ValueError, IndexError, KeyError, TypeError, struct.error) as error:
        # what Pillow's decoders raise on malformed data, depending on the format
        raise InputError(f"the {image.format or 'image'} file is truncated or corrupt ({error}).") from error
    factor = _reduce_factor(image.size, max_side)
    if factor > 1:
        whole, image = image, _reduce(image, factor)
        whole.close()  # free the full-size pixels now, not when the request ends
    if image.size != source_size:
        source += f", decoded reduced to {image.width}x{image.height}"
    image.info[SOURCE] = source
    return image


def decode_side(preprocessing: Preprocessing) -> int:
    """The longer side a large image is decoded reduced to, for a model taking `preprocessing` inputs:
    8 times the model's (at least 256), plenty for cropping and centring a drawing in 28x28."""
    return max(256, 8 * max(preprocessing.shape[:2])) if preprocessing.is_image else 256


def _open(data: bytes, max_pixels: int, formats: tuple[str, ...] | None) -> Image.Image:
    """The image's header, read and checked: its pixels are not decoded yet."""
    if not data:
        raise InputError("the uploaded file is empty; send a PNG or JPEG image.")
    try:
        image = Image.open(io.BytesIO(data), formats=formats)
    except Image.DecompressionBombError as error:
        raise InputError(_bomb_message(error, max_pixels), 413) from error
    except (OSError, ValueError) as error:
        accepted = f" as {', '.join(formats)}" if formats else ""
        raise InputError(f"the file is not an image Pillow can read{accepted}; send a PNG or JPEG.", 415) from error
    width, height = image.size
    if width * height > max_pixels:
        raise InputError(f"the image is {width}x{height} pixels; the limit is {max_pixels:,} pixels "
                         f"(e.g. 4096x4096). Shrink it first.", 413)
    return image


def _bomb_message(error: Exception, max_pixels: int) -> str:
    """Pillow refuses headers claiming over twice Image.MAX_IMAGE_PIXELS before we see the size."""
    claimed = re.search(r"\((\d+) pixels\)", str(error))
    size = f"{int(claimed.group(1)):,} pixels" if claimed else "more pixels than Pillow will open"
    return (f"the image claims {size} (a decompression bomb?); the limit is {max_pixels:,} pixels "
            f"(e.g. 4096x4096). Shrink it first.")


def _reduce_factor(size: tuple[int, int], max_side: int | None) -> int:
    return 1 if max_side is None else max(1, max(size) // max(1, max_side))


def _reduce(image: Image.Image, factor: int) -> Image.Image:
    """`image` shrunk `factor` times by averaging factor x factor blocks (`Image.reduce`), in a
    mode where averaging means something: palette indices and 1-bit pixels are converted first."""
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif image.mode in ("1", "PA") or image.mode.startswith("I;16"):
        image = image.convert({"1": "L", "PA": "RGBA"}.get(image.mode, "I"))
    return image.reduce(factor)


def image_to_input(image: Image.Image, preprocessing: Preprocessing) -> tuple[np.ndarray, list[str]]:
    """(pixels shaped `preprocessing.shape`, float32, scaled as in training; notes on the conversion).

    Raises:
        InputError: when the model does not take images (1D signal models).
    """
    if not preprocessing.is_image:
        raise InputError(f"this model takes 1D signals shaped {preprocessing.shape}, not images; send the values "
                         "as JSON {\"pixels\": [...]} instead.", 422)
    height, width, channels = preprocessing.shape
    source = image.info.get(SOURCE) or f"{image.format or 'image'} {image.width}x{image.height} {image.mode}"
    notes = [f"read {source}"]
    image = _flatten_alpha(image, notes)
    mode = "L" if channels == 1 else "RGB"
    if image.mode != mode:
        notes.append(f"converted {image.mode} to {'grayscale' if mode == 'L' else 'RGB'}")
        image = image.convert(mode)
    image = _match_background(image, preprocessing, notes)
    if preprocessing.fit == "center":
        image = _fit_centered(image, preprocessing, notes)
    elif image.size != (width, height):
        notes.append(f"resized {image.width}x{image.height} to {width}x{height}")
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    pixels = np.asarray(image, dtype=np.float32).reshape(height, width, channels)
    return pixels / np.float32(255.0), notes  # 8-bit images were trained as x / 255


def _flatten_alpha(image: Image.Image, notes: list[str]) -> Image.Image:
    """Transparent pixels become white, as a drawing on a page would show them."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        if np.asarray(rgba.getchannel("A")).min() < 255:
            notes.append("transparent areas treated as white")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    if image.mode not in ("L", "RGB"):
        return image.convert("RGB")
    return image


def _border_level(image: Image.Image) -> float:
    gray = np.asarray(image.convert("L"), dtype=np.float64)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    return float(np.median(border))


def _match_background(image: Image.Image, preprocessing: Preprocessing, notes: list[str]) -> Image.Image:
    """Invert when the image's background is the opposite of the training data's."""
    if preprocessing.background not in ("dark", "light"):
        return image
    light = _border_level(image) > 127
    if light == (preprocessing.background == "light"):
        return image
    notes.append(f"inverted: the image has a {'light' if light else 'dark'} background, the model "
                 f"was trained on {preprocessing.background} ones")
    return ImageOps.invert(image)


def _fit_centered(image: Image.Image, preprocessing: Preprocessing, notes: list[str]) -> Image.Image:
    """Crop to the content, scale its longer side to `preprocessing.box`, centre by mass (MNIST's recipe)."""
    height, width, _ = preprocessing.shape
    gray = np.asarray(image.convert("L"), dtype=np.float64)
    ink = gray if preprocessing.background != "light" else 255.0 - gray
    mask = ink > 0.2 * max(float(ink.max()), 1e-9)
    if not mask.any() or ink.max() < 10:
        notes.append(f"blank image: resized to {width}x{height}")
        return image.resize((width, height), Image.Resampling.LANCZOS)
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = image.crop((int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1))
    factor = preprocessing.box / max(crop.size)
    size = (max(1, round(crop.width * factor)), max(1, round(crop.height * factor)))
    crop = crop.resize(size, Image.Resampling.LANCZOS)
    placed = _centre_of_mass_offset(crop, preprocessing, (width, height))
    fill = 0 if preprocessing.background != "light" else 255
    canvas = Image.new(image.mode, (width, height), fill if image.mode == "L" else (fill,) * 3)
    canvas.paste(crop, placed)
    notes.append(f"cropped to the drawing, scaled into a {preprocessing.box}x{preprocessing.box} box and centred by its "
                 f"centre of mass in {width}x{height} (as the training images were prepared)")
    return canvas


def _centre_of_mass_offset(crop: Image.Image, preprocessing: Preprocessing, size: tuple[int, int]) -> tuple[int, int]:
    gray = np.asarray(crop.convert("L"), dtype=np.float64)
    ink = gray if preprocessing.background != "light" else 255.0 - gray
    total = ink.sum()
    if total <= 0:
        return ((size[0] - crop.width) // 2, (size[1] - crop.height) // 2)
    row_mass = float((ink.sum(axis=1) * np.arange(crop.height)).sum() / total)
    column_mass = float((ink.sum(axis=0) * np.arange(crop.width)).sum() / total)
    left = int(round(size[0] / 2 - 0.5 - column_mass))
    top = int(round(size[1] / 2 - 0.5 - row_mass))
    # keep the whole drawing inside the frame
    return (min(max(left, 0), size[0] - crop.width), min(max(top, 0), size[1] - crop.height))


def pixels_to_input(pixels: Any, preprocessing: Preprocessing) -> tuple[np.ndarray, list[str]]:
    """JSON pixels: values in [0, 1], shaped like one model input ((H, W), (H, W, C), (L,) or
    (L, C)) and used as given; an image of another size is converted like an upload.

    Raises:
        InputError: for ragged or non-numeric lists, values outside [0, 1], or a shape that fits
            neither the model nor an image.
    """
    try:
        array = np.asarray(pixels, dtype=np.float32)
    except (TypeError, ValueError, OverflowError) as error:
        raise InputError(f"'pixels' must be a rectangular list of numbers (rows of values in 0..1); they "
                         f"could not be read as float32: {str(error).splitlines()[0]}", 422) from error
    if array.size == 0 or not np.isfinite(array).all():
        raise InputError("'pixels' must be a non-empty list of finite numbers.", 422)
    expected = preprocessing.shape
    if not preprocessing.is_image and array.size == int(np.prod(expected)) and array.shape[0] == expected[0]:
        return array.reshape(expected), ["values used as given"]  # signals keep their own scale
    if array.min() < 0 or array.max() > 1:
        raise InputError(f"'pixels' values must lie in 0..1; got {array.min():g}..{array.max():g}.", 422)
    if array.shape == expected or (array.ndim == len(expected) - 1 and array.shape == expected[:-1]
                                   and expected[-1] == 1):
        return array.reshape(expected), ["pixels used as given"]
    if not preprocessing.is_image or array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (1, 3, 4)):
        raise InputError(f"'pixels' has shape {list(array.shape)}; this model takes {list(expected)}.", 422)
    if array.shape[0] * array.shape[1] > MAX_PIXELS:
        raise InputError(f"'pixels' is {array.shape[1]}x{array.shape[0]}; the limit is {MAX_PIXELS:,} pixels.", 413)
    raw = np.rint(array * 255).astype(np.uint8)
    image = Image.fromarray(raw[..., 0] if raw.ndim == 3 and raw.shape[-1] == 1 else raw)
    return image_to_input(image, preprocessing)
