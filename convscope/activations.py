"""Activation functions by Keras name, with Keras 3's arguments and defaults.

`get("relu")` returns a callable on torch tensors; `name_of(fn)` gives the name back so a
layer's config stays JSON. Each function also takes NumPy arrays or lists, as Keras's do.
Softmax works over the last axis, which is the channel or class axis in convscope's
channels-last layout.

    >>> gelu(torch.tensor([1.0]))  # exact (erf) form: Keras's default approximate=False
    tensor([0.8413])
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from convscope import _registry

Activation = Callable[[torch.Tensor], torch.Tensor]

__all__ = [
    "elu", "exponential", "gelu", "get", "hard_sigmoid", "hard_silu", "hard_swish", "leaky_relu", "linear",
    "log_softmax", "mish", "name_of", "relu", "relu6", "selu", "sigmoid", "silu", "softmax", "softplus",
    "softsign", "swish", "tanh",
]


def _tensor(x: Any) -> torch.Tensor:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float32)


def linear(x: Any) -> torch.Tensor:
    """x unchanged."""
    return _tensor(x)


def relu(x: Any, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> torch.Tensor:
    """max(x, 0); below `threshold` the slope is `negative_slope`, and `max_value` caps it."""
    x = _tensor(x)
    if negative_slope == 0 and threshold == 0:
        outputs = torch.relu(x)
    else:
        outputs = torch.where(x >= threshold, x, negative_slope * (x - threshold))
    return outputs if max_value is None else outputs.clamp_max(max_value)


def relu6(x: Any) -> torch.Tensor:
    """min(max(x, 0), 6)."""
    return F.relu6(_tensor(x))


def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """x for x >= 0, negative_slope * x below (Keras 3's function default is 0.2)."""
    return F.leaky_relu(_tensor(x), negative_slope=negative_slope)


def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """x for x > 0, alpha * (exp(x) - 1) below."""
    return F.elu(_tensor(x), alpha=alpha)


def selu(x: Any) -> torch.Tensor:
    """scale * elu(x, alpha) with the self-normalising constants (1.0507..., 1.6732...)."""
    return F.selu(_tensor(x))


def sigmoid(x: Any) -> torch.Tensor:
    """1 / (1 + exp(-x))."""
    return torch.sigmoid(_tensor(x))


def hard_sigmoid(x: Any) -> torch.Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between (Keras 3's definition)."""
    return F.hardsigmoid(_tensor(x))


def tanh(x: Any) -> torch.Tensor:
    return torch.tanh(_tensor(x))


def softplus(x: Any) -> torch.Tensor:
    """log(exp(x) + 1)."""
    return F.softplus(_tensor(x))


def softsign(x: Any) -> torch.Tensor:
    """x / (|x| + 1)."""
    return F.softsign(_tensor(x))


def silu(x: Any) -> torch.Tensor:
    """x * sigmoid(x) (also called swish)."""
    return F.silu(_tensor(x))


swish = silu


def hard_silu(x: Any) -> torch.Tensor:
    """x * hard_sigmoid(x) (also called hard_swish)."""
    return F.hardswish(_tensor(x))


hard_swish = hard_silu


def gelu(x: Any, approximate: bool = False) -> torch.Tensor:
    """x * Phi(x), Phi the standard normal CDF; `approximate=True` uses the tanh formula."""
    return F.gelu(_tensor(x), approximate="tanh" if approximate else "none")


def mish(x: Any) -> torch.Tensor:
    """x * tanh(softplus(x))."""
    return F.mish(_tensor(x))


def exponential(x: Any) -> torch.Tensor:
    """exp(x)."""
    return torch.exp(_tensor(x))


def softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """exp(x) / sum(exp(x)) along `axis` (the last, the class axis, by default)."""
    return torch.softmax(_tensor(x), dim=axis)


def log_softmax(x: Any, axis: int = -1) -> torch.Tensor:
    """log(softmax(x)) along `axis`, computed stably."""
    return torch.log_softmax(_tensor(x), dim=axis)


ACTIVATIONS: dict[str, Activation] = {
    "relu": relu, "relu6": relu6, "leaky_relu": leaky_relu, "elu": elu, "selu": selu,
    "sigmoid": sigmoid, "hard_sigmoid": hard_sigmoid, "tanh": tanh, "softplus": softplus,
    "softsign": softsign, "swish": swish, "silu": silu, "hard_silu": hard_silu, "hard_swish": hard_swish,
    "gelu": gelu, "mish": mish, "exponential": exponential, "softmax": softmax,
    "log_softmax": log_softmax, "linear": linear,
}
# The name a config gets for a function known by two names (Keras 3 writes these).
CANONICAL = {silu: "silu", hard_silu: "hard_silu"}


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
    custom = _registry.get_registered_object(identifier)  # the user's own, named by a saved config
    if callable(custom) and not isinstance(custom, type):
        return custom  # type: ignore[no-any-return]
    raise ValueError(
        f"{owner}: unknown activation {identifier!r}. "
        f"Expected one of: {', '.join(sorted(ACTIVATIONS))}. {_registry.unknown_object_hint('activation', identifier)}"
    )


def name_of(fn: Activation) -> str:
    """The Keras name of an activation callable (for configs)."""
    if fn in CANONICAL:
        return CANONICAL[fn]
    for name, candidate in ACTIVATIONS.items():
        if candidate is fn:
            return name
    if _registry.is_registered(fn):
        return _registry.get_registered_name(fn)
    if isinstance(fn, types.FunctionType) and fn.__name__ != "<lambda>":
        return fn.__name__  # the user's own function, as Keras names it; it loads with custom_objects
    raise ValueError(
        f"activation {fn!r} is not one of convscope's named activations, so it cannot be "
        "saved in a config; pass its name instead (e.g. activation='relu'), or a named function."
    )
