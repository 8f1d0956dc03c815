"""Optimizers by Keras name and with Keras's defaults, built on `torch.optim`.

A convscope optimizer is a recipe: it becomes a `torch.optim.Optimizer` once the model's
parameters are known (`build`). A ready `torch.optim.Optimizer` can be passed to `compile` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from convscope._registry import resolve
from convscope._registry import serialize as serialize_registered


class Optimizer:
    """Base recipe. `learning_rate` is the starting rate; schedules and callbacks change the
    built optimizer's `param_groups[...]["lr"]`."""

    # A torch.optim class; typed as a factory because each subclass takes its own options
    # (`lr`, `betas`, ...) that the base `torch.optim.Optimizer.__init__` does not declare.
    torch_class: Callable[..., torch.optim.Optimizer] = torch.optim.SGD

    def __init__(self, learning_rate: float = 0.001, **options: Any) -> None:
        if not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be a positive number; got {learning_rate!r}.")
        self.learning_rate = float(learning_rate)
        self.options = options

    def torch_options(self) -> dict[str, Any]:
        return {}

    def build(self, parameters: Any) -> torch.optim.Optimizer:
        return self.torch_class(list(parameters), lr=self.learning_rate, **self.torch_options())

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate, **self.options}


class SGD(Optimizer):
    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = None) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f"SGD: momentum must be in [0, 1); got {momentum}.")
        super().__init__(learning_rate, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        return {"momentum": self.options["momentum"], "nesterov": self.options["nesterov"],
                "weight_decay": self.options["weight_decay"] or 0.0}


class Adam(Optimizer):
    torch_class: Callable[..., torch.optim.Optimizer] = torch.optim.Adam

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, weight_decay: float | None = None) -> None:
        super().__init__(learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad,
                         weight_decay=weight_decay)

    def torch_options(self) -> dict[str, Any]:
        o = self.options
        return {"betas": (o["beta_1"], o["beta_2"]), "eps": o["epsilon"], "amsgrad": o["amsgrad"],
                "weight_decay": o["weight_decay"] or 0.0}

    def build(self, parameters: Any) -> torch.optim.Optimizer:
        # The fused kernel updates every tensor in one pass (+20-27% per step at batch 32 on a
        # 2-core CPU, benchmarks/LEVERS.md); it needs floating-point tensors on CPU or CUDA.
        parameters = list(parameters)
        try:
            return self.torch_class(parameters, lr=self.learning_rate, fused=True, **self.torch_options())
        except (RuntimeError, ValueError):
            return self.torch_class(parameters, lr=self.learning_rate, foreach=True, **self.torch_options())


class AdamW(Adam):
    torch_class = torch.optim.AdamW

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False) -> None:
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay)


class RMSprop(Optimizer):
    torch_class = torch.optim.RMSprop

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False) -> None:
        super().__init__(learning_rate, rho=rho, momentum=momentum, epsilon=epsilon, centered=centered)

    def torch_options(self) -> dict[str, Any]:
        o = self.options
        return {"alpha": o["rho"], "momentum": o["momentum"], "eps": o["epsilon"], "centered": o["centered"]}


class Adagrad(Optimizer):
    torch_class = torch.optim.Adagrad

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon)

    def torch_options(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self.options["initial_accumulator_value"], "eps": self.options["epsilon"]}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD, "adam": Adam, "adamw": AdamW, "rmsprop": RMSprop, "adagrad": Adagrad,
}


def get(identifier: Any) -> Optimizer | torch.optim.Optimizer:
    """An optimizer recipe from a name, a config dict, a recipe, or a ready torch optimizer."""
    if isinstance(identifier, torch.optim.Optimizer):
        return identifier
    return resolve(identifier, OPTIMIZERS, Optimizer, kind="optimizer", owner="compile(optimizer=...)")


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    return serialize_registered(optimizer, OPTIMIZERS)
