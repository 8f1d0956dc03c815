"""The optimizer recipe every convscope optimizer builds on: `Optimizer` (Keras's interface:
learning rate, clipping, weight decay, schedules; `build` makes the torch optimizer),
`TorchOptimizer` (a ready torch optimizer given to compile), and the hooks that keep torch's
state in Keras's terms (`rescale_momentum`, `follow_parameter_layout`). The optimizers
themselves, by Keras name, are in `convscope.optimizers`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

import torch

from convscope import schedules as lr_schedules
from convscope.learning_rate import LearningRate, is_number, number


class Optimizer:
    """Base recipe with Keras's optimizer interface: `learning_rate` (also `lr`, as in Keras 2)
    reads and sets the rate, and once `build` has made the torch optimizer, setting it changes
    every `param_groups[...]["lr"]` (and schedules or callbacks that change those are seen).

    Keras 2's `lr=` is taken for `learning_rate=` with a warning; Keras 3's `decay=` is ignored
    with a warning, as Keras 3 does.

    `learning_rate` may be a `convscope.schedules.LearningRateSchedule` (or its `serialize`
    dict): update t then uses schedule(t), t = `iterations`, and `learning_rate` reads
    schedule(iterations); setting a number over it raises Keras's TypeError.
    """

    # A torch.optim class; typed as a factory because each subclass takes its own options
    # (`lr`, `betas`, ...) that the base `torch.optim.Optimizer.__init__` does not declare.
    torch_class: Callable[..., torch.optim.Optimizer] = torch.optim.SGD

    # True where the torch optimizer applies Keras's decoupled weight decay itself; otherwise
    # a hook before each step does (see `before_step`).
    torch_decouples_weight_decay = False

    # True where Keras adds epsilon before the bias correction and torch after it, so the
    # epsilon torch gets changes with the step (see `Adam.before_step`).
    epsilon_follows_step = False

    def __init__(self, learning_rate: Any = 0.001, name: str | None = None, *,
                 extra: dict[str, Any] | None = None, **options: Any) -> None:
        kind = type(self).__name__
        extra = dict(extra or {})
        self.clipping = _clipping(kind, extra)
        learning_rate = _keras2_arguments(kind, learning_rate, extra)
        self.name = name or kind.lower()
        self.torch_optimizer: torch.optim.Optimizer | None = None
        self.steps_counted = 0  # updates since `build` (or restored from a file); see `iterations`
        self.schedule: lr_schedules.LearningRateSchedule | None = None
        self._before_hook: Any = None  # the handle of `before_step`, once registered
        self.keras_orders: dict[int, tuple[int, ...]] = {}  # id(param) -> PyTorch-to-Keras axes, see `build`
        if isinstance(learning_rate, (lr_schedules.LearningRateSchedule, dict)):
            self.schedule = lr_schedules.get(learning_rate)
            learning_rate = 0.001  # unused while the schedule is set
        self._learning_rate = _check_rate(kind, learning_rate)
        decay = options.get("weight_decay")
        if decay is not None and (not is_number(decay) or number(decay) < 0):
            raise ValueError(f"{kind}: weight_decay must be a number >= 0 or None; got {decay!r}.")
        self.options = options

    @property
    def learning_rate(self) -> LearningRate:
        return LearningRate(self)

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        self.set_learning_rate(value)

    lr = learning_rate  # Keras 2's name (model.optimizer.lr)

    @property
    def iterations(self) -> int:
        """Updates applied so far (Keras's `optimizer.iterations`), counted after each step and
        set again when a saved state is loaded (`count_from_state`)."""
        return self.steps_counted

    def count_from_state(self) -> None:
        """Take the step count from the torch optimizer's state just loaded: the count saved
        with the param groups (see `keep_count`), else torch's per-parameter `step`, where the
        optimizer keeps one (SGD keeps none)."""
        groups = self.torch_optimizer.param_groups if self.torch_optimizer is not None else []
        saved = [int(group["iterations"]) for group in groups if "iterations" in group]
        state = self.torch_optimizer.state.values() if self.torch_optimizer is not None else []
        steps = saved or [int(entries["step"]) for entries in state if "step" in entries]
        if steps:
            self.steps_counted = max(steps)

    def keep_count(self, optimizer: torch.optim.Optimizer) -> None:
        """Before torch's state_dict: the step count goes into each param group, so a saved
        state (a checkpoint) brings `iterations`, and the schedule's place, back."""
        for group in optimizer.param_groups:
            group["iterations"] = self.steps_counted

    def current_learning_rate(self) -> float:
        """The rate now: with a schedule, schedule(iterations), the rate of the next update;
        else the built optimizer's first param group's, else the one given."""
        if self.schedule is not None:
            return self.scheduled_rate()
        if self.torch_optimizer is not None and self.torch_optimizer.param_groups:
            return float(self.torch_optimizer.param_groups[0]["lr"])
        return self._learning_rate

    def scheduled_rate(self) -> float:
        assert self.schedule is not None
        value = self.schedule(self.steps_counted)
        if not is_number(value):
            raise ValueError(f"{type(self).__name__}: the learning-rate schedule {type(self.schedule).__name__} "
                             f"returned {value!r} at step {self.steps_counted}; it must return a number.")
        return number(value)

    def set_learning_rate(self, value: Any) -> None:
        """Set a number or a schedule; a number over a schedule raises Keras's TypeError."""
        if isinstance(value, lr_schedules.LearningRateSchedule):
            self.schedule = value
            self.follow_schedule()
            return
        if self.schedule is not None:
            raise TypeError(SCHEDULE_NOT_SETTABLE)
        self._learning_rate = _check_rate(type(self).__name__, value)
        if self.torch_optimizer is not None:
            for group in self.torch_optimizer.param_groups:
                group["lr"] = self._learning_rate

    def follow_schedule(self) -> None:
        """Once built with a schedule, set each update's rate before it (see `before_step`)."""
        if self.torch_optimizer is None or self.schedule is None:
            return
        if self._before_hook is None:
            self._before_hook = self.torch_optimizer.register_step_pre_hook(self.before_step)
        for group in self.torch_optimizer.param_groups:
            group["lr"] = self.scheduled_rate()

    def torch_options(self) -> dict[str, Any]:
        return {}

    def build(self, parameters: Any, keras_orders: dict[int, tuple[int, ...]] | None = None) -> torch.optim.Optimizer:
        """Make the torch optimizer for `parameters` and follow its learning rate from now on.
        `keras_orders` maps id(param) to the permutation from its PyTorch layout to Keras's (the
        model's `keras_weights`), for a rule that works along Keras's axes (Adafactor)."""
        self.keras_orders = dict(keras_orders or {})
        # torch.optim refuses an empty list; Keras trains a model without weights (Flatten
        # alone), so that model gets one empty parameter group.
        groups = list(parameters) or [{"params": []}]
        self.torch_optimizer = self.make(groups, self.current_learning_rate())
        self.torch_optimizer.register_step_post_hook(self.after_step)
        self.torch_optimizer.register_state_dict_pre_hook(self.keep_count)
        if self.needs_before_step():
            self._before_hook = self.torch_optimizer.register_step_pre_hook(self.before_step)
        return self.torch_optimizer

    def needs_before_step(self) -> bool:
        return bool(self.clipping or self.epsilon_follows_step or self.schedule is not None or (
            self.options.get("weight_decay") and not self.torch_decouples_weight_decay))

    @torch.no_grad()
    def before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        """Keras's work before each update: the schedule's rate for this step,
        schedule(iterations); clip the gradients (clipvalue, clipnorm or global_clipnorm), then
        decay the weights, w -= w * weight_decay * learning_rate."""
        if self.schedule is not None:
            rate = self.scheduled_rate()
            for group in optimizer.param_groups:
                group["lr"] = rate
        _clip([p for group in optimizer.param_groups for p in group["params"] if p.grad is not None], self.clipping)
        decay = self.options.get("weight_decay")
        if not decay or self.torch_decouples_weight_decay:
            return
        for group in optimizer.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                torch._foreach_mul_(params, 1.0 - group["lr"] * decay)

    def after_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.steps_counted += 1

    def make(self, parameters: list[Any], learning_rate: float) -> torch.optim.Optimizer:
        return self.torch_class(parameters, lr=learning_rate, **self.torch_options())

    def get_config(self) -> dict[str, Any]:
        """The arguments that rebuild the optimizer; a schedule as `convscope.schedules.serialize` writes it."""
        rate = lr_schedules.serialize(self.schedule) if self.schedule is not None else self.current_learning_rate()
        return {"learning_rate": rate, **self.options, **self.clipping}


SCHEDULE_NOT_SETTABLE = ("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                         "constructor argument, hence its learning rate is not settable. If you need the learning "
                         "rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
                         "argument.")


def _check_rate(kind: str, value: Any) -> float:
    if not is_number(value) or number(value) <= 0:
        raise ValueError(f"{kind}: learning_rate must be a positive number; got {value!r}.")
    return number(value)


CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")
# Keras 3 arguments convscope takes only at their defaults.
KERAS_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}


