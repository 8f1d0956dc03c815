"""Embedding: integer token ids -> learned vectors, the first layer of a Conv1D text classifier."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from convscope import constraints, initializers, regularizers
from convscope.layers.base import Layer, WeightSlot
from convscope.layers.input_spec import Shape


def _initializer(value: Any, owner: str) -> initializers.Initializer:
    # Keras's "uniform" is RandomUniform(-0.05, 0.05), a name convscope's table does not hold.
    if value == "uniform":
        return initializers.RandomUniform(-0.05, 0.05)
    return initializers.get(value, owner=owner)


class Embedding(Layer):
    """Looks up row `i` of an (input_dim, output_dim) matrix for each id `i`:
    (batch, steps) ids -> (batch, steps, output_dim). Ids may come as floats (a model's inputs
    are float32; whole numbers up to 2**24 are exact) and are truncated to integers, as Keras
    casts them; negative ids count from the end, as Keras's `take` does.

    The weight, `embeddings`, has Keras's layout (input_dim, output_dim). `weights=[matrix]`
    starts it from a pretrained matrix (e.g. GloVe vectors). `mask_zero=True` makes id 0 padding:
    the layer's mask, True where the id is not 0, tells the layers after it (LSTM, GRU,
    GlobalAveragePooling1D, the loss) which steps are real (`convscope.layers.masking`); as in
    Keras, input_dim must then count id 0 too (vocabulary + 1).

    >>> Embedding(10_000, 64)  # then Conv1D(128, 5, activation="relu"), GlobalMaxPooling1D(), ...

    Raises:
        ValueError: for non-positive dimensions and, when called, ids outside [-input_dim, input_dim).
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 weights: Any = None, **kwargs: Any) -> None:
        if kwargs.pop("quantization_config", None) is not None:  # Keras 3 writes None for a plain layer
            raise ValueError("Embedding: quantization_config is not supported; convscope weights are float32.")
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Embedding: argument input_length is deprecated (Keras 3); remove it.", stacklevel=2)
        super().__init__(**kwargs)
        owner = "Embedding" if self.auto_named else self.label
        for argument, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{owner}: {argument} must be a positive integer; got {value!r}. input_dim is the "
                                 "vocabulary size (largest id + 1), output_dim the length of each vector.")
        self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, bool(mask_zero)
        # Keras's rule: with mask_zero the layer makes a mask (True where the id is not 0).
        self.supports_masking = self.makes_masks = self.mask_zero
        self.embeddings_initializer = _initializer(embeddings_initializer, f"{owner} embeddings_initializer")
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer, owner=f"{owner} embeddings_regularizer")
        self.embeddings_constraint = constraints.get(embeddings_constraint, owner=f"{owner} embeddings_constraint")
        self.initial_weights = None if weights is None else self.pretrained(weights, owner)
        self.embeddings: nn.Parameter | None = None

    def pretrained(self, weights: Any, owner: str) -> np.ndarray:
        matrix = np.asarray(weights[0] if isinstance(weights, list) and len(weights) == 1 else weights, np.float32)
        if matrix.shape != (self.input_dim, self.output_dim):
            raise ValueError(f"{owner}: weights must be one ({self.input_dim}, {self.output_dim}) matrix "
                             f"(input_dim, output_dim); got shape {matrix.shape}.")
        return matrix

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (*input_shape, self.output_dim)

    def compute_mask(self, inputs: Any, mask: Any) -> torch.Tensor | None:
        return inputs != 0 if self.mask_zero else None

    def build_weights(self, input_shape: Shape) -> None:
        shape = (self.input_dim, self.output_dim)
        start = self.embeddings_initializer(shape) if self.initial_weights is None else \
            torch.from_numpy(self.initial_weights)
        self.embeddings = nn.Parameter(start)

    def keras_weights(self) -> list[WeightSlot]:
        return [] if self.embeddings is None else [("embeddings", self.embeddings, (0, 1))]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        assert self.embeddings is not None  # built by check_input
        ids = inputs.long()  # truncates toward zero, as Keras's cast to int32
        # the range check reads the data, which torch.export cannot trace: an exported graph skips it
        if ids.numel() and not torch.compiler.is_compiling() and (int(ids.min()) < -self.input_dim or int(ids.max()) >= self.input_dim):
            raise ValueError(f"{self.label}: ids must lie in [0, {self.input_dim}) (input_dim {self.input_dim}); "
                             f"got ids from {int(ids.min())} to {int(ids.max())}. Raise input_dim to the vocabulary "
                             "size or map unknown words to an id below it.")
        return self.embeddings[torch.remainder(ids, self.input_dim)]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, input_dim={self.input_dim}, output_dim={self.output_dim}"
