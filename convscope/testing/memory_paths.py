"""The checks that a layer computes the same on every path: compiled CPU kernels on and off
(`kernels`), contiguous and channels-last memory (`channels_last`)."""

from __future__ import annotations

import copy

import torch

from convscope.layers import Layer
from convscope.ops import cpu_kernels
from convscope.testing.subject import (
    Subject,
    describe_difference,
    input_names,
    trainable_parameters,
)


def outputs_and_gradients(subject: Subject, layer: Layer, inputs: list[torch.Tensor],
                          direction: torch.Tensor) -> list[torch.Tensor]:
    """[inference output, training-graph output, gradient of sum(output * direction) with
    respect to each input and each trainable weight]."""
    names, _ = trainable_parameters(layer)
    weights = [parameter for name, parameter in layer.named_parameters() if name in names]
    leaves = [x.detach().clone(memory_format=torch.preserve_format).requires_grad_() for x in inputs]
    plain = subject.infer(layer, inputs)
    outputs = subject.call(layer, leaves)
    gradients = torch.autograd.grad((outputs * direction).sum(), [*leaves, *weights], allow_unused=True)
    return [plain, outputs.detach(), *(torch.zeros(0) if g is None else g for g in gradients)]


def labels_for(subject: Subject, layer: Layer) -> list[str]:
    names, _ = trainable_parameters(layer)
    return ["inference output", "output", *(f"{name} gradient" for name in (*input_names(subject), *names))]


def check_kernels(subject: Subject) -> str | None:
    if not cpu_kernels.available():
        return "the compiled CPU kernels are not built here"
    layer = copy.deepcopy(subject.layer).eval()
    direction = subject.random(subject.infer(layer).shape)
    with cpu_kernels.enabled(True):
        on = outputs_and_gradients(subject, layer, subject.inputs, direction)
    with cpu_kernels.enabled(False):
        off = outputs_and_gradients(subject, layer, subject.inputs, direction)
    for label, first, second in zip(labels_for(subject, layer), on, off):
        if not torch.equal(first, second):
            raise subject.failure("kernels", f"the {label} differs with the compiled CPU kernels on and off "
                                  f"({describe_difference(first, second)})")
    return None


def channels_last_weights(layer: Layer) -> Layer:
    """A copy of `layer` whose 4-D parameters are in `torch.channels_last` memory."""
    moved = copy.deepcopy(layer).eval()
    for parameter in moved.parameters():
        if parameter.dim() == 4:
            parameter.data = parameter.data.contiguous(memory_format=torch.channels_last)
    return moved


def channels_first_memory(x: torch.Tensor) -> torch.Tensor:
    """The same values as `x`, stored channels first: a channels-last view with other strides."""
    return x.movedim(-1, 1).contiguous().movedim(1, -1) if x.dim() >= 3 else x


def check_channels_last(subject: Subject) -> str | None:
    if all(x.dim() < 3 for x in subject.inputs):
        return "the input has no channel axis to lay out"
    layer = copy.deepcopy(subject.layer).eval()
    direction = subject.random(subject.infer(layer).shape)
    plain = outputs_and_gradients(subject, layer, subject.inputs, direction)
    other = outputs_and_gradients(subject, channels_last_weights(layer),
                                  [channels_first_memory(x) for x in subject.inputs], direction)
    for label, first, second in zip(labels_for(subject, layer), plain, other):
        scale = max(first.abs().max().item(), 1.0) if first.numel() else 1.0
        if first.shape != second.shape or not torch.allclose(first, second, rtol=1e-5, atol=1e-5 * scale):
            raise subject.failure("channels_last", f"the {label} differs between contiguous and channels-last "
                                  f"memory ({describe_difference(first, second)})")
    return None
