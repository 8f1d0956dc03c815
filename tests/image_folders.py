"""Image folders (one subfolder per class) that tests train on: small, seeded, easy to learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_bars_dataset(root: Path, per_class: int = 12, classes: int = 4, seed: int = 0) -> Path:
    """An image folder: class k is a bright bar at row 4 + 5k on a dark 28x28 frame, with noise."""
    rng = np.random.default_rng(seed)
    for label in range(classes):
        folder = root / f"bar{label}"
        folder.mkdir(parents=True)
        for index in range(per_class):
            pixels = rng.integers(0, 20, (28, 28)).astype(np.uint8)
            start = int(rng.integers(4, 10))
            pixels[4 + 5 * label: 7 + 5 * label, start:start + 14] = 230
            Image.fromarray(pixels).save(folder / f"{index:03d}.png")
    return root
