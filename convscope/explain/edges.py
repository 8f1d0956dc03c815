"""Hand-set line filters on a real image or signal: before and after, step by step.

A vertical-line kernel responds where brightness changes from left to right, so vertical strokes
stand out; its transpose does the same for horizontal strokes. Each filtered image then goes
through ReLU and 2x2 max pooling, which halves it (26x26 -> 13x13 for a 28x28 digit) and keeps
the strongest responses. The 1-D version uses a rising-edge and a peak kernel on a signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convscope.explain import reference


def line_kernels(rank: int = 2) -> dict[str, np.ndarray]:
    """Hand-set kernels: 2-D 'vertical' and 'horizontal' (3x3); 1-D 'rise' and 'peak' (3,).

    >>> line_kernels()["vertical"]
    array([[-1.,  0.,  1.],
           [-2.,  0.,  2.],
           [-1.,  0.,  1.]])
    """
    if rank == 2:
        vertical = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
        return {"vertical": vertical, "horizontal": vertical.T.copy()}
    if rank == 1:
        return {"rise": np.array([-1.0, 0.0, 1.0]), "peak": np.array([-1.0, 2.0, -1.0])}
    raise ValueError(f"line_kernels: rank must be 1 (signals) or 2 (images); got {rank}.")


@dataclass(frozen=True)
class EdgeDemo:
    """An input and, per kernel, its filtered, rectified and pooled versions.

    Shapes for a 28x28 image and 3x3 kernels: image (28, 28), filtered (26, 26),
    activated (26, 26), pooled (13, 13). For a signal of length L: (L,), (L-2,), (L-2,), ((L-2)//2,).
    """

    image: np.ndarray = field(repr=False)
    kernels: dict[str, np.ndarray] = field(repr=False)
    filtered: dict[str, np.ndarray] = field(repr=False)
    activated: dict[str, np.ndarray] = field(repr=False)
    pooled: dict[str, np.ndarray] = field(repr=False)
    pool_size: int = 2

    @property
    def rank(self) -> int:
        return self.image.ndim

    @property
    def response(self) -> dict[str, float]:
        """Mean rectified response per kernel: how much of that line shape the input holds."""
        return {name: float(values.mean()) for name, values in self.activated.items()}


def _as_plain(image: Any) -> np.ndarray:
    """(H, W), (H, W, C) or (L,), (L, 1) as a float64 (H, W) or (L,) array; colours averaged."""
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 3 or (array.ndim == 2 and array.shape[-1] == 1):
        array = array.mean(axis=-1)
    if array.ndim not in (1, 2):
        raise ValueError(f"edge_demo: expected an image (H, W) / (H, W, C) or a signal (L,); got "
                         f"shape {np.shape(image)}. Fix: pass one example, e.g. x_train[0].")
    return array


def edge_demo(image: Any, kernels: dict[str, Any] | None = None, pool_size: int = 2) -> EdgeDemo:
    """Filter one image (or signal) with line kernels, then ReLU, then max pooling.

    Args:
        image: (H, W), (H, W, C) or a signal (L,) / (L, 1).
        kernels: name -> kernel (2-D for images, 1-D for signals); default `line_kernels`.
        pool_size: pooling window and stride.

    Returns:
        EdgeDemo with the before and after arrays for every kernel.

    Raises:
        ValueError: for other shapes or kernels of the wrong rank.
    """
    plain = _as_plain(image)
    chosen = {name: np.asarray(k, dtype=np.float64) for name, k in (kernels or line_kernels(plain.ndim)).items()}
    for name, kernel in chosen.items():
        if kernel.ndim != plain.ndim:
            raise ValueError(f"edge_demo: kernel {name!r} has shape {kernel.shape}; a {plain.ndim}-D "
                             f"input needs {plain.ndim}-D kernels.")
    convolve = reference.conv2d if plain.ndim == 2 else reference.conv1d
    pool = reference.max_pool2d if plain.ndim == 2 else reference.max_pool1d
    filtered = {name: convolve(plain, kernel) for name, kernel in chosen.items()}
    activated = {name: reference.relu(values) for name, values in filtered.items()}
    pooled = {name: pool(values, pool_size) for name, values in activated.items()}
    return EdgeDemo(plain, chosen, filtered, activated, pooled, pool_size)
