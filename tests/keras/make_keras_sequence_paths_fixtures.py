"""Write the sequence models the user-path tests (tests/workflow/test_sequence_paths.py) read,
with real Keras.

Run with the Keras venv, from the repository root:
    benchmarks/.keras-env/bin/python tests/keras/make_keras_sequence_paths_fixtures.py
For each model NAME it writes NAME.keras, NAME.h5, NAME.npz and NAME_summary.txt (see
tests/keras_fixture_files.py). The models, one per kind of sequence a user brings:
`seq_signal`, Conv1D -> MaxPooling1D -> LSTM -> Dense on 1-D signals; `seq_tokens`,
Embedding(mask_zero=True) -> Bidirectional(GRU) -> Dense on token ids (the inputs end in
padding zeros of different lengths, so the mask shows in the predictions); `seq_clips`,
TimeDistributed(Conv2D) -> TimeDistributed(Flatten) -> LSTM -> Dense on short clips.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["COLUMNS"] = "250"  # rich sizes the summary table to the console

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

sys.path.insert(0, str(Path(__file__).parents[1]))
from keras_fixture_files import write_model_files  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
VOCABULARY = 20


def seq_signal() -> keras.Model:
    return keras.Sequential([
        keras.Input((40, 1)),
        layers.Conv1D(8, 5, activation="relu"),
        layers.MaxPooling1D(2),
        layers.LSTM(6),
        layers.Dense(3, activation="softmax"),
    ], name="seq_signal")


def seq_tokens() -> keras.Model:
    return keras.Sequential([
        keras.Input((10,), dtype="int32"),
        layers.Embedding(VOCABULARY, 5, mask_zero=True),
        layers.Bidirectional(layers.GRU(4)),
        layers.Dense(2, activation="softmax"),
    ], name="seq_tokens")


def seq_clips() -> keras.Model:
    return keras.Sequential([
        keras.Input((4, 8, 8, 1)),
        layers.TimeDistributed(layers.Conv2D(3, 3, activation="relu")),
        layers.TimeDistributed(layers.Flatten()),
        layers.LSTM(5),
        layers.Dense(3, activation="softmax"),
    ], name="seq_clips")


def inputs(name: str, rng: np.random.Generator) -> np.ndarray:
    if name == "seq_tokens":
        tokens = rng.integers(1, VOCABULARY, size=(4, 10)).astype("int32")
        for row, length in enumerate((10, 7, 3, 1)):
            tokens[row, length:] = 0  # padding at the end, as a tokenizer pads
        return tokens
    shape = {"seq_signal": (40, 1), "seq_clips": (4, 8, 8, 1)}[name]
    return rng.uniform(0.0, 1.0, size=(4, *shape)).astype("float32")


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for build in (seq_signal, seq_tokens, seq_clips):
        keras.backend.clear_session()  # layer names start again, as in a fresh script
        keras.utils.set_random_seed(0)
        model = build()
        rng = np.random.default_rng(1)
        model.set_weights([rng.uniform(-0.5, 0.5, size=w.shape).astype("float32") for w in model.weights])
        x = inputs(build.__name__, np.random.default_rng(3))
        write_model_files(FIXTURES, build.__name__, model, [x], [model.predict(x, verbose=0)])
        print(build.__name__, model.count_params(), "params")


if __name__ == "__main__":
    main()
