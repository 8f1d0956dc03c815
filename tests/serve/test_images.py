"""Image conversion: colour, polarity, MNIST-style centring, and refusal of bad bytes."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from serve_helpers import MNIST_INPUT, drawn_one, png_bytes

from convscope import runs
from convscope.serve.images import InputError, decode_image, image_to_input, pixels_to_input


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
    spec = runs.InputSpec((8, 8, 1), 1 / 255, "mixed", "resize", 0)
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
    spec = runs.InputSpec((40, 1), 1.0, "mixed", "resize", 0)
    values, _ = pixels_to_input(list(np.linspace(-3, 3, 40)), spec)
    assert values.shape == (40, 1) and values.min() == pytest.approx(-3)


def test_input_spec_is_read_from_the_data() -> None:
    rng = np.random.default_rng(0)
    digits = np.zeros((50, 28, 28, 1), np.uint8)
    for image in digits:  # 20-pixel-tall strokes centred in dark 28x28 frames, like MNIST
        column = rng.integers(8, 20)
        image[4:24, column:column + 3] = 255
    spec = runs.infer_input_spec(digits)
    assert (spec.background, spec.fit, spec.box, spec.shape) == ("dark", "center", 20, (28, 28, 1))
    signals = runs.infer_input_spec(rng.normal(size=(10, 40, 1)).astype(np.float32))
    assert (signals.fit, signals.scale) == ("resize", 1.0)
