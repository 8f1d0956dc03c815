"""Image conversion: colour, polarity, MNIST-style centring, and refusal of bad bytes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from serve_helpers import MNIST_INPUT, drawn_one, png_bytes
from serve_load import bomb_png

from convscope import runs
from convscope.inference.images import (
    SOURCE,
    InputError,
    decode_image,
    decode_side,
    image_to_input,
    pixels_to_input,
)


def test_light_page_is_inverted_cropped_and_centred() -> None:
    pixels, notes = image_to_input(decode_image(png_bytes(drawn_one())), MNIST_INPUT)
    assert pixels.shape == (28, 28, 1) and pixels.dtype == np.float32
    assert 0.0 <= pixels.min() and pixels.max() <= 1.0
    assert pixels[0, 0, 0] == 0.0 and pixels.max() > 0.9  # dark background, bright stroke
    ink = pixels[..., 0]
    rows, columns = np.nonzero(ink > 0.2)
    assert rows.max() - rows.min() + 1 == 20  # the stroke's long side fills the 20-pixel box
    centre = (np.arange(28)[:, None] * ink).sum() / ink.sum(), (np.arange(28)[None, :] * ink).sum() / ink.sum()
    assert abs(centre[0] - 13.5) < 1.0 and abs(centre[1] - 13.5) < 1.0
    assert any("inverted" in note for note in notes) and any("grayscale" in note for note in notes)


def test_dark_drawing_is_not_inverted() -> None:
    image = drawn_one((280, 280), "L", background="black")
    pixels, notes = image_to_input(image, MNIST_INPUT)
    assert pixels[0, 0, 0] == 0.0 and not any("inverted" in note for note in notes)


def test_resize_mode_keeps_framing() -> None:
    spec = runs.Preprocessing((8, 8, 1), 1 / 255, "mixed", "resize", 0)
    pixels, notes = image_to_input(Image.new("L", (64, 32), 128), spec)
    assert pixels.shape == (8, 8, 1) and np.allclose(pixels, 128 / 255, atol=1e-6)
    assert "resized 64x32 to 8x8" in notes


def test_transparent_png_is_flattened_on_white() -> None:
    image = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (20, 5, 30, 45))
    pixels, notes = image_to_input(decode_image(png_bytes(image)), MNIST_INPUT)
    assert "transparent areas treated as white" in notes and pixels.max() > 0.9


@pytest.mark.parametrize(("data", "status", "words"), [
    (b"", 400, "empty"),
    (b"GIF? no, plain text", 415, "not an image"),
])
def test_bad_bytes_are_refused(data: bytes, status: int, words: str) -> None:
    with pytest.raises(InputError, match=words) as caught:
        decode_image(data)
    assert caught.value.status == status


def test_truncated_and_huge_images_are_refused() -> None:
    whole = png_bytes(drawn_one())
    with pytest.raises(InputError, match="truncated or corrupt") as caught:
        decode_image(whole[: len(whole) // 2])
    assert caught.value.status == 400
    with pytest.raises(InputError, match="5000x5000") as caught:
        decode_image(png_bytes(Image.new("1", (5000, 5000))))
    assert caught.value.status == 413


def test_pixels_of_the_input_shape_are_used_as_given() -> None:
    grid = np.linspace(0, 1, 28 * 28).reshape(28, 28)
    pixels, notes = pixels_to_input(grid.tolist(), MNIST_INPUT)
    assert np.allclose(pixels[..., 0], grid) and notes == ["pixels used as given"]
    with pytest.raises(InputError, match="0..1"):
        pixels_to_input((grid * 255).tolist(), MNIST_INPUT)
    with pytest.raises(InputError, match="rectangular"):
        pixels_to_input([[0.1, 0.2], [0.3]], MNIST_INPUT)


def test_signals_keep_their_scale() -> None:
    spec = runs.Preprocessing((40, 1), 1.0, "mixed", "resize", 0)
    values, _ = pixels_to_input(list(np.linspace(-3, 3, 40)), spec)
    assert values.shape == (40, 1) and values.min() == pytest.approx(-3)


def large_digit(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A black '7' on white filling most of a large photo or scan."""
    image = Image.new("RGB", size, "white")
    width, height = size
    corners = [(width * 0.3, height * 0.2), (width * 0.7, height * 0.2), (width * 0.45, height * 0.85)]
    ImageDraw.Draw(image).line(corners, fill="black", width=width // 25)
    return image.convert(mode, palette=Image.Palette.ADAPTIVE, colors=4) if mode == "P" else image.convert(mode)


@pytest.mark.parametrize(("size", "fmt", "mode", "decoded"), [
    ((3000, 2000), "PNG", "RGB", "273x182"),
    ((3000, 2000), "PNG", "1", "273x182"),   # 1-bit and palette pixels are averaged as colours,
    ((3000, 2000), "PNG", "P", "273x182"),   # not as bits or palette indices
    ((4096, 4096), "JPEG", "RGB", "256x256"),  # the JPEG decoder's 1/8 scale, then halved
])
def test_large_images_decode_reduced_to_nearly_the_same_input(size: tuple[int, int], fmt: str, mode: str,
                                                               decoded: str) -> None:
    data = png_bytes(large_digit(size, mode), fmt)
    whole, _ = image_to_input(decode_image(data), MNIST_INPUT)
    image = decode_image(data, max_side=decode_side(MNIST_INPUT))
    assert decode_side(MNIST_INPUT) == 256 and 256 <= max(image.size) < 512
    reduced, notes = image_to_input(image, MNIST_INPUT)
    assert notes[0] == f"read {fmt} {size[0]}x{size[1]} {mode}, decoded reduced to {decoded}"
    assert np.abs(reduced - whole).max() < 0.1 and np.abs(reduced - whole).mean() < 0.005


def test_small_images_are_decoded_whole() -> None:
    image = decode_image(png_bytes(drawn_one((511, 300))), max_side=256)
    assert image.size == (511, 300) and image.info[SOURCE] == "PNG 511x300 RGB"


@pytest.mark.parametrize(("width", "height", "words"), [
    (20000, 20000, "claims 400,000,000 pixels"),  # Pillow refuses these headers itself
    (65535, 65535, "claims 4,294,836,225 pixels"),
    (10000, 10000, "is 10000x10000 pixels"),  # Pillow only warns about these
])
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_headers_are_refused_as_too_large(width: int, height: int, words: str) -> None:
    with pytest.raises(InputError, match=f"{words}.*the limit is 16,777,216 pixels") as caught:
        decode_image(bomb_png(width, height))
    assert caught.value.status == 413


def test_formats_can_be_restricted() -> None:
    data = png_bytes(drawn_one(), "TGA")
    assert decode_image(data).format == "TGA"  # `convscope predict` reads any format Pillow reads
    with pytest.raises(InputError, match="not an image Pillow can read as PNG, JPEG") as caught:
        decode_image(data, formats=("PNG", "JPEG"))
    assert caught.value.status == 415


def test_huge_integers_in_pixels_are_refused() -> None:
    with pytest.raises(InputError, match="could not be read as float32: int too large"):
        pixels_to_input([[10**400] * 28] * 28, MNIST_INPUT)
