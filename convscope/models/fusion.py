"""An exact rewrite `Sequential` applies when it runs its layers: relu after max pooling.

A layer that ends in relu followed by a max pooling layer (the pattern of nearly every small
CNN: `Conv2D(..., activation="relu")`, `MaxPooling2D(2)`) computes max(relu(x)) over each
window. Max commutes with relu, so `relu(max(x))` gives the same values, and the same gradients:
the same cell wins every window and relu's derivative at that cell is the same. Pooling first
leaves relu and its backward a quarter of the cells for 2x2 windows. Training the seed CNN at
batch 128 on a 2-core CPU, this gave 15% more images/s in bfloat16 and 8% in float32
(`benchmarks/LEVERS.md`).

The rewrite is skipped wherever it would change what a user can observe: a layer with an
activity regularizer (its penalty needs the layer's own output), or a layer with forward hooks.
`convscope.explain` runs layers one at a time and so always sees each layer's true output.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch.nn.modules import module as torch_module

from convscope import activations
from convscope.engine import cpu_kernels
from convscope.layers import Layer
from convscope.layers.base import KernelLayer
from convscope.layers.conv import Conv
from convscope.layers.core import Activation, ReLU
from convscope.layers.pooling import Pooling


def ends_in_relu(layer: Layer) -> bool:
    """True when the layer's output is relu(pre_activation) with the plain relu."""
    if isinstance(layer, ReLU):
        return layer.max_value is None and layer.negative_slope == 0 and layer.threshold == 0
    # Only layers whose output is exactly activation(pre_activation): a subclass that overrides
    # `call` may compute something else.
    return (type(layer).call in (KernelLayer.call, Activation.call)
            and getattr(layer, "activation", None) is activations.ACTIVATIONS["relu"])


def observed(layer: Layer) -> bool:
    """Whether something outside the layer looks at its output (hooks, activity penalty)."""
    return bool(layer.activity_regularizer is not None or layer._forward_hooks or layer._forward_pre_hooks
                or layer._forward_hooks_with_kwargs)


def steps(layers: Sequence[Layer]) -> Iterator[tuple[Layer, Pooling | None]]:
    """(layer, None) to run a layer as it is, or (relu_layer, max_pool) to pool before relu."""
    global_hooks = bool(torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks)
    index = 0
    while index < len(layers):
        layer = layers[index]
        following = layers[index + 1] if index + 1 < len(layers) else None
        if (not global_hooks and isinstance(following, Pooling) and following.reduction == "max"
                and ends_in_relu(layer) and not observed(layer) and not observed(following)):
            yield layer, following
            index += 2
        else:
            yield layer, None
            index += 1


def run(layers: Sequence[Layer], x: torch.Tensor) -> torch.Tensor:
    """Run `layers` in order on `x`, pooling before relu where that is exact."""
    for layer, pool in steps(layers):
        x = layer(x) if pool is None else pool_then_relu(layer, pool, x)
    return x


def pool_then_relu(layer: Layer, pool: Pooling, x: torch.Tensor) -> torch.Tensor:
    """relu(pool(layer's output before relu)). On a CPU with the compiled kernels
    (`convscope.engine.cpu_kernels`), a first convolution runs fused with its pooling and relu,
    and a 2x2 max pooling applies the relu itself."""
    if fused_conv_pool_applies(layer, pool, x):
        assert isinstance(layer, Conv)
        layer.check_input(x)
        pads = layer.padding_for(tuple(x.shape[1:-1]))
        if any(before or after for before, after in pads):
            x = F.pad(x, [0, 0, *[side for pair in reversed(pads) for side in pair]])
        return cpu_kernels.conv_max_pool_2x2(x, layer.kernel, layer.bias, relu=True)
    logits = layer.forward_logits(x)
    if pool.built and pool.cpu_kernel_applies(logits):
        pool.check_input(logits)
        return cpu_kernels.max_pool_2x2(logits, relu=True)
    return torch.relu(pool(logits))


def fused_conv_pool_applies(layer: Layer, pool: Pooling, x: torch.Tensor) -> bool:
    """A built, channels-last Conv2D with stride 1 and no dilation ('valid' or 'same'), whose
    input needs no gradient, followed by 2x2/2 max pooling, on a CPU with the kernels built.
    (The kernels' size check on the unpadded input also holds for the input padded for 'same'.)"""
    return (isinstance(layer, Conv) and type(layer).pre_activation is Conv.pre_activation
            and layer.rank == 2 and layer.built and pool.built and layer.data_format == "channels_last"
            and layer.strides == (1, 1) and layer.dilation_rate == (1, 1)
            and layer.padding in ("valid", "same") and pool.is_2x2_max_channels_last()
            and cpu_kernels.usable(x) and cpu_kernels.conv_pool_supports(x, layer.kernel))
