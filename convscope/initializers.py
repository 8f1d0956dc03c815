"""Weight initializers with Keras names and fan computations on Keras-layout shapes.

Shapes are given in Keras layout (Conv2D kernel (kh, kw, in, out), Dense (in, out)), so
fan_in = receptive field x in and fan_out = receptive field x out, exactly as Keras computes.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from convscope._registry import resolve
from convscope._registry import serialize as serialize_registered


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: `init(shape)` returns a float32 tensor of that (Keras-layout) shape."""

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


class Constant(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.full(shape, self.value)

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self) -> None:
        super().__init__(0.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class Ones(Constant):
    def __init__(self) -> None:
        super().__init__(1.0)

    def get_config(self) -> dict[str, Any]:
        return {}


class RandomNormal(Initializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05) -> None:
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.randn(shape) * self.stddev + self.mean

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev}


class RandomUniform(Initializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05) -> None:
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        return torch.empty(shape).uniform_(self.minval, self.maxval)

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        tensor = torch.empty(shape)
        torch.nn.init.trunc_normal_(tensor, self.mean, self.stddev, -2 * self.stddev, 2 * self.stddev)
        return tensor


class VarianceScaling(Initializer):
    """Keras's VarianceScaling: scale / fan, drawn normal (truncated) or uniform."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal") -> None:
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg; got {mode!r}.")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "VarianceScaling: distribution must be truncated_normal, untruncated_normal or "
                f"uniform; got {distribution!r}."
            )
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape: tuple[int, ...]) -> torch.Tensor:
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return torch.empty(shape).uniform_(-limit, limit)
        if self.distribution == "untruncated_normal":
            return torch.randn(shape) * math.sqrt(variance)
        stddev = math.sqrt(variance) / 0.87962566103423978  # std of a unit normal cut at ±2
        tensor = torch.empty(shape)
        torch.nn.init.trunc_normal_(tensor, 0.0, stddev, -2 * stddev, 2 * stddev)
        return tensor

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution}


def _scaling(scale: float, mode: str, distribution: str) -> type[VarianceScaling]:
    class Named(VarianceScaling):
        def __init__(self) -> None:
            super().__init__(scale, mode, distribution)

        def get_config(self) -> dict[str, Any]:
            return {}

    return Named


GlorotUniform = _scaling(1.0, "fan_avg", "uniform")
GlorotNormal = _scaling(1.0, "fan_avg", "truncated_normal")
HeUniform = _scaling(2.0, "fan_in", "uniform")
HeNormal = _scaling(2.0, "fan_in", "truncated_normal")
LecunUniform = _scaling(1.0, "fan_in", "uniform")
LecunNormal = _scaling(1.0, "fan_in", "truncated_normal")

INITIALIZERS: dict[str, type[Initializer]] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
}


def get(identifier: Any, *, owner: str = "initializer") -> Initializer:
    """An initializer from a name, a `serialize()` dict or an instance."""
    return resolve(identifier, INITIALIZERS, Initializer, kind="initializer", owner=owner)


def serialize(initializer: Initializer) -> str | dict[str, Any]:
    """A bare name when the initializer has no arguments, as Keras configs show it."""
    data = serialize_registered(initializer, INITIALIZERS)
    return data if data["config"] else data["class_name"]
