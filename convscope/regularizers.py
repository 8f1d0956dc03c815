"""Weight and activity penalties added to the training loss (Keras's l1, l2, l1_l2)."""

from __future__ import annotations

from typing import Any

import torch

from convscope._registry import resolve
from convscope._registry import serialize as serialize_registered


class Regularizer:
    """`penalty = regularizer(tensor)`: a scalar tensor added to the loss."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        if l1 < 0 or l2 < 0:
            raise ValueError(f"regularizer factors must be >= 0; got l1={l1}, l2={l2}.")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        penalty = tensor.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * tensor.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * tensor.square().sum()
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    def __init__(self, l1: float = 0.01) -> None:
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    def __init__(self, l2: float = 0.01) -> None:
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class L1L2(Regularizer):
    pass


def l1(l1: float = 0.01) -> L1:  # noqa: D103 - Keras spelling
    return L1(l1)


def l2(l2: float = 0.01) -> L2:  # noqa: D103
    return L2(l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:  # noqa: D103
    return L1L2(l1=l1, l2=l2)


REGULARIZERS: dict[str, type[Regularizer]] = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier: Any, *, owner: str = "regularizer") -> Regularizer | None:
    """A regularizer from None, a name, a `serialize()` dict or an instance."""
    if identifier is None:
        return None
    return resolve(identifier, REGULARIZERS, Regularizer, kind="regularizer", owner=owner)


def serialize(regularizer: Regularizer | None) -> dict[str, Any] | None:
    return None if regularizer is None else serialize_registered(regularizer, REGULARIZERS)
