"""An optimizer's learning rate as Keras shows it (`LearningRate`), and what counts as a number
where a learning rate is given."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import torch


class RateOwner(Protocol):
    """What a `LearningRate` reads and writes: its optimizer (`convscope.optimizers.Optimizer`)."""

    def current_learning_rate(self) -> float: ...

    def set_learning_rate(self, value: Any) -> None: ...


class LearningRate:
    """An optimizer's learning rate as Keras shows it: a variable that reads like a number
    (`float(lr)`, `lr * 0.1`, `lr.numpy()`) and is changed in place (`lr.assign(0.01)`,
    `keras.backend.set_value(lr, 0.01)`). A built optimizer's torch param_groups follow it.

    >>> from convscope.optimizers import Adam
    >>> opt = Adam(learning_rate=0.001)
    >>> opt.learning_rate.assign(0.01)
    >>> float(opt.learning_rate)
    0.01
    """

    def __init__(self, optimizer: RateOwner) -> None:
        self.optimizer = optimizer

    @property
    def value(self) -> float:
        return self.optimizer.current_learning_rate()

    def numpy(self) -> np.float32:
        return np.float32(self.value)

    def assign(self, value: Any) -> None:
        self.optimizer.set_learning_rate(value)

    def __float__(self) -> float:
        return self.value

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self.value, dtype=dtype or np.float32)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    def __repr__(self) -> str:
        return f"<LearningRate {self.value!r}>"

    def __eq__(self, other: object) -> bool:
        return self.value == number(other) if is_number(other) else NotImplemented

    __hash__ = object.__hash__

    def __lt__(self, other: Any) -> bool:
        return self.value < number(other)

    def __le__(self, other: Any) -> bool:
        return self.value <= number(other)

    def __gt__(self, other: Any) -> bool:
        return self.value > number(other)

    def __ge__(self, other: Any) -> bool:
        return self.value >= number(other)

    def __add__(self, other: Any) -> float:
        return self.value + number(other)

    def __sub__(self, other: Any) -> float:
        return self.value - number(other)

    def __rsub__(self, other: Any) -> float:
        return number(other) - self.value

    def __mul__(self, other: Any) -> float:
        return self.value * number(other)

    def __truediv__(self, other: Any) -> float:
        return self.value / number(other)

    def __rtruediv__(self, other: Any) -> float:
        return number(other) / self.value

    __radd__, __rmul__ = __add__, __mul__


def is_number(value: object) -> bool:
    """A plain number: a Python or NumPy scalar, a 0-d array or tensor, or a `LearningRate`."""
    return isinstance(value, (int, float, np.number, LearningRate)) and not isinstance(value, bool) or (
        isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 0)


def number(value: Any) -> float:
    """`value` (see `is_number`) as a float."""
    if isinstance(value, LearningRate):
        return value.value
    if isinstance(value, torch.Tensor):
        return float(value.detach().cpu())
    return float(value)