def _clipping(kind: str, extra: dict[str, Any]) -> dict[str, float]:
    """The one gradient clipping argument given, taken out of `extra` (Keras allows one)."""
    for argument, default in KERAS_DEFAULTS.items():
        value = extra.pop(argument, default)
        if value != default:
            raise ValueError(f"{kind}: {argument}={value!r} is not supported; leave it at {default!r}.")
    given = {key: extra.pop(key, None) for key in CLIPPING}
    clipping = {key: value for key, value in given.items() if value is not None}
    if len(clipping) > 1:
        raise ValueError(f"{kind}: give at most one of clipnorm, clipvalue and global_clipnorm; got "
                         f"{', '.join(sorted(clipping))}.")
    for key, value in clipping.items():
        if not is_number(value) or number(value) <= 0:
            raise ValueError(f"{kind}: {key} must be a positive number; got {value!r}.")
    return {key: number(value) for key, value in clipping.items()}


def _clip(params: list[torch.Tensor], clipping: dict[str, float]) -> None:
    """Clip the gradients of `params` in place as Keras does: g * c / max(norm, c)."""
    if not params or not clipping:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if "clipvalue" in clipping:
        for grad in grads:
            grad.clamp_(-clipping["clipvalue"], clipping["clipvalue"])
    elif "clipnorm" in clipping:
        limit = clipping["clipnorm"]
        for grad in grads:
            grad.mul_(limit / torch.clamp(torch.linalg.vector_norm(grad), min=limit))
    else:
        limit = clipping["global_clipnorm"]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(grad) for grad in grads]))
        torch._foreach_mul_(grads, limit / torch.clamp(norm, min=limit))


