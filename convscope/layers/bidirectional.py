"""Bidirectional: one recurrent layer reads the sequence forwards, a copy reads it backwards, and
their outputs are merged (concatenated by default), as Keras's wrapper does."""

from __future__ import annotations

import copy
from typing import Any

import torch

from convscope.layers.base import Layer, NameClaim, WeightSlot
from convscope.layers.input_spec import Shape
from convscope.layers.multi_output import MultiOutputLayer
from convscope.layers.recurrent import Recurrent

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def recurrent_layer(owner: str, argument: str, value: Any) -> Recurrent:
    """`value` as a recurrent layer: a SimpleRNN/LSTM/GRU instance or its {"class_name", "config"}."""
    if isinstance(value, dict) and isinstance(value.get("config"), dict):
        from convscope.layers import get  # the registry imports this module

        value = get(str(value.get("class_name")), value.get("registered_name")).from_config(dict(value["config"]))
    if not isinstance(value, Recurrent) or value.input_rank != 3:  # a cell (input_rank 2) is one step
        raise ValueError(f"{owner}: {argument} must be a recurrent layer (SimpleRNN, LSTM or GRU); got "
                         f"{type(value).__name__}. Wrap e.g. layers.LSTM(32, return_sequences=True).")
    return value


def renamed(layer: Recurrent, prefix: str, **changes: Any) -> Recurrent:
    """A fresh copy of `layer` (no weights) from its config, named `prefix` + its name."""
    config = copy.deepcopy(layer.get_config())
    config["name"] = prefix + config["name"].removeprefix(prefix)
    config.update(changes)
    fresh = type(layer).from_config(config)
    assert isinstance(fresh, Recurrent)
    return fresh


