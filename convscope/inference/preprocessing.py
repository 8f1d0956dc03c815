"""How raw inputs become what a model was trained on, read from its training data.

`infer_preprocessing(x_train)` looks at the training arrays once; the `Preprocessing` it returns
is recorded in the run folder (the "input" entry of config.json) and applied again to every
image or signal the model is later asked about (`convscope.inference.images`).

    >>> preprocessing = infer_preprocessing(x_train)          # x_train: (60000, 28, 28, 1) uint8
    >>> preprocessing.fit, preprocessing.box
    ('center', 20)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Preprocessing:
    """How raw inputs become what the model was trained on.

    Attributes:
        shape: one example, channels-last, e.g. (28, 28, 1) or (40, 1).
        scale: raw values are multiplied by it (1/255 for 8-bit images, 1.0 for signals).
        background: "dark" or "light" for images with a plain background, else "mixed".
        fit: "center" (crop to the drawing, scale it into a `box`-pixel square and centre it by
            its centre of mass, as MNIST was prepared) or "resize" (the whole image).
        box: the side of that square, in pixels.
    """

    shape: tuple[int, ...]
    scale: float = 1 / 255
    background: str = "dark"
    fit: str = "center"
    box: int = 20

    @classmethod
    def for_shape(cls, shape: tuple[int, ...]) -> Preprocessing:
        """The default for a model known only by its input shape: 8-bit images centred like
        MNIST digits, signals used as they are."""
        return cls(shape) if len(shape) == 3 else cls(shape, 1.0, "mixed", "resize", 0)

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    def to_dict(self) -> dict[str, Any]:
        """The "input" entry of a run's config.json (its key names are the file format)."""
        return {"shape": list(self.shape), "scale": self.scale, "background": self.background,
                "fit": self.fit, "box": self.box}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        """Read an "input" entry; keys missing from older run folders take their defaults."""
        return cls(tuple(int(n) for n in data["shape"]), float(data.get("scale", 1 / 255)),
                   str(data.get("background", "dark")), str(data.get("fit", "center")),
                   int(data.get("box", 20)))


def input_scale(x: np.ndarray) -> float:
    """What raw values are multiplied by: 1/255 for integers (8-bit pixels), 1.0 for floats."""
    return 1 / 255 if np.issubdtype(x.dtype, np.integer) else 1.0


def infer_preprocessing(x: np.ndarray, sample: int = 500) -> Preprocessing:
    """Read the preprocessing from training data (N, H, W, C) or (N, L, C).

    Images whose borders are nearly all one dark (or light) value get fit="center" with `box`
    the median extent of their content: about 20 for MNIST digits, 28 for Fashion-MNIST.
    """
    scale = input_scale(x)
    shape = tuple(int(n) for n in x.shape[1:])
    if x.ndim != 4 or len(x) == 0:
        return Preprocessing(shape, scale, "mixed", "resize", 0)
    images = x[:sample].astype(np.float64) * scale
    gray = images.mean(axis=-1)                                 # (n, H, W)
    high = max(float(gray.max()), 1e-9)
    border = np.concatenate([gray[:, 0], gray[:, -1], gray[:, :, 0], gray[:, :, -1]], axis=1)
    dark, light = np.mean(border < 0.1 * high), np.mean(border > 0.9 * high)
    if max(dark, light) < 0.7:
        return Preprocessing(shape, scale, "mixed", "resize", 0)
    background = "dark" if dark >= light else "light"
    if max(dark, light) < 0.9:  # the content reaches the borders (Fashion-MNIST): keep the framing
        return Preprocessing(shape, scale, background, "resize", 0)
    content = gray > 0.2 * high if background == "dark" else gray < 0.8 * high
    extents = [_extent(mask) for mask in content if mask.any()]
    box = int(np.median(extents)) if extents else min(shape[:2])
    return Preprocessing(shape, scale, background, "center", max(1, min(box, min(shape[:2]))))


def _extent(mask: np.ndarray) -> int:
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(max(rows[-1] - rows[0], columns[-1] - columns[0]) + 1)
