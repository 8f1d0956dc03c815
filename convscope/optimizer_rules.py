"""Keras 3's update rules where torch.optim's differ, as `torch.optim.Optimizer` subclasses.

Each class keeps torch's option names (`alpha`, `eps`, `betas`, ...) and torch's state names
where the meaning is the same, so state dicts saved with torch's class load into it; a state
whose meaning changed gets Keras's slot name and is converted on load (`upgrade`).

    rule        Keras 3                                         torch.optim
    RMSprop     w -= lr * g / sqrt(v + eps)                     w -= lr * g / (sqrt(v) + eps)
                momentum m = mu * m + lr * g / sqrt(v + eps)    buffer b = mu * b + g / (sqrt(v) + eps)
    Adagrad     w -= lr * g / sqrt(acc + eps)                   w -= lr * g / (sqrt(acc) + eps)
    Adamax      u = max(beta_2 * u, |g|), divides by u + eps    u = max(beta_2 * u, |g| + eps)
    Adadelta    epsilon inside both square roots, step x lr       the same (torch's Adadelta agrees)
    Ftrl, Lion, Adafactor                                       no torch.optim counterpart

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


class Adadelta(KerasRule):
    """Keras 3's Adadelta: a = rho * a + (1 - rho) * g^2; d = -g * sqrt(s + eps) / sqrt(a + eps);
    s = rho * s + (1 - rho) * d^2; w += lr * d."""

    def __init__(self, params: Iterable[Any], lr: float = 0.001, rho: float = 0.95, eps: float = 1e-7) -> None:
        super().__init__(params, {"lr": lr, "rho": rho, "eps": eps})

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"accumulated_grad": zeros(param), "accumulated_delta_var": zeros(param)}

    def update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]]) -> None:
        rho, eps = group["rho"], group["eps"]
        averages = [state["accumulated_grad"] for state in states]
        deltas = [state["accumulated_delta_var"] for state in states]
        torch._foreach_mul_(averages, rho)
        torch._foreach_addcmul_(averages, grads, grads, value=1 - rho)
        steps = torch._foreach_sqrt(torch._foreach_add(deltas, eps))
        torch._foreach_mul_(steps, grads)
        torch._foreach_div_(steps, torch._foreach_sqrt(torch._foreach_add(averages, eps)))  # -d
        torch._foreach_mul_(deltas, rho)
        torch._foreach_addcmul_(deltas, steps, steps, value=1 - rho)
        torch._foreach_sub_(params, torch._foreach_mul(steps, group["lr"]))


class Ftrl(KerasRule):
    """Keras 3's FTRL-proximal: with g' = g + 2 * l2_shrinkage * w and n' = n + g^2,
    z += g' - (n'^-p - n^-p) / lr * w; w = (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 * (l2 + beta / (2 lr)));
    n = n' (p is learning_rate_power, n the accumulator, z the linear term)."""

    def __init__(self, params: Iterable[Any], lr: float = 0.001, lr_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1: float = 0.0, l2: float = 0.0,
                 l2_shrinkage: float = 0.0, beta: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "lr_power": lr_power, "initial_accumulator_value": initial_accumulator_value,
                                  "l1": l1, "l2": l2, "l2_shrinkage": l2_shrinkage, "beta": beta})

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        accumulator = torch.full_like(param, group["initial_accumulator_value"], memory_format=torch.preserve_format)
        return {"accumulator": accumulator, "linear": zeros(param)}

    def update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]]) -> None:
        lr, power = group["lr"], -group["lr_power"]
        l2 = group["l2"] + group["beta"] / (2.0 * lr)
        for param, grad, state in zip(params, grads, states, strict=True):
            accumulator, linear = state["accumulator"], state["linear"]
            shrunk = grad + 2 * group["l2_shrinkage"] * param
            new_accumulator = accumulator + grad * grad
            scaled = torch.pow(new_accumulator, power)
            linear.add_(shrunk - (scaled - torch.pow(accumulator, power)) / lr * param)
            quadratic = scaled / lr + 2 * l2
            param.copy_((linear.clamp(-group["l1"], group["l1"]) - linear) / quadratic)
            accumulator.copy_(new_accumulator)


