"""Activation functions by Keras name.

`get("relu")` returns a callable on torch tensors; `name_of(fn)` gives the name back so a
layer's config stays JSON. Softmax works over the last axis, which is the channel or class axis
in convscope's channels-last layout.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

Activation = Callable[[torch.Tensor], torch.Tensor]


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


def softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x, dim=-1)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    # Keras 3's default negative slope.
    return F.leaky_relu(x, negative_slope=0.2)


ACTIVATIONS: dict[str, Activation] = {
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": softmax,
    "linear": linear,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "leaky_relu": leaky_relu,
    "swish": F.silu,
    "silu": F.silu,
}


def get(identifier: str | Activation | None, *, owner: str = "activation") -> Activation:
    """Return the activation named `identifier` (None means linear).

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in ACTIVATIONS:
        return ACTIVATIONS[identifier.lower()]
    raise ValueError(
        f"{owner}: unknown activation {identifier!r}. "
        f"Expected one of: {', '.join(sorted(ACTIVATIONS))}."
    )


def name_of(fn: Activation) -> str:
    """The Keras name of an activation callable (for configs)."""
    for name, candidate in ACTIVATIONS.items():
        if candidate is fn:
            return "swish" if name == "silu" else name
    raise ValueError(
        f"activation {fn!r} is not one of convscope's named activations, so it cannot be "
        "saved in a config; pass its name instead (e.g. activation='relu')."
    )
