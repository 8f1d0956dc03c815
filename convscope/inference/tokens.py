"""Models that take token ids: an Embedding first reads the input, so the values are indices
into its table, used as they are (never scaled like pixels), and 0 is padding when the
Embedding has mask_zero=True.

    >>> token_vocabulary(model)      # Sequential([Input((10,)), Embedding(20, 5, mask_zero=True), ...])
    20
"""

from __future__ import annotations

from typing import Any

import numpy as np


def token_vocabulary(model: Any) -> int | None:
    """The `input_dim` of the Embedding that reads `model`'s input, or None when the first layer
    is not an Embedding."""
    from convscope.layers.embedding import Embedding

    first = next((layer for layer in model.layers if type(layer).__name__ != "InputLayer"), None)
    return int(first.input_dim) if isinstance(first, Embedding) else None


def check_token_ids(array: np.ndarray, vocabulary: int) -> np.ndarray:
    """`array` as int64 token ids, or ValueError naming what a token model needs: whole
    numbers in [0, vocabulary)."""
    values = np.asarray(array)
    if values.size and not (np.isfinite(values).all() and np.array_equal(values, np.round(values))):
        raise ValueError(f"this model reads token ids (an Embedding of {vocabulary} entries first); the values "
                         "must be whole numbers, got fractions.")
    ids = values.astype(np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= vocabulary):
        raise ValueError(f"this model reads token ids in 0..{vocabulary - 1} (its Embedding has {vocabulary} entries); "
                         f"got {ids.min()}..{ids.max()}.")
    return ids


def example_token_ids(vocabulary: int, shape: tuple[int, ...], count: int, seed: int = 0) -> np.ndarray:
    """`count` random token sequences shaped `shape`, each ending in padding zeros of a different
    length (none in the first), so a mask changes the answers."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, max(2, vocabulary), size=(count, *shape)).astype(np.float32)
    steps = shape[0] if shape else 1
    for row in range(count):
        ids[row, steps - row * steps // count:] = 0
    return ids
