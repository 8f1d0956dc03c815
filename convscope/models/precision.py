"""How much of a model the float32 Winograd kernel runs: what `compile(precision="auto")` weighs
against bfloat16 (`convscope.ops.device.resolve_precision`).

A model names the stacks of layers it runs through `convscope.models.fusion` (a Sequential its
layers, a functional graph each layer with the pooling that alone reads it); the plan of each
stack says which convolution + max pooling pairs run as one kernel, and `convscope.ops` which
of those the Winograd kernel takes. Models used as layers count with their own stacks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from convscope.layers import Layer
from convscope.layers.conv import Conv
from convscope.models import fusion
from convscope.models.summary import layer_macs
from convscope.ops import winograd_fusable


def conv_pool_pairs(model: Any) -> Iterator[tuple[Conv, Layer]]:
    """The (convolution, max pooling) pairs `model` and the models inside it run as one kernel."""
    for module in model.modules():
        stacks: list[Sequence[Layer]] = module.fusion_stacks() if hasattr(module, "fusion_stacks") else []
        for layers in stacks:
            if not layers:
                continue
            for step in fusion.plan(layers).steps:
                conv = layers[step.index]
                if step.conv_pool and isinstance(conv, Conv):
                    yield conv, layers[step.index + 1]


def float32_kernel_share(model: Any) -> float:
    """Share of `model`'s multiply-adds per example (convolutions and dense layers, as
    `summary(show_macs=True)` counts them) that run in the float32 Winograd kernel; 0 where the
    kernels are off or not built, or the model has no multiply-adds it can count."""
    total = sum(layer_macs(layer) for layer in model.modules() if isinstance(layer, Layer)
                and not hasattr(layer, "fusion_stacks"))
    fast = sum(layer_macs(conv) for conv, _ in conv_pool_pairs(model)
               if winograd_fusable(int(conv.kernel.shape[1]), conv.kernel_size))
    return fast / total if total else 0.0
