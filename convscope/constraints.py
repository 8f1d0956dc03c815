"""Weight constraints applied after each optimizer step (Keras's max_norm, non_neg, unit_norm).

A constraint sees the weight in Keras layout, so `axis` means what it means in Keras: for a
Conv2D kernel (kh, kw, in, out), `axis=[0, 1, 2]` constrains each filter's norm.
"""

from __future__ import annotations

from typing import Any

import torch

from convscope._registry import resolve
from convscope._registry import serialize as serialize_registered

EPSILON = 1e-7


def _axes(axis: int | list[int] | tuple[int, ...]) -> list[int]:
    return [axis] if isinstance(axis, int) else list(axis)


class Constraint:
    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


class MaxNorm(Constraint):
    def __init__(self, max_value: float = 2.0, axis: int | list[int] = 0) -> None:
        self.max_value, self.axis = float(max_value), axis

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        norms = weight.square().sum(dim=_axes(self.axis), keepdim=True).sqrt()
        desired = norms.clamp(0, self.max_value)
        return weight * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return weight.clamp_min(0.0)


class UnitNorm(Constraint):
    def __init__(self, axis: int | list[int] = 0) -> None:
        self.axis = axis

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        return weight / (EPSILON + weight.square().sum(dim=_axes(self.axis), keepdim=True).sqrt())

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | list[int] = 0) -> None:
        self.min_value, self.max_value, self.rate, self.axis = float(min_value), float(max_value), float(rate), axis

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        norms = weight.square().sum(dim=_axes(self.axis), keepdim=True).sqrt()
        desired = self.rate * norms.clamp(self.min_value, self.max_value) + (1 - self.rate) * norms
        return weight * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm

CONSTRAINTS: dict[str, type[Constraint]] = {
    "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
}


def get(identifier: Any, *, owner: str = "constraint") -> Constraint | None:
    """A constraint from None, a name, a `serialize()` dict or an instance."""
    if identifier is None:
        return None
    return resolve(identifier, CONSTRAINTS, Constraint, kind="constraint", owner=owner)


def serialize(constraint: Constraint | None) -> dict[str, Any] | None:
    return None if constraint is None else serialize_registered(constraint, CONSTRAINTS)
