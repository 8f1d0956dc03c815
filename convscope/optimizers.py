"""Optimizers by Keras name and with Keras's defaults, built on `torch.optim`.

A convscope optimizer is a recipe: it becomes a `torch.optim.Optimizer` once the model's
parameters are known (`build`). A ready `torch.optim.Optimizer` can be passed to `compile` too.
Each takes Keras 3's steps: where torch's rule differs, a hook adjusts torch's optimizer (Adam's
epsilon, SGD's momentum after a learning-rate change) or `convscope.optimizer_rules` implements
Keras's rule (RMSprop, Adagrad, Adamax, Adadelta, Ftrl, Lion, Adafactor).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from convscope import optimizer_rules
from convscope._registry import resolve
from convscope._registry import serialize as serialize_registered
from convscope.learning_rate import is_number, number
from convscope.optimizer_base import Optimizer, rescale_momentum


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
