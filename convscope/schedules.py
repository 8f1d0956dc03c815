"""Learning-rate schedules, Keras 3's `keras.optimizers.schedules`.

A schedule is a function of the optimizer's step count (`optimizer.iterations`, updates applied
so far): pass one as an optimizer's `learning_rate` and update t uses `schedule(t)`.

    >>> lr = ExponentialDecay(1e-3, decay_steps=1000, decay_rate=0.9)
    >>> optimizer = Adam(learning_rate=lr)
    >>> float(lr(1000))  # 1e-3 * 0.9 ** (1000 / 1000)
    0.0009000000427477062

Each built-in schedule computes in float32, operation by operation, as Keras does, so the rates
(and the restart points of CosineDecayRestarts) are Keras's to the last bit or two.
Users subclass `LearningRateSchedule` with `__call__(step)` and `get_config()`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from convscope._registry import get_registered_name, get_registered_object, unknown_object_hint

f32 = np.float32
KERAS_MODULE = "keras.optimizers.schedules"


class LearningRateSchedule:
    """The base class: `__call__(step)` gives the learning rate at optimizer step `step` (an
    int), `get_config()` the arguments that rebuild it (`from_config(config)` = cls(**config)).

    >>> class InverseStep(LearningRateSchedule):
    ...     def __init__(self, initial_learning_rate):
    ...         self.initial_learning_rate = initial_learning_rate
    ...     def __call__(self, step):
    ...         return self.initial_learning_rate / (step + 1)
    ...     def get_config(self):
    ...         return {"initial_learning_rate": self.initial_learning_rate}
    """

    def __call__(self, step: Any) -> Any:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
                                  "in order to be serializable.")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)


def _positive_steps(kind: str, argument: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or value <= 0:
        raise ValueError(f"{kind}: Argument `{argument}` must be > 0. Received: {argument}={value!r}")


class _RateDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments, their config and the
    float32 progress step / decay_steps (floored with `staircase`) their formulas take."""

    def __init__(self, kind: str, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool, name: str) -> None:
        _positive_steps(kind, "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.decay_rate = initial_learning_rate, decay_steps, decay_rate
        self.staircase, self.name = staircase, name

    def _progress(self, step: Any) -> np.float32:
        progress = f32(step) / f32(self.decay_steps)
        return np.floor(progress) if self.staircase else progress

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """initial_learning_rate * decay_rate ** (step / decay_steps); with `staircase`, the exponent
    is floored, so the rate drops every `decay_steps` steps.

    Raises:
        ValueError: for decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                 name: str = "ExponentialDecay") -> None:
        super().__init__("ExponentialDecay", initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: Any) -> np.float32:
        return f32(self.initial_learning_rate) * np.power(f32(self.decay_rate), self._progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <=
    boundaries[i], values[-1] after boundaries[-1]. As in Keras, boundaries are compared with the
    integer step, so a fractional boundary counts as its integer part.

    Raises:
        ValueError: when `values` is not one longer than `boundaries`.
    """

    def __init__(self, boundaries: list[float], values: list[float], name: str = "PiecewiseConstant") -> None:
        if len(boundaries) != len(values) - 1:
            raise ValueError("PiecewiseConstantDecay: The length of boundaries should be 1 less than the length of "
                             f"values. Received: boundaries={boundaries} of length {len(boundaries)}, and "
                             f"values={values} of length {len(values)}.")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step: Any) -> np.float32:
        step = int(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= int(boundary):
                return f32(value)
        return f32(self.values[-1])

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """(initial - end) * (1 - step / decay_steps) ** power + end, the step held at decay_steps;
    with `cycle`, decay_steps grows to the first multiple of itself at or above the step.

    Raises:
        ValueError: for decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay") -> None:
        _positive_steps("PolynomialDecay", "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power, self.cycle, self.name = end_learning_rate, power, cycle, name

    def __call__(self, step: Any) -> np.float32:
        initial, end = f32(self.initial_learning_rate), f32(self.end_learning_rate)
        position, decay_steps = f32(step), f32(self.decay_steps)
        if self.cycle:
            multiplier = f32(1.0) if position == 0 else np.ceil(position / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            position = min(position, decay_steps)
        fraction = position / decay_steps
        return (initial - end) * np.power(f32(1) - fraction, f32(self.power)) + end

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_RateDecay):
    """initial_learning_rate / (1 + decay_rate * step / decay_steps); with `staircase`,
    step / decay_steps is floored.

    Raises:
        ValueError: for decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float, staircase: bool = False,
                 name: str = "InverseTimeDecay") -> None:
        super().__init__("InverseTimeDecay", initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: Any) -> np.float32:
        return f32(self.initial_learning_rate) / (f32(1) + f32(self.decay_rate) * self._progress(step))


