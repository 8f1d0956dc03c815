"""Weight initializers with Keras names and fan computations on Keras-layout shapes.

Shapes are given in Keras layout (Conv2D kernel (kh, kw, in, out), Dense (in, out)), so
fan_in = receptive field x in and fan_out = receptive field x out, exactly as Keras computes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
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
    """Base class: `init(shape, dtype=None)` returns a tensor of that (Keras-layout) shape,
    float32 unless `dtype` ("float64", torch.float64, ...) says otherwise."""

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


def _dtype(dtype: Any) -> torch.dtype:
    if dtype is None:
        return torch.float32
    return dtype if isinstance(dtype, torch.dtype) else getattr(torch, str(dtype))  # type: ignore[no-any-return]


class Constant(Initializer):
    def __init__(self, value: float = 0.0) -> None:
        self.value = float(value)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return torch.full(shape, self.value, dtype=_dtype(dtype))

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


class RandomInitializer(Initializer):
    """Base of the random initializers. An integer `seed` makes every call draw the same values
    (as in Keras 3); seed=None draws from torch's global generator (`convscope.set_seed`).

    >>> bool((HeNormal(seed=1)((3, 3)) == HeNormal(seed=1)((3, 3))).all())
    True
    """

    def __init__(self, seed: int | None = None) -> None:
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise ValueError(f"{type(self).__name__}: seed must be an integer or None; got {seed!r}.")
        self.seed = None if seed is None else int(seed)

    def generator(self) -> torch.Generator | None:
        return None if self.seed is None else torch.Generator().manual_seed(self.seed)

    def empty(self, shape: tuple[int, ...], dtype: Any) -> torch.Tensor:
        return torch.empty(shape, dtype=_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {} if self.seed is None else {"seed": self.seed}


class RandomNormal(RandomInitializer):
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return self.empty(shape, dtype).normal_(self.mean, self.stddev, generator=self.generator())

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(RandomInitializer):
    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None) -> None:
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return self.empty(shape, dtype).uniform_(self.minval, self.maxval, generator=self.generator())

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class TruncatedNormal(RandomNormal):
    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        return torch.nn.init.trunc_normal_(self.empty(shape, dtype), self.mean, self.stddev, self.mean - 2 * self.stddev,
                                           self.mean + 2 * self.stddev, generator=self.generator())


class VarianceScaling(RandomInitializer):
    """Keras's VarianceScaling: scale / fan, drawn normal (truncated) or uniform."""

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None) -> None:
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"VarianceScaling: mode must be fan_in, fan_out or fan_avg; got {mode!r}.")
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(
                "VarianceScaling: distribution must be truncated_normal, untruncated_normal or "
                f"uniform; got {distribution!r}."
            )
        super().__init__(seed)
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        tensor, generator = self.empty(shape, dtype), self.generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return tensor.uniform_(-limit, limit, generator=generator)
        if self.distribution == "untruncated_normal":
            return tensor.normal_(0.0, math.sqrt(variance), generator=generator)
        stddev = math.sqrt(variance) / 0.87962566103423978  # std of a unit normal cut at ±2
        return torch.nn.init.trunc_normal_(tensor, 0.0, stddev, -2 * stddev, 2 * stddev, generator=generator)

    def get_config(self) -> dict[str, Any]:
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, **super().get_config()}


class ScalingPreset(VarianceScaling):
    """A VarianceScaling whose scale, mode and distribution are fixed by the class (`preset`)."""

    preset: tuple[float, str, str] = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(*self.preset, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return RandomInitializer.get_config(self)


class GlorotUniform(ScalingPreset):
    """Uniform in ±sqrt(6 / (fan_in + fan_out))."""

    preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(ScalingPreset):
    """Truncated normal with stddev sqrt(2 / (fan_in + fan_out))."""

    preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(ScalingPreset):
    """Uniform in ±sqrt(6 / fan_in)."""

    preset = (2.0, "fan_in", "uniform")


class HeNormal(ScalingPreset):
    """Truncated normal with stddev sqrt(2 / fan_in)."""

    preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(ScalingPreset):
    """Uniform in ±sqrt(3 / fan_in)."""

    preset = (1.0, "fan_in", "uniform")


class LecunNormal(ScalingPreset):
    """Truncated normal with stddev sqrt(1 / fan_in)."""

    preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """Keras's Orthogonal: a random orthogonal matrix (QR of a normal one, signs fixed by R's
    diagonal) times `gain`, over (prod(shape[:-1]), shape[-1]); recurrent kernels start here."""

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = float(gain)

    def __call__(self, shape: tuple[int, ...], dtype: Any = None) -> torch.Tensor:
        rows, columns = math.prod(shape[:-1]), shape[-1]
        flat = self.empty((max(rows, columns), min(rows, columns)), "float64").normal_(generator=self.generator())
        q, r = torch.linalg.qr(flat)
        q = q * torch.sign(torch.diagonal(r))
        q = q.T if rows < columns else q
        return (self.gain * q).reshape(shape).to(_dtype(dtype))

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, **super().get_config()}


INITIALIZERS: dict[str, type[Initializer]] = {
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform,
    "truncated_normal": TruncatedNormal, "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal,
}


def get(identifier: Any, *, owner: str = "initializer") -> Initializer:
    """An initializer from a name, a `serialize()` dict or an instance."""
    return resolve(identifier, INITIALIZERS, Initializer, kind="initializer", owner=owner)


def serialize(initializer: Initializer) -> str | dict[str, Any]:
    """A bare name when the initializer has no arguments, as Keras configs show it."""
    data = serialize_registered(initializer, INITIALIZERS)
    return data if data["config"] else data["class_name"]


# Keras's lower-case aliases (keras.initializers.he_normal(seed=1)).
constant, zeros, ones = Constant, Zeros, Ones
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal
orthogonal, OrthogonalInitializer = Orthogonal, Orthogonal