class Lion(KerasRule):
    """Keras 3's Lion: w -= lr * sign(beta_1 * m + (1 - beta_1) * g); m = beta_2 * m + (1 - beta_2) * g."""

    def __init__(self, params: Iterable[Any], lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.99)) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas)})

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"momentum": zeros(param)}

    def update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]]) -> None:
        beta_1, beta_2 = group["betas"]
        momentums = [state["momentum"] for state in states]
        directions = torch._foreach_mul(momentums, beta_1)
        torch._foreach_add_(directions, torch._foreach_mul(grads, 1 - beta_1))
        torch._foreach_sign_(directions)
        torch._foreach_sub_(params, torch._foreach_mul(directions, group["lr"]))
        torch._foreach_mul_(momentums, beta_2)
        torch._foreach_add_(momentums, torch._foreach_mul(grads, 1 - beta_2))


class Adafactor(KerasRule):
    """Keras 3's Adafactor. At step t, rho = min(lr, 1 / sqrt(t)), alpha = max(epsilon_2, rms(w)) * rho,
    beta = 1 - t^beta_2_decay and G = g^2 + epsilon_1. A weight of rank 2 or more keeps factored
    second moments over its last two axes in Keras's layout: r = beta * r + (1 - beta) * mean(G, -1),
    c = beta * c + (1 - beta) * mean(G, -2), v = (r / mean(r, -1))[..., None] * c[..., None, :];
    a vector keeps v = beta * v + (1 - beta) * G. Then u = g / sqrt(v), u /= max(1, rms(u) / clip_threshold)
    and w -= alpha * u.

    `keras_orders` maps id(param) to the permutation from its PyTorch layout to Keras's (a conv
    kernel's (out, in, kh, kw) -> (kh, kw, in, out)); the factored moments `row_average` and
    `column_average` are kept in Keras's layout, `velocity` in the parameter's.
    """

    def __init__(self, params: Iterable[Any], lr: float = 0.001, beta_2_decay: float = -0.8,
                 epsilon_1: float = 1e-30, epsilon_2: float = 1e-3, clip_threshold: float = 1.0,
                 keras_orders: dict[int, tuple[int, ...]] | None = None) -> None:
        super().__init__(params, {"lr": lr, "beta_2_decay": beta_2_decay, "epsilon_1": epsilon_1,
                                  "epsilon_2": epsilon_2, "clip_threshold": clip_threshold})
        self.keras_orders = dict(keras_orders or {})

    def keras_order(self, param: torch.Tensor) -> tuple[int, ...]:
        return self.keras_orders.get(id(param), tuple(range(param.dim())))

    def initial_state(self, param: torch.Tensor, group: dict[str, Any]) -> dict[str, Any]:
        state = {"velocity": zeros(param)}
        if param.dim() >= 2:
            shape = tuple(param.shape[axis] for axis in self.keras_order(param))
            state["row_average"] = param.new_zeros(shape[:-1])
            state["column_average"] = param.new_zeros((*shape[:-2], shape[-1]))
        return state

    def update(self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor],
               states: list[dict[str, Any]]) -> None:
        for param, grad, state in zip(params, grads, states, strict=True):
            step = float(state["step"])
            rho = min(group["lr"], 1 / step ** 0.5)
            alpha = torch.clamp(rms(param), min=group["epsilon_2"]) * rho
            squares = grad * grad + group["epsilon_1"]
            beta = 1 - step ** group["beta_2_decay"]
            velocity = state["velocity"]
            if param.dim() >= 2:
                order = self.keras_order(param)
                squares = squares.permute(*order)  # Keras's layout: factor its last two axes
                rows, columns = state["row_average"], state["column_average"]
                rows.mul_(beta).add_(squares.mean(dim=-1) * (1 - beta))
                columns.mul_(beta).add_(squares.mean(dim=-2) * (1 - beta))
                factored = (rows / rows.mean(dim=-1, keepdim=True)).unsqueeze(-1) * columns.unsqueeze(-2)
                velocity.copy_(factored.permute(*inverse(order)))
            else:
                velocity.mul_(beta).add_(squares * (1 - beta))
            scaled = grad / velocity.sqrt()
            scaled /= torch.clamp(rms(scaled) / group["clip_threshold"], min=1.0)
            param.sub_(scaled * alpha)


def rms(tensor: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(torch.mean(tensor * tensor))


def inverse(order: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(range(len(order)), key=order.__getitem__))