def _cosine(fraction: np.float32, start: np.float32, alpha: float) -> np.float32:
    """start * ((1 - alpha) * 0.5 * (1 + cos(pi * fraction)) + alpha), Keras's cosine decay."""
    cosine = f32(0.5) * (f32(1) + np.cos(f32(math.pi) * fraction))
    return start * (f32(1 - alpha) * cosine + f32(alpha))


class CosineDecay(LearningRateSchedule):
    """A cosine decay from the initial rate (or, with `warmup_target`, from warmup_target after a
    linear warm-up of `warmup_steps` steps from the initial rate) to alpha x that rate over
    `decay_steps` steps, then constant:
    rate * ((1 - alpha) * 0.5 * (1 + cos(pi * min(step, decay_steps) / decay_steps)) + alpha).

    Raises:
        ValueError: for decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None, warmup_steps: float = 0) -> None:
        _positive_steps("CosineDecay", "decay_steps", decay_steps)
        self.initial_learning_rate, self.decay_steps, self.alpha, self.name = initial_learning_rate, decay_steps, \
            alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def __call__(self, step: Any) -> np.float32:
        initial, decay_steps, position = f32(self.initial_learning_rate), f32(self.decay_steps), f32(step)
        if self.warmup_target is None:
            return _cosine(min(position, decay_steps) / decay_steps, initial, self.alpha)
        target, warmup_steps = f32(self.warmup_target), f32(self.warmup_steps)
        position = min(position, decay_steps + warmup_steps)
        if position < warmup_steps:
            return (target - initial) * (position / warmup_steps) + initial
        return _cosine((position - warmup_steps) / decay_steps, target, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017): the first period lasts
    `first_decay_steps` steps, each next one t_mul times longer and starting m_mul times lower;
    within a period the rate falls from its start to alpha x the initial rate.

    Raises:
        ValueError: for first_decay_steps <= 0.
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: float, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay") -> None:
        _positive_steps("CosineDecayRestarts", "first_decay_steps", first_decay_steps)
        self.initial_learning_rate, self.first_decay_steps = initial_learning_rate, first_decay_steps
        self.t_mul, self.m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step: Any) -> np.float32:
        t_mul, m_mul = f32(self.t_mul), f32(self.m_mul)
        fraction = f32(step) / f32(self.first_decay_steps)
        if t_mul == 1:
            restart = np.floor(fraction)
            fraction = fraction - restart
        else:  # the period holding `step`: sum of t_mul ** i over the periods before it
            restart = np.floor(np.log(f32(1) - fraction * (f32(1) - t_mul)) / np.log(t_mul))
            before = (f32(1) - np.power(t_mul, restart)) / (f32(1) - t_mul)
            fraction = (fraction - before) / np.power(t_mul, restart)
        cosine = f32(0.5) * np.power(m_mul, restart) * (f32(1) + np.cos(f32(math.pi) * fraction))
        alpha = f32(self.alpha)
        return f32(self.initial_learning_rate) * ((f32(1) - alpha) * cosine + alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self.t_mul, "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


SCHEDULES: dict[str, type[LearningRateSchedule]] = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    """The schedule as Keras 3 writes it: {"module", "class_name", "config", "registered_name"};
    a user's class is written with its module and registered name, as Keras writes it.

    Raises:
        TypeError: for anything but a LearningRateSchedule.
    """
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedules.serialize: expected a LearningRateSchedule; got {type(schedule).__name__}.")
    cls = type(schedule)
    config = schedule.get_config()
    if SCHEDULES.get(cls.__name__) is cls:
        return {"module": KERAS_MODULE, "class_name": cls.__name__, "config": config, "registered_name": None}
    module = None if cls.__module__ == "__main__" else cls.__module__
    return {"module": module, "class_name": cls.__name__, "config": config, "registered_name": get_registered_name(cls)}


def deserialize(config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> LearningRateSchedule:
    """The schedule a `serialize` dict describes; a user's class is found in `custom_objects`,
    a custom_object_scope or the registered objects.

    Raises:
        ValueError: for a dict that is not a schedule's, or a class convscope cannot find.
    """
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ValueError(f"schedules.deserialize: expected a dict with 'class_name' and 'config'; got {config!r}.")
    name = config.get("registered_name") or config["class_name"]
    # Keras writes its own classes without a registered name, a user's class with one.
    built_in = config["class_name"] in SCHEDULES and not config.get("registered_name")
    cls = SCHEDULES[config["class_name"]] if built_in else get_registered_object(name, custom_objects)
    if not (isinstance(cls, type) and issubclass(cls, LearningRateSchedule)):
        raise ValueError(f"unknown learning-rate schedule {config['class_name']!r}. Expected one of: "
                         f"{', '.join(SCHEDULES)}. " + unknown_object_hint("learning-rate schedule", name))
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier: Any) -> LearningRateSchedule:
    """A schedule from a schedule or a `serialize` dict (see `deserialize`)."""
    if isinstance(identifier, LearningRateSchedule):
        return identifier
    return deserialize(identifier)
