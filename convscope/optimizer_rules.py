"""Keras 3's update rules where torch.optim's differ, as `torch.optim.Optimizer` subclasses.

Each class keeps torch's option names (`alpha`, `eps`, `betas`, ...) and torch's state names
where the meaning is the same, so state dicts saved with torch's class load into it; a state
whose meaning changed gets Keras's slot name and is converted on load (`upgrade`).

    rule        Keras 3                                         torch.optim
    RMSprop     w -= lr * g / sqrt(v + eps)                     w -= lr * g / (sqrt(v) + eps)
                momentum m = mu * m + lr * g / sqrt(v + eps)    buffer b = mu * b + g / (sqrt(v) + eps)
    Adagrad     w -= lr * g / sqrt(acc + eps)                   w -= lr * g / (sqrt(acc) + eps)
    Adamax      u = max(beta_2 * u, |g|), divides by u + eps    u = max(beta_2 * u, |g| + eps)

The differences show where gradients are near zero (|g| around sqrt(epsilon) for RMSprop and
Adagrad, around epsilon for Adamax) and, for RMSprop's momentum, when the learning rate changes.

>>> import torch
>>> weight = torch.nn.Parameter(torch.zeros(3))
>>> optimizer = RMSprop([weight], lr=0.001, alpha=0.9, eps=1e-7)
>>> weight.grad = torch.ones(3)
>>> _ = optimizer.step()
>>> round(float(weight.detach()[0]), 6)  # -0.001 / sqrt(0.1 + 1e-7)
-0.003162
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


class KerasRule(torch.optim.Optimizer):
    """A torch optimizer that applies one Keras update to each parameter group's parameters
    with gradients, with `torch._foreach_*` operations over the whole group."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        super().__init__(params, defaults)

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    def upgrade(self, entries: dict[str, Any], group: dict[str, Any]) -> None:
        """Convert a state saved by torch's class of the same name (in place)."""

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [param for param in group["params"] if param.grad is not None]
            if not params:
                continue
            states = []
            for param in params:
                if not self.state[param]:
                    self.state[param] = {"step": torch.tensor(0.0), **self.initial_state(param, group)}
                states.append(self.state[param])
            torch._foreach_add_([state["step"] for state in states], 1.0)
            self.update(group, params, [param.grad for param in params], states)
        return loss

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            for param in group["params"]:
                if self.state.get(param):
                    self.upgrade(self.state[param], group)


def zeros(param: torch.Tensor) -> torch.Tensor:
    return torch.zeros_like(param, memory_format=torch.preserve_format)


class RMSprop(KerasRule):
    """Keras 3's RMSprop: v = rho * v + (1 - rho) * g^2 (`alpha` is rho); centered, a = rho * a +
    (1 - rho) * g and v - a^2 takes v's place; step = lr * g / sqrt(v + eps); with momentum,
    m = momentum * m + step and w -= m (m carries the learning rate, as Keras's slot does)."""

    def __init__(self, params: Iterable[Any], lr: float = 0.001, alpha: float = 0.9, eps: float = 1e-7,
                 momentum: float = 0.0, centered: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "momentum": momentum, "centered": centered})

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"square_avg": zeros(param)}
        if group["centered"]:
            state["grad_avg"] = zeros(param)
        if group["momentum"] > 0:
            state["momentum"] = zeros(param)
        return state

    def update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]]) -> None:
        rho, lr = group["alpha"], group["lr"]
        velocities = [state["square_avg"] for state in states]
        torch._foreach_mul_(velocities, rho)
        torch._foreach_addcmul_(velocities, grads, grads, value=1 - rho)
        if group["centered"]:
            averages = [state["grad_avg"] for state in states]
            torch._foreach_mul_(averages, rho)
            torch._foreach_add_(averages, grads, alpha=1 - rho)
            denominators = torch._foreach_sub(velocities, torch._foreach_mul(averages, averages))
            torch._foreach_add_(denominators, group["eps"])
        else:
            denominators = torch._foreach_add(velocities, group["eps"])
        torch._foreach_sqrt_(denominators)
        increments = list(torch._foreach_mul(grads, lr))
        torch._foreach_div_(increments, denominators)
        if group["momentum"] > 0:
            momentums = [state["momentum"] for state in states]
            torch._foreach_mul_(momentums, group["momentum"])
            torch._foreach_add_(momentums, increments)
            increments = momentums
        torch._foreach_sub_(params, increments)

    def upgrade(self, entries: dict[str, Any], group: dict[str, Any]) -> None:
        # torch's buffer b steps w -= lr * b; Keras's momentum is the step itself.
        if "momentum_buffer" in entries:
            entries["momentum"] = entries.pop("momentum_buffer") * group["lr"]


class Adagrad(KerasRule):
    """Keras 3's Adagrad: acc += g^2 (from `initial_accumulator_value`); w -= lr * g / sqrt(acc + eps)."""

    def __init__(self, params: Iterable[Any], lr: float = 0.001, initial_accumulator_value: float = 0.1,
                 eps: float = 1e-7) -> None:
        super().__init__(params, {"lr": lr, "initial_accumulator_value": initial_accumulator_value, "eps": eps})

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"sum": torch.full_like(param, group["initial_accumulator_value"], memory_format=torch.preserve_format)}

    def update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]]) -> None:
        accumulators = [state["sum"] for state in states]
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominators = torch._foreach_add(accumulators, group["eps"])
        torch._foreach_sqrt_(denominators)
        increments = torch._foreach_mul(grads, group["lr"])
        torch._foreach_div_(increments, denominators)
        torch._foreach_sub_(params, increments)


class Adamax(KerasRule):
    """Keras 3's Adamax: m += (g - m) * (1 - beta_1); u = max(beta_2 * u, |g|);
    w -= lr * m / ((1 - beta_1^t) * (u + eps)). torch keeps epsilon inside u."""

    def __init__(self, params: Iterable[Any], lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-7) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps})

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"exp_avg": zeros(param), "norm": zeros(param)}

    def update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]]) -> None:
        beta_1, beta_2 = group["betas"]
        momentums, norms = [state["exp_avg"] for state in states], [state["norm"] for state in states]
        torch._foreach_add_(momentums, torch._foreach_mul(torch._foreach_sub(grads, momentums), 1 - beta_1))
        torch._foreach_mul_(norms, beta_2)
        torch._foreach_maximum_(norms, torch._foreach_abs(grads))
        denominators = torch._foreach_add(norms, group["eps"])
        torch._foreach_mul_(denominators, [1 - beta_1 ** float(state["step"]) for state in states])
        increments = torch._foreach_mul(momentums, group["lr"])
        torch._foreach_div_(increments, denominators)
        torch._foreach_sub_(params, increments)

    def upgrade(self, entries: dict[str, Any], group: dict[str, Any]) -> None:
        if "exp_inf" in entries:
            entries["norm"] = (entries.pop("exp_inf") - group["eps"]).clamp_(min=0.0)
