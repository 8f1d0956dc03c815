"""Keras's `keras.datasets.reuters`."""

from __future__ import annotations

import os

import numpy as np


def load_data(path: str | os.PathLike[str] = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, test_split: float = 0.2, seed: int = 113, start_char: int | None = 1,
              oov_char: int | None = 2, index_from: int = 3
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)): newswires as object arrays of word-index lists and
    topic labels 0-45, as Keras loads them (see `convscope.data.word_sequences`)."""
    from convscope.data.word_sequences import load_reuters

    return load_reuters(path, num_words, skip_top, maxlen, test_split, seed, start_char, oov_char, index_from)


def get_word_index(path: str | os.PathLike[str] = "reuters_word_index.json") -> dict[str, int]:
    """Word -> rank (1 = most frequent); add `index_from` (3) to match `load_data`'s sequences."""
    from convscope.data.word_sequences import get_word_index as word_index

    return word_index("reuters", path)


def get_label_names() -> tuple[str, ...]:
    """The 46 topic names, index = label."""
    from convscope.data.word_sequences import REUTERS_LABELS

    return REUTERS_LABELS
