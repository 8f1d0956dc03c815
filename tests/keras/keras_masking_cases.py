"""Masked models built the same way under real Keras (the fixture writer) and convscope (the
tests): each case is a function of the `keras` namespace (`keras` or `convscope.keras`)
returning a model whose first layer makes a mask (Embedding(mask_zero=True) or Masking).
Inputs are padded both ways, as `pad_sequences` does before (Keras's default) and after."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

STEPS, VOCABULARY = 7, 12


def embedded(keras: Any, *body: Any) -> Any:
    return keras.Sequential([keras.Input((STEPS,)), keras.layers.Embedding(VOCABULARY, 4, mask_zero=True), *body])


def masked(keras: Any, *body: Any) -> Any:
    return keras.Sequential([keras.Input((STEPS, 3)), keras.layers.Masking(mask_value=0.0), *body])


def bidirectional_graph(keras: Any) -> Any:
    inputs = keras.Input((STEPS,))
    vectors = keras.layers.Embedding(VOCABULARY, 4, mask_zero=True)(inputs)
    sequences = keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True))(vectors)
    last = keras.layers.Bidirectional(keras.layers.LSTM(2), merge_mode="sum")(sequences)
    return keras.Model(inputs, keras.layers.Dense(2)(last))


# name -> (builder, input kind: "ids" or "features")
CASES: dict[str, tuple[Callable[[Any], Any], str]] = {
    "embedding_lstm": (lambda keras: embedded(keras, keras.layers.LSTM(3)), "ids"),
    "embedding_lstm_sequences": (lambda keras: embedded(keras, keras.layers.LSTM(3, return_sequences=True)), "ids"),
    "embedding_lstm_backwards": (lambda keras: embedded(
        keras, keras.layers.LSTM(3, return_sequences=True, go_backwards=True)), "ids"),
    "embedding_gru_zero_output": (lambda keras: embedded(
        keras, keras.layers.GRU(3, return_sequences=True, zero_output_for_mask=True)), "ids"),
    "embedding_bidirectional_gru": (lambda keras: embedded(
        keras, keras.layers.Bidirectional(keras.layers.GRU(3, return_sequences=True))), "ids"),
    "embedding_bidirectional_lstm": (lambda keras: embedded(
        keras, keras.layers.Bidirectional(keras.layers.LSTM(3))), "ids"),
    "embedding_bidirectional_graph": (bidirectional_graph, "ids"),
    "embedding_average": (lambda keras: embedded(keras, keras.layers.GlobalAveragePooling1D()), "ids"),
    "embedding_dense_dropout_rnn": (lambda keras: embedded(
        keras, keras.layers.TimeDistributed(keras.layers.Dense(5, activation="relu")), keras.layers.Dropout(0.3),
        keras.layers.SpatialDropout1D(0.2), keras.layers.LayerNormalization(),
        keras.layers.SimpleRNN(3, return_sequences=True), keras.layers.TimeDistributed(keras.layers.Dense(2)),
        keras.layers.Activation("tanh"), keras.layers.GlobalAveragePooling1D()), "ids"),
    "masking_simple_rnn": (lambda keras: masked(keras, keras.layers.SimpleRNN(3, return_sequences=True)), "features"),
    "masking_lstm_relu": (lambda keras: masked(keras, keras.layers.LSTM(3, activation="relu")), "features"),
    # Layers that do not support masking drop the mask (Keras warns): the pooling sees every step.
    "embedding_conv_pool": (lambda keras: embedded(
        keras, keras.layers.Conv1D(3, 2), keras.layers.GlobalMaxPooling1D()), "ids"),
    "embedding_flatten": (lambda keras: embedded(keras, keras.layers.Flatten(), keras.layers.Dense(2)), "ids"),
}


def padded_inputs(kind: str, seed: int) -> dict[str, np.ndarray]:
    """{"pre": ..., "post": ...}: the same five sequences (lengths 7, 4, 2, 1, 5) padded with
    zeros before and after their real steps (ids from 1, or nonzero feature vectors)."""
    rng = np.random.default_rng(seed)
    lengths = [STEPS, 4, 2, 1, 5]
    sequences = [rng.integers(1, VOCABULARY, size=length) if kind == "ids"
                 else rng.normal(size=(length, 3)) for length in lengths]
    shape = (len(lengths), STEPS) if kind == "ids" else (len(lengths), STEPS, 3)
    batches = {}
    for padding in ("pre", "post"):
        batch = np.zeros(shape, np.float32)
        for row, sequence in enumerate(sequences):
            if padding == "pre":
                batch[row, STEPS - len(sequence):] = sequence
            else:
                batch[row, :len(sequence)] = sequence
        batches[padding] = batch
    return batches


def sequence_task(seed: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Padded id sequences and per-step labels (the id's parity; padding labelled 0), for a
    masked return_sequences model's loss and metrics."""
    rng = np.random.default_rng(seed)
    x = np.zeros((samples, STEPS), np.float32)
    for row in range(samples):
        length = int(rng.integers(1, STEPS + 1))
        x[row, STEPS - length:] = rng.integers(1, VOCABULARY, size=length)
    return x, (x % 2).astype(np.float32)