class Bidirectional(MultiOutputLayer):
    """Runs `layer` forwards and a copy of it backwards (go_backwards flipped, or
    `backward_layer`) on the same (batch, steps, features) input, then merges the outputs:
    merge_mode "concat" (features side by side), "sum", "mul", "ave", or None (both, as a list).
    With return_sequences the backward outputs are put back in time order first. With
    return_state the states of both layers follow the output. A mask on the input reaches both
    layers; as in Keras, with return_sequences their masked steps output zeros
    (zero_output_for_mask is set to return_sequences). A call's `initial_state` lists the
    forward layer's states, then the backward layer's.

    Weights: the forward layer's, then the backward layer's (Keras's order).

    >>> Bidirectional(LSTM(32, return_sequences=True))  # (N, T, F) -> (N, T, 64)

    Raises:
        ValueError: for a layer that is not SimpleRNN/LSTM/GRU, an unknown merge_mode, or a
            backward_layer that differs in return_sequences/return_state or reads the same way.
    """

    supports_masking = True

    def __init__(self, layer: Any, merge_mode: str | None = "concat", weights: Any = None,
                 backward_layer: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "Bidirectional" if self.auto_named else self.label
        if merge_mode not in MERGE_MODES:
            raise ValueError(f"{owner}: merge_mode must be one of 'concat', 'sum', 'mul', 'ave' or None; got "
                             f"{merge_mode!r}.")
        layer = recurrent_layer(owner, "layer", layer)
        self.source_claim = layer.name_claim()  # the copied layer's name, still counted (inner_name_claims)
        self.source_claim.rename = self.rename_source
        self.forward_layer = renamed(layer, "forward_")
        self.backward_copied = backward_layer is None
        if backward_layer is None:
            self.backward_layer = renamed(layer, "backward_", go_backwards=not layer.go_backwards)
        else:
            self.backward_layer = recurrent_layer(owner, "backward_layer", backward_layer)
        self.check_pair(owner)
        for inner in (self.forward_layer, self.backward_layer):  # Keras forces this on both layers
            inner.zero_output_for_mask = inner.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state
        self.initial_weights = weights

    def check_pair(self, owner: str) -> None:
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(f"{owner}: the forward and backward layers must read in opposite directions; both "
                             f"have go_backwards={forward.go_backwards}. Give backward_layer go_backwards=True.")
        for attribute in ("return_sequences", "return_state"):
            if getattr(forward, attribute) != getattr(backward, attribute):
                raise ValueError(f"{owner}: the forward and backward layers must have the same {attribute}; got "
                                 f"{getattr(forward, attribute)} and {getattr(backward, attribute)}.")

    def inner_name_claims(self) -> list[NameClaim]:
        """As Keras counts names: the layer copied (its copies are named forward_<name> and
        backward_<name>) and a backward_layer given."""
        given = [] if self.backward_copied else [self.backward_layer.name_claim()]
        return [self.source_claim, *given]

    def rename_source(self, name: str) -> None:
        """The copied layer's unique name, and its copies' names after it."""
        self.source_claim.name = name
        self.forward_layer.name = "forward_" + name.removeprefix("forward_")
        if self.backward_copied:
            self.backward_layer.name = "backward_" + name.removeprefix("backward_")

    # -- shapes and weights -------------------------------------------------------------------
    def output_shapes(self, input_shape: Shape) -> list[Shape]:
        forward = self.forward_layer.output_shapes(input_shape)
        backward = self.backward_layer.output_shapes(input_shape)
        first, other = forward[0], backward[0]
        if self.merge_mode is None:
            outputs = [first, other]
        elif self.merge_mode == "concat":
            outputs = [(*first[:-1], self.forward_layer.units + self.backward_layer.units)]
        else:
            outputs = [first]
        return [*outputs, *forward[1:], *backward[1:]]

    def build_weights(self, input_shape: Shape) -> None:
        if self.merge_mode in ("sum", "mul", "ave") and self.forward_layer.units != self.backward_layer.units:
            raise ValueError(f"{self.label}: merge_mode={self.merge_mode!r} needs both layers to have the same "
                             f"units; got {self.forward_layer.units} and {self.backward_layer.units}.")
        self.forward_layer.build(input_shape)
        self.backward_layer.build(input_shape)
        if self.initial_weights is not None:
            self.set_weights(list(self.initial_weights))
            self.initial_weights = None

    def keras_weights(self) -> list[WeightSlot]:
        return [(f"{layer.name}/{name}", tensor, order)
                for layer in (self.forward_layer, self.backward_layer) for name, tensor, order in layer.keras_weights()]

    def keras_var_groups(self) -> list[tuple[str, int]]:
        """Where Keras 3's weights file holds the weights: forward_layer/cell, backward_layer/cell."""
        return [(f"{side}/cell", len(layer.keras_weights()))
                for side, layer in (("forward_layer", self.forward_layer), ("backward_layer", self.backward_layer))]

    def regularization_penalty(self) -> torch.Tensor | None:
        terms = [term for term in (self.activity_penalty, self.forward_layer.regularization_penalty(),
                                   self.backward_layer.regularization_penalty()) if term is not None]
        return sum(terms[1:], terms[0]) if terms else None

    @torch.no_grad()
    def apply_constraints(self) -> None:
        self.forward_layer.apply_constraints()
        self.backward_layer.apply_constraints()

    # -- the forward pass -----------------------------------------------------------------------
    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        output_mask = mask if self.return_sequences else None
        outputs = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            outputs += [None] * (self.forward_layer.states + self.backward_layer.states)
        return outputs if len(outputs) > 1 else outputs[0]

    def state_sizes(self) -> list[int]:
        return self.forward_layer.state_sizes() + self.backward_layer.state_sizes()

    def state_names(self) -> str:
        return f"the forward layer's {self.forward_layer.state_names()} then the backward layer's " \
               f"{self.backward_layer.state_names()}"

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None, initial_state: Any = None) -> Any:
        first = self.forward_layer.states
        forward_state, backward_state = (None, None) if initial_state is None else \
            (initial_state[:first], initial_state[first:])  # Keras's halves
        forward = self.forward_layer.call(inputs, mask, forward_state)
        backward = self.backward_layer.call(inputs, mask, backward_state)
        states: list[torch.Tensor] = []
        if self.return_state:
            states = [*forward[1:], *backward[1:]]
            forward, backward = forward[0], backward[0]
        if self.return_sequences:
            backward = backward.flip(1)
        if self.merge_mode is None:
            return [forward, backward, *states]
        merged = {"concat": lambda: torch.cat([forward, backward], dim=-1), "sum": lambda: forward + backward,
                  "mul": lambda: forward * backward, "ave": lambda: (forward + backward) / 2}[self.merge_mode]()
        return [merged, *states] if self.return_state else merged

    def get_config(self) -> dict[str, Any]:
        def entry(layer: Layer) -> dict[str, Any]:
            return {"class_name": type(layer).__name__, "config": layer.get_config()}

        return {**super().get_config(), "merge_mode": self.merge_mode, "layer": entry(self.forward_layer),
                "backward_layer": entry(self.backward_layer)}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, merge_mode={self.merge_mode!r}"
