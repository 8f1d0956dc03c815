"""The gradients check: autograd against central finite differences, in float64 where the layer
runs in it, else in float32 with coarser steps."""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch.autograd.gradcheck import GradcheckError, gradcheck

from convscope.layers import Layer
from convscope.testing.subject import Subject, input_names, trainable_parameters

ScalarFunction = Callable[..., torch.Tensor]


def scalar_function(subject: Subject, layer: Layer, names: list[str], direction: torch.Tensor) -> ScalarFunction:
    """f(*inputs, *weights) = sum(layer(inputs) * direction), the weights given by parameter name."""
    count = len(subject.inputs)

    def scalar(*arguments: torch.Tensor) -> torch.Tensor:
        inputs, weights = arguments[:count], arguments[count:]
        argument = list(inputs) if subject.takes_list else inputs[0]
        outputs = torch.func.functional_call(layer, dict(zip(names, weights)), (argument,))
        return (outputs * direction).sum()
    return scalar


def check_gradients(subject: Subject) -> str | None:
    layer = copy.deepcopy(subject.layer).double().eval()
    inputs = [x.double() for x in subject.inputs]
    try:
        outputs = subject.infer(layer, inputs)
    except (RuntimeError, TypeError) as error:  # no float64 support: float32 with coarser steps
        coarse_gradient_check(subject, error)
        return None
    names, weights = trainable_parameters(layer)
    scalar = scalar_function(subject, layer, names, subject.random(outputs.shape, torch.float64))
    arguments = tuple(t.clone(memory_format=torch.contiguous_format).requires_grad_() for t in (*inputs, *weights))
    try:
        gradcheck(scalar, arguments, eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=True)
    except GradcheckError as error:
        raise subject.failure("gradients", f"float64 gradcheck along random directions: {error}") from error
    problems = coordinate_mismatches(scalar, arguments, [*input_names(subject), *names], subject.generator,
                                     eps=1e-6, rtol=1e-5, atol=1e-8)
    if problems:
        raise subject.failure("gradients", "float64 central differences disagree with autograd: "
                              + "; ".join(problems))
    return None


def coarse_gradient_check(subject: Subject, reason: Exception) -> None:
    layer = copy.deepcopy(subject.layer).eval()
    names, weights = trainable_parameters(layer)
    scalar = scalar_function(subject, layer, names, subject.random(subject.infer(layer).shape))
    arguments = tuple(t.clone(memory_format=torch.contiguous_format).requires_grad_()
                      for t in (*subject.inputs, *weights))
    problems = coordinate_mismatches(scalar, arguments, [*input_names(subject), *names], subject.generator,
                                     eps=1e-2, rtol=5e-2, atol=1e-3)
    if problems:
        raise subject.failure("gradients", f"float32 central differences (float64 failed: {reason}) disagree with "
                              "autograd: " + "; ".join(problems))


def coordinate_mismatches(scalar: ScalarFunction, arguments: tuple[torch.Tensor, ...], names: list[str],
                          generator: torch.Generator, *, eps: float, rtol: float, atol: float,
                          per_tensor: int = 3) -> list[str]:
    """Where (f(t + eps) - f(t - eps)) / 2 eps at a few random coordinates of each argument
    disagrees with autograd's gradient."""
    analytic = torch.autograd.grad(scalar(*arguments), arguments, allow_unused=True)
    values = [argument.detach().clone() for argument in arguments]
    problems = []
    with torch.no_grad():
        for index, (value, gradient) in enumerate(zip(values, analytic)):
            flat = value.view(-1)
            for position in torch.randint(flat.numel(), (per_tensor,), generator=generator).tolist():
                original = flat[position].item()
                flat[position] = original + eps
                above = scalar(*values).item()
                flat[position] = original - eps
                below = scalar(*values).item()
                flat[position] = original
                numeric = (above - below) / (2 * eps)
                exact = 0.0 if gradient is None else gradient.reshape(-1)[position].item()
                if not abs(numeric - exact) <= atol + rtol * max(abs(numeric), abs(exact)):
                    problems.append(f"{names[index]}[{position}]: autograd {exact:.6g}, numeric {numeric:.6g}")
    return problems