def _keras2_arguments(kind: str, learning_rate: Any, extra: dict[str, Any]) -> Any:
    """`learning_rate` after Keras 2's `lr=` and `decay=`; other unknown arguments raise."""
    if "lr" in extra:
        learning_rate = extra.pop("lr")
        warnings.warn(f"{kind}: `lr` is Keras 2's name; write learning_rate={learning_rate!r} "
                      "(lr= still works).", stacklevel=_user_stacklevel())
    if extra.pop("decay", None) is not None:
        warnings.warn(f"{kind}: the `decay` argument is no longer supported and is ignored, as in "
                      "Keras 3; use a LearningRateScheduler callback.", stacklevel=_user_stacklevel())
    if extra:
        raise ValueError(f"{kind}: argument(s) not recognized: {', '.join(sorted(extra))}.")
    return learning_rate


def _user_stacklevel() -> int:
    """The warnings stack level of the first caller outside this module."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    return level


def follow_parameter_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-element state tensor its parameter's memory layout, after a state was
    loaded from a file (convscope's optimizer.safetensors or a Keras file's slots).

    Files hold state in logical (contiguous) order; a channels-last conv kernel needs its
    moments channels-last too, because fused optimizer steps pair parameter and state by memory
    position, not by index."""
    for param, entries in optimizer.state.items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                entries[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


class TorchOptimizer(Optimizer):
    """A ready `torch.optim.Optimizer` given to compile, seen through the Keras interface."""

    def __init__(self, torch_optimizer: torch.optim.Optimizer) -> None:
        super().__init__(float(torch_optimizer.param_groups[0]["lr"]), name=type(torch_optimizer).__name__.lower())
        self.torch_optimizer = torch_optimizer

    def build(self, parameters: Any, keras_orders: dict[int, tuple[int, ...]] | None = None) -> torch.optim.Optimizer:
        assert self.torch_optimizer is not None  # set in __init__
        return self.torch_optimizer


def rescale_momentum(optimizer: torch.optim.Optimizer) -> None:
    """Keep torch SGD's momentum buffers equal to Keras's momentum at the current learning rate.

    Keras's momentum holds the learning rate it was made with (m = momentum * m - lr * g,
    w += m); torch's buffer does not (b = momentum * b + g, w -= lr * b). The two agree while
    m = -lr * b, so when lr changes (a schedule, ReduceLROnPlateau) the buffers are scaled by
    old lr / new lr. The rate the buffers follow is kept in each group's "momentum_lr"."""
    for group in optimizer.param_groups:
        previous, rate = group.get("momentum_lr", group["lr"]), group["lr"]
        if previous != rate:
            buffers = [optimizer.state[param]["momentum_buffer"] for param in group["params"]
                       if isinstance(optimizer.state.get(param, {}).get("momentum_buffer"), torch.Tensor)]
            if buffers:
                torch._foreach_mul_(buffers, previous / rate)
        group["momentum_lr"] = rate
