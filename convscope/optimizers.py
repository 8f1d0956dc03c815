"""Optimizers by Keras name and with Keras's defaults, built on `torch.optim`.

A convscope optimizer is a recipe: it becomes a `torch.optim.Optimizer` once the model's
parameters are known (`build`). A ready `torch.optim.Optimizer` can be passed to `compile` too.
Each takes Keras 3's steps: where torch's rule differs, a hook adjusts torch's optimizer (Adam's
epsilon, SGD's momentum after a learning-rate change) or `convscope.optimizer_rules` implements
Keras's rule (RMSprop, Adagrad, Adamax, Adadelta, Ftrl, Lion, Adafactor).
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Callable
from typing import Any

import torch

from convscope import optimizer_rules
from convscope import schedules as lr_schedules
from convscope._registry import resolve
from convscope._registry import serialize as serialize_registered
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


class SGD(Optimizer):
    """SGD with Keras's momentum: m = momentum * m - lr * g; w += m, or with `nesterov`,
    w += momentum * m - lr * g. torch's SGD runs it (see `rescale_momentum`)."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1); got {momentum}.")
        super().__init__(learning_rate, name, extra=kwargs, momentum=momentum, nesterov=nesterov,
                         weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        return {"momentum": self.options["momentum"], "nesterov": self.options["nesterov"]}

    def needs_before_step(self) -> bool:
        return super().needs_before_step() or self.options["momentum"] > 0

    @torch.no_grad()
    def before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        super().before_step(optimizer, args, kwargs)
        if self.options["momentum"] > 0:
            rescale_momentum(optimizer)


class Adam(Optimizer):
    """Adam; with `weight_decay`, Keras 3's decoupled decay (torch's AdamW), not an L2 term."""

    torch_class: Callable[..., torch.optim.Optimizer] = torch.optim.Adam
    torch_decouples_weight_decay = True
    epsilon_follows_step = True

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, name, extra=kwargs, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        o = self.options
        return {"betas": (o["beta_1"], o["beta_2"]), "eps": o["epsilon"], "amsgrad": o["amsgrad"],
                "weight_decay": o["weight_decay"] or 0.0}

    @torch.no_grad()
    def before_step(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        """Keras's Adam divides by sqrt(v) + epsilon and bias-corrects the step size; torch's
        divides by sqrt(v / (1 - beta_2^t)) + eps. They agree when eps = epsilon / sqrt(1 - beta_2^t)
        at step t, which matters where gradients are tiny (|g| near epsilon)."""
        super().before_step(optimizer, args, kwargs)
        step = self.steps_counted + 1
        eps = self.options["epsilon"] / math.sqrt(1.0 - self.options["beta_2"] ** step)
        for group in optimizer.param_groups:
            group["eps"] = eps

    def make(self, parameters: list[Any], learning_rate: float) -> torch.optim.Optimizer:
        # The fused kernel updates every tensor in one pass (+20-27% per step at batch 32 on a
        # 2-core CPU, benchmarks/LEVERS.md); it needs floating-point tensors on CPU or CUDA.
        torch_class = torch.optim.AdamW if self.options["weight_decay"] else self.torch_class
        try:
            return torch_class(parameters, lr=learning_rate, fused=True, **self.torch_options())
        except (RuntimeError, ValueError):
            return torch_class(parameters, lr=learning_rate, foreach=True, **self.torch_options())


class AdamW(Adam):
    """Adam with decoupled weight decay, Keras 3's default 0.004."""

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay, name, **kwargs)


class Nadam(Optimizer):
    """Adam with Nesterov momentum (Dozat 2016) and Keras 3's momentum schedule,
    mu_t = beta_1 * (1 - 0.5 * 0.96 ** t) (torch's momentum_decay=1)."""

    torch_class = torch.optim.NAdam
    torch_decouples_weight_decay = True

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, name, extra=kwargs, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        o = self.options
        return {"betas": (o["beta_1"], o["beta_2"]), "eps": o["epsilon"], "weight_decay": o["weight_decay"] or 0.0,
                "momentum_decay": 1.0, "decoupled_weight_decay": True, "foreach": True}


class Adamax(Optimizer):
    """Adam with the infinity norm: w -= lr / (1 - beta_1^t) * m / (u + epsilon),
    u = max(beta_2 * u, |g|), Keras's rule (`optimizer_rules.Adamax`)."""

    torch_class = optimizer_rules.Adamax

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, name, extra=kwargs, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        o = self.options
        return {"betas": (o["beta_1"], o["beta_2"]), "eps": o["epsilon"]}


class RMSprop(Optimizer):
    """Keras's RMSprop (`optimizer_rules.RMSprop`): epsilon inside the square root,
    w -= lr * g / sqrt(v + epsilon), and a momentum that carries the learning rate."""

    torch_class = optimizer_rules.RMSprop

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: float | None = None,
                 name: str | None = None, **kwargs: Any) -> None:
        super().__init__(learning_rate, name, extra=kwargs, rho=rho, momentum=momentum, epsilon=epsilon, centered=centered,
                         weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        o = self.options
        return {"alpha": o["rho"], "momentum": o["momentum"], "eps": o["epsilon"], "centered": o["centered"]}


class Adagrad(Optimizer):
    """Keras's Adagrad (`optimizer_rules.Adagrad`): w -= lr * g / sqrt(acc + epsilon)."""

    torch_class = optimizer_rules.Adagrad

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(learning_rate, name, extra=kwargs, initial_accumulator_value=initial_accumulator_value,
                         epsilon=epsilon, weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self.options["initial_accumulator_value"], "eps": self.options["epsilon"]}


def _check_range(kind: str, argument: str, value: Any, low: float, high: float) -> None:
    if not is_number(value) or not low <= number(value) <= high:
        raise ValueError(f"{kind}: {argument} must be a number in [{low:g}, {high:g}]; got {value!r}.")


def _check_at_least(kind: str, argument: str, value: Any, low: float = 0.0) -> None:
    if not is_number(value) or number(value) < low:
        raise ValueError(f"{kind}: {argument} must be a number >= {low:g}; got {value!r}.")


class Adadelta(Optimizer):
    """Keras's Adadelta (`optimizer_rules.Adadelta`, Zeiler 2012): per-weight step sizes from
    running averages of squared gradients and squared updates; `learning_rate` scales the step
    (1.0 is the paper's form)."""

    torch_class = optimizer_rules.Adadelta

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        _check_range("Adadelta", "rho", rho, 0.0, 1.0)
        _check_at_least("Adadelta", "epsilon", epsilon)
        super().__init__(learning_rate, name, extra=kwargs, rho=rho, epsilon=epsilon, weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        return {"rho": self.options["rho"], "eps": self.options["epsilon"]}


class Ftrl(Optimizer):
    """Keras's FTRL-proximal (`optimizer_rules.Ftrl`, McMahan et al. 2013), with online L1/L2
    regularization (`l1_regularization_strength`, `l2_regularization_strength`, `beta`) and the
    shrinkage-type L2 (`l2_shrinkage_regularization_strength`, a penalty added to the gradient)."""

    torch_class = optimizer_rules.Ftrl

    def __init__(self, learning_rate: float = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, weight_decay: float | None = None, name: str | None = None,
                 **kwargs: Any) -> None:
        if not is_number(learning_rate_power) or number(learning_rate_power) > 0:
            raise ValueError(f"Ftrl: learning_rate_power must be a number <= 0 (0 keeps the rate fixed); "
                             f"got {learning_rate_power!r}.")
        for argument, value in (("initial_accumulator_value", initial_accumulator_value),
                                ("l1_regularization_strength", l1_regularization_strength),
                                ("l2_regularization_strength", l2_regularization_strength),
                                ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength),
                                ("beta", beta)):
            _check_at_least("Ftrl", argument, value)
        super().__init__(learning_rate, name, extra=kwargs, learning_rate_power=learning_rate_power,
                         initial_accumulator_value=initial_accumulator_value,
                         l1_regularization_strength=l1_regularization_strength,
                         l2_regularization_strength=l2_regularization_strength,
                         l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength, beta=beta,
                         weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        o = self.options
        return {"lr_power": o["learning_rate_power"], "initial_accumulator_value": o["initial_accumulator_value"],
                "l1": o["l1_regularization_strength"], "l2": o["l2_regularization_strength"],
                "l2_shrinkage": o["l2_shrinkage_regularization_strength"], "beta": o["beta"]}


class Lion(Optimizer):
    """Keras's Lion (`optimizer_rules.Lion`, Chen et al. 2023): steps of lr * sign(...) from an
    interpolated momentum; one slot per weight."""

    torch_class = optimizer_rules.Lion

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.99,
                 weight_decay: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        if not is_number(beta_1) or not 0 < number(beta_1) <= 1:
            raise ValueError(f"Lion: beta_1 must be a number in (0, 1] (at 0 Lion degenerates to SignSGD); "
                             f"got {beta_1!r}.")
        _check_range("Lion", "beta_2", beta_2, 0.0, 1.0)
        super().__init__(learning_rate, name, extra=kwargs, beta_1=beta_1, beta_2=beta_2, weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        return {"betas": (self.options["beta_1"], self.options["beta_2"])}


class Adafactor(Optimizer):
    """Keras's Adafactor (`optimizer_rules.Adafactor`, Shazeer and Stern 2018): second moments
    factored over the last two axes of each matrix or higher-rank weight (in Keras's layout), a
    relative step size max(epsilon_2, rms(w)) * min(lr, 1 / sqrt(t)) and update clipping at
    `clip_threshold`. As in Keras 3, the step is min(lr, 1 / sqrt(t)) whatever `relative_step` says;
    it is kept for the config.

    As in Keras 3, where a matrix's row and column both get zero gradients (a dead ReLU unit fed
    by a dead one), its factored second moment (epsilon_1 / mean(r)) * epsilon_1 underflows to 0 in
    float32 at the default epsilon_1=1e-30 and the step is NaN; epsilon_1=1e-20 keeps it finite."""

    torch_class = optimizer_rules.Adafactor

    def __init__(self, learning_rate: float = 0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True,
                 weight_decay: float | None = None, name: str | None = None, **kwargs: Any) -> None:
        if not is_number(beta_2_decay) or number(beta_2_decay) > 0:
            raise ValueError(f"Adafactor: beta_2_decay must be a number <= 0 (beta_2 = 1 - t^beta_2_decay); "
                             f"got {beta_2_decay!r}.")
        _check_at_least("Adafactor", "epsilon_1", epsilon_1)
        _check_at_least("Adafactor", "epsilon_2", epsilon_2)
        if not is_number(clip_threshold) or number(clip_threshold) <= 0:
            raise ValueError(f"Adafactor: clip_threshold must be a positive number; got {clip_threshold!r}.")
        if not isinstance(relative_step, bool):
            raise ValueError(f"Adafactor: relative_step must be True or False; got {relative_step!r}.")
        super().__init__(learning_rate, name, extra=kwargs, beta_2_decay=beta_2_decay, epsilon_1=epsilon_1,
                         epsilon_2=epsilon_2, clip_threshold=clip_threshold, relative_step=relative_step,
                         weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        o = self.options
        return {"beta_2_decay": o["beta_2_decay"], "epsilon_1": o["epsilon_1"], "epsilon_2": o["epsilon_2"],
                "clip_threshold": o["clip_threshold"], "keras_orders": self.keras_orders}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "nadam": Nadam, "adamax": Adamax, "rmsprop": RMSprop,
    "adagrad": Adagrad, "adadelta": Adadelta, "ftrl": Ftrl, "lion": Lion, "adafactor": Adafactor,
}


def get(identifier: Any) -> Optimizer | torch.optim.Optimizer:
    """An optimizer recipe from a name, a config dict, a recipe, or a ready torch optimizer."""
    if isinstance(identifier, torch.optim.Optimizer):
        return identifier
    return resolve(identifier, OPTIMIZERS, Optimizer, kind="optimizer", owner="compile(optimizer=...)")


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    return serialize_registered(optimizer, OPTIMIZERS)