def tagger(keras: Any) -> Any:
    """Embedding(mask_zero) -> LSTM(return_sequences) -> TimeDistributed(Dense(2, softmax)): one
    label per step."""
    return embedded(keras, keras.layers.LSTM(4, return_sequences=True),
                    keras.layers.TimeDistributed(keras.layers.Dense(2, activation="softmax")))


# Layers that combine or use masks beyond passing them on (fixtures/masking_extras.*).

def paired(keras: Any, merge: Any, body: Any = None, masked_second: bool = True) -> Any:
    """Two id inputs, each embedded (the second with or without mask_zero), merged by `merge`,
    then `body` (an LSTM over the merged steps by default)."""
    first, second = keras.Input((STEPS,)), keras.Input((STEPS,))
    a = keras.layers.Embedding(VOCABULARY, 3, mask_zero=True)(first)
    b = keras.layers.Embedding(VOCABULARY, 3, mask_zero=masked_second)(second)
    merged = merge([a, b])
    body = body if body is not None else keras.layers.LSTM(2, return_sequences=True)
    return keras.Model([first, second], body(merged))


def nested(keras: Any) -> Any:
    """A Sequential model (Embedding(mask_zero) -> Dense) used as a layer before an LSTM."""
    inner = keras.Sequential([keras.Input((STEPS,)), keras.layers.Embedding(VOCABULARY, 4, mask_zero=True),
                              keras.layers.Dense(3)])
    return keras.Sequential([keras.Input((STEPS,)), inner, keras.layers.LSTM(2, return_sequences=True)])


def grid(keras: Any) -> Any:
    """Ids of shape (rows, STEPS): a (batch, rows, STEPS) mask; TimeDistributed(LSTM) reads each row."""
    return keras.Sequential([keras.Input((3, STEPS)), keras.layers.Embedding(VOCABULARY, 4, mask_zero=True),
                             keras.layers.TimeDistributed(keras.layers.LSTM(2))])


# name -> (builder, input kind: "ids", "id_pairs" (two inputs) or "id_grid" (batch, 3, STEPS))
EXTRA_CASES: dict[str, tuple[Callable[[Any], Any], str]] = {
    "add": (lambda keras: paired(keras, keras.layers.Add()), "id_pairs"),
    "subtract": (lambda keras: paired(keras, keras.layers.Subtract()), "id_pairs"),
    "average": (lambda keras: paired(keras, keras.layers.Average()), "id_pairs"),
    "multiply": (lambda keras: paired(keras, keras.layers.Multiply()), "id_pairs"),
    "maximum": (lambda keras: paired(keras, keras.layers.Maximum()), "id_pairs"),
    "minimum": (lambda keras: paired(keras, keras.layers.Minimum()), "id_pairs"),
    "concatenate_features": (lambda keras: paired(keras, keras.layers.Concatenate()), "id_pairs"),
    "concatenate_steps": (lambda keras: paired(keras, keras.layers.Concatenate(axis=1)), "id_pairs"),
    "concatenate_steps_average": (lambda keras: paired(
        keras, keras.layers.Concatenate(axis=1), keras.layers.GlobalAveragePooling1D()), "id_pairs"),
    # One input without a mask: Add, Average and Concatenate(axis=-1) keep no mask; Multiply,
    # Maximum and Minimum still fill the masked input's steps from the other.
    "add_one_masked": (lambda keras: paired(keras, keras.layers.Add(), masked_second=False), "id_pairs"),
    "multiply_one_masked": (lambda keras: paired(keras, keras.layers.Multiply(), masked_second=False), "id_pairs"),
    "maximum_one_masked": (lambda keras: paired(keras, keras.layers.Maximum(), masked_second=False), "id_pairs"),
    "concatenate_steps_one_masked": (lambda keras: paired(
        keras, keras.layers.Concatenate(axis=1), masked_second=False), "id_pairs"),
    "nested_sequential": (nested, "ids"),
    "time_distributed_lstm": (grid, "id_grid"),
}


