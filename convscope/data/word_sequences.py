"""Keras's text datasets as word-index sequences: IMDB reviews (sentiment) and Reuters newswires
(46 topics).

Each review or newswire is a list of word ranks (1 = the most frequent word). Loading shuffles
with ``np.random.RandomState(seed)``, shifts every rank by `index_from` and puts `start_char` in
front (so 0 stays the padding value), drops sequences of `maxlen` words or more, and replaces
words outside ``skip_top <= w < num_words`` by `oov_char` (or drops them when it is None): Keras's
numbers for the same file and seed. Sequences come back as object arrays of Python lists, as in
Keras; pad them with `convscope.keras.utils.pad_sequences`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from convscope.data.remote_files import REMOTE_FILES, resolve
from convscope.data.restricted_pickle import DatasetFileError, load_npz, require_keys

Split = tuple[np.ndarray, np.ndarray]
PathLike = str | os.PathLike[str]

REUTERS_LABELS = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing", "money-supply", "coffee",
    "sugar", "trade", "reserves", "ship", "cotton", "carcass", "crude", "nat-gas", "cpi", "money-fx",
    "interest", "gnp", "meal-feed", "alum", "oilseed", "gold", "tin", "strategic-metal", "livestock",
    "retail", "ipi", "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def _shuffled(rng: np.random.RandomState, xs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    indices = np.arange(len(xs))
    rng.shuffle(indices)
    return xs[indices], labels[indices]


def shift(xs: Any, start_char: int | None, index_from: int) -> Any:
    """Ranks moved up by `index_from`, `start_char` in front (Keras keeps the array when both are off)."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    if index_from:
        return [[w + index_from for w in x] for x in xs]
    return xs


def remove_long(maxlen: int, xs: Any, labels: Any) -> tuple[list[Any], list[Any]]:
    """Keep the sequences strictly shorter than `maxlen` (Keras's `remove_long_seq`)."""
    kept = [(x, label) for x, label in zip(xs, labels, strict=False) if len(x) < maxlen]
    return [x for x, _ in kept], [label for _, label in kept]


def limit_vocabulary(xs: Any, num_words: int | None, skip_top: int, oov_char: int | None) -> list[list[int]]:
    """Words outside ``skip_top <= w < num_words`` become `oov_char`, or are dropped when it is None."""
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def _read(path: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    arrays = load_npz(path)
    require_keys(arrays, keys, path)
    return arrays


def load_imdb(path: PathLike = "imdb.npz", num_words: int | None = None, skip_top: int = 0,
              maxlen: int | None = None, seed: int = 113, start_char: int | None = 1, oov_char: int | None = 2,
              index_from: int = 3, *, download: bool = True, progress: bool = True) -> tuple[Split, Split]:
    """((x_train, y_train), (x_test, y_test)): x object arrays of word-index lists, y int labels 0/1.

    Raises:
        ValueError: `maxlen` leaves no training or no test sequence; `DatasetFileError` for an
            unreadable file.
    """
    file = resolve(REMOTE_FILES["imdb.npz"], path, download=download, progress=progress)
    arrays = _read(file, ("x_train", "y_train", "x_test", "y_test"))
    rng = np.random.RandomState(seed)
    x_train, labels_train = _shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = _shuffled(rng, arrays["x_test"], arrays["y_test"])  # the same generator, as Keras
    train: list[Any] = [list(x) for x in shift(x_train, start_char, index_from)]
    test: list[Any] = [list(x) for x in shift(x_test, start_char, index_from)]
    if maxlen:
        train, labels_train = remove_long(maxlen, train, labels_train)  # type: ignore[assignment]
        test, labels_test = remove_long(maxlen, test, labels_test)  # type: ignore[assignment]
        if not train or not test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")
    xs = limit_vocabulary(train + test, num_words, skip_top, oov_char)
    labels = np.concatenate([labels_train, labels_test])
    cut = len(train)
    return (np.array(xs[:cut], dtype="object"), labels[:cut]), (np.array(xs[cut:], dtype="object"), labels[cut:])


def load_reuters(path: PathLike = "reuters.npz", num_words: int | None = None, skip_top: int = 0,
                 maxlen: int | None = None, test_split: float = 0.2, seed: int = 113, start_char: int | None = 1,
                 oov_char: int | None = 2, index_from: int = 3, *, download: bool = True,
                 progress: bool = True) -> tuple[Split, Split]:
    """((x_train, y_train), (x_test, y_test)): x object arrays of word-index lists, y int topics 0-45;
    the first ``int(n * (1 - test_split))`` shuffled newswires train."""
    file = resolve(REMOTE_FILES["reuters.npz"], path, download=download, progress=progress)
    arrays = _read(file, ("x", "y"))
    shuffled, labels = _shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    sequences: Any = shift(shuffled, start_char, index_from)
    if maxlen:
        sequences, labels = remove_long(maxlen, sequences, labels)  # type: ignore[assignment]
    xs = limit_vocabulary(sequences, num_words, skip_top, oov_char)
    cut = int(len(xs) * (1 - test_split))
    return ((np.array(xs[:cut], dtype="object"), np.array(labels[:cut])),
            (np.array(xs[cut:], dtype="object"), np.array(labels[cut:])))


def get_word_index(dataset: str, path: PathLike | None = None, *, download: bool = True,
                   progress: bool = True) -> dict[str, int]:
    """Word -> rank (1 = most frequent) of ``"imdb"`` or ``"reuters"``; add `index_from` to match
    the loaded sequences."""
    remote = REMOTE_FILES[f"{dataset}_word_index.json"]
    file = resolve(remote, path, download=download, progress=progress)
    try:
        index = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetFileError(file, f"is not a JSON word index ({error})") from error
    if not isinstance(index, dict):
        raise DatasetFileError(file, f"holds a JSON {type(index).__name__}, not a word -> index object")
    return index
