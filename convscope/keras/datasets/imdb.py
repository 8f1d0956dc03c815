"""Keras's `keras.datasets.imdb`."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def load_data(path: str | os.PathLike[str] = "imdb.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
              index_from: int = 3, **kwargs: Any) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)): reviews as object arrays of word-index lists and
    0/1 sentiment labels, as Keras loads them (see `convscope.data.word_sequences`). Keras accepts
    and ignores other keyword arguments; so does this."""
    from convscope.data.word_sequences import load_imdb

    return load_imdb(path, num_words, skip_top, maxlen, seed, start_char, oov_char, index_from)


def get_word_index(path: str | os.PathLike[str] = "imdb_word_index.json") -> dict[str, int]:
    """Word -> rank (1 = most frequent); add `index_from` (3) to match `load_data`'s sequences."""
    from convscope.data.word_sequences import get_word_index as word_index

    return word_index("imdb", path)