def extra_inputs(kind: str, seed: int) -> dict[str, list[np.ndarray]]:
    """{"pre": [...], "post": [...]}: the model inputs for an EXTRA_CASES kind."""
    if kind == "ids":
        return {padding: [x] for padding, x in padded_inputs(kind, seed).items()}
    if kind == "id_pairs":
        first, second = padded_inputs("ids", seed), padded_inputs("ids", seed + 1000)
        return {"pre": [first["pre"], second["post"]], "post": [first["post"], second["pre"]]}
    rows = [padded_inputs("ids", seed + row) for row in range(3)]
    return {padding: [np.stack([row[padding] for row in rows], axis=1)] for padding in ("pre", "post")}


# A mask from the outer model passing into a model used as a layer (fixtures/masking_nested.*).

def into_sequential(keras: Any, *inner: Any, built: bool = True) -> Any:
    """Embedding(mask_zero) in the outer model, then a Sequential model of `inner` layers."""
    head = [keras.Input((STEPS, 4))] if built else []
    return embedded(keras, keras.Sequential([*head, *inner]))


def encoder(keras: Any, *, sequences: bool) -> Any:
    """Embedding(mask_zero) -> a functional encoder (LSTM -> Dense per step) -> an LSTM, or the
    encoder's steps themselves (`sequences`), in a functional outer model."""
    steps = keras.Input((STEPS, 4))
    inner = keras.Model(steps, keras.layers.Dense(3)(keras.layers.LSTM(3, return_sequences=True)(steps)))
    ids = keras.Input((STEPS,))
    encoded = inner(keras.layers.Embedding(VOCABULARY, 4, mask_zero=True)(ids))
    return keras.Model(ids, encoded if sequences else keras.layers.LSTM(2)(encoded))


def two_inputs(keras: Any) -> Any:
    """Two embedded id inputs (both mask_zero) into a functional model that adds them and runs an LSTM."""
    left, right = keras.Input((STEPS, 3)), keras.Input((STEPS, 3))
    inner = keras.Model([left, right], keras.layers.LSTM(2, return_sequences=True)(keras.layers.Add()([left, right])))
    first, second = keras.Input((STEPS,)), keras.Input((STEPS,))
    a = keras.layers.Embedding(VOCABULARY, 3, mask_zero=True)(first)
    b = keras.layers.Embedding(VOCABULARY, 3, mask_zero=True)(second)
    return keras.Model([first, second], inner([a, b]))


def twice_nested(keras: Any) -> Any:
    """A Sequential model holding a Sequential model, after the outer Embedding(mask_zero)."""
    innermost = keras.Sequential([keras.Input((STEPS, 4)), keras.layers.GRU(3, return_sequences=True)])
    return into_sequential(keras, innermost, keras.layers.GlobalAveragePooling1D())


def masked_nested_text(keras: Any) -> Any:
    """The model saved by Keras as fixtures/masked_nested.keras."""
    return into_sequential(keras, keras.layers.LSTM(4, return_sequences=True), keras.layers.GlobalAveragePooling1D(),
                           keras.layers.Dense(1, activation="sigmoid"))


# name -> (builder, input kind as in EXTRA_CASES)
NESTED_CASES: dict[str, tuple[Callable[[Any], Any], str]] = {
    "sequential_lstm_average": (lambda keras: into_sequential(
        keras, keras.layers.LSTM(3, return_sequences=True), keras.layers.GlobalAveragePooling1D()), "ids"),
    "sequential_lstm_steps": (lambda keras: into_sequential(
        keras, keras.layers.LSTM(3, return_sequences=True), keras.layers.Dense(2)), "ids"),
    "sequential_unbuilt": (lambda keras: into_sequential(
        keras, keras.layers.LSTM(3, return_sequences=True), built=False), "ids"),
    "sequential_conv": (lambda keras: into_sequential(
        keras, keras.layers.Conv1D(3, 2), keras.layers.GlobalAveragePooling1D()), "ids"),
    "sequential_twice": (twice_nested, "ids"),
    "functional_encoder_lstm": (lambda keras: encoder(keras, sequences=False), "ids"),
    "functional_encoder_steps": (lambda keras: encoder(keras, sequences=True), "ids"),
    "functional_two_inputs": (two_inputs, "id_pairs"),
}
