"""The plan `Sequential` runs its layers by, and a functional graph each layer whose only reader
is a max pooling: exact rewrites of relu followed by max pooling.

A layer that ends in relu followed by a max pooling layer (the pattern of nearly every small
CNN: `Conv2D(..., activation="relu")`, `MaxPooling2D(2)`) computes max(relu(x)) over each
window. Max commutes with relu, so `relu(max(x))` gives the same values, and the same gradients:
the same cell wins every window and relu's derivative at that cell is the same. Pooling first
leaves relu and its backward a quarter of the cells for 2x2 windows. Training the seed CNN at
batch 128 on a 2-core CPU, this gave 15% more images/s in bfloat16 and 8% in float32
(`benchmarks/LEVERS.md`). Where the layer is a convolution the compiled kernels take, the
convolution, its pooling and the relu run as one (`convscope.ops.conv2d_max_pool`).

A functional graph (`convscope.models.graph`) pairs a node with the pooling node that alone
reads its output (no other layer, and not a model output); it runs each pair as a stack of two
by this module's plan, so the stem of `zoo.residual_cnn` runs as the same fused kernel as the
seed CNN's first convolution.

The plan is made once for a stack of layers, by asking them (`ends_in_relu`, `fuses_relu`,
`fusable_with_pool`, `observed`), and made again only when the stack changes: a layer added or
removed, built, or observed. What depends on the data (device, dtype, gradients, kernels on or
off) `convscope.ops` decides per call. A layer someone observes (a hook on it, or an activity
regularizer, whose penalty needs the layer's own output) is always run whole. Hooks registered
for every module at once (`torch.nn.modules.module.register_module_forward_hook`) are not seen;
`convscope.explain` runs layers one at a time and so always sees each layer's true output.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from convscope.layers import Layer
from convscope.layers.conv import Conv
from convscope.layers.pooling import Pooling
from convscope.ops import conv2d_max_pool


@dataclass(frozen=True)
class Step:
    """Run layer `index` alone, or with the pooling at `index + 1` before its relu (`pooled`),
    as one compiled convolution + pooling where the data allows (`conv_pool`)."""

    index: int
    pooled: bool = False
    conv_pool: bool = False


def plan_steps(layers: Sequence[Layer]) -> Iterator[Step]:
    """The steps for `layers`, asking each layer what it allows."""
    index = 0
    while index < len(layers):
        layer = layers[index]
        following = layers[index + 1] if index + 1 < len(layers) else None
        if (isinstance(following, Pooling) and following.fuses_relu() and layer.ends_in_relu()
                and not layer.observed and not following.observed):
            yield Step(index, pooled=True,
                       conv_pool=isinstance(layer, Conv) and layer.fusable_with_pool(following))
            index += 2
        else:
            yield Step(index)
            index += 1


def signature(layers: Sequence[Layer]) -> tuple[Any, ...]:
    """What a plan depends on: which layers (weakly: a dead layer's reference equals no other),
    and whether each is built and observed."""
    return tuple((weakref.ref(layer), layer.built, layer.observed) for layer in layers)


class Plan:
    """The steps for one stack of layers, and the signature they were made for."""

    def __init__(self, layers: Sequence[Layer]) -> None:
        self.signature = signature(layers)
        self.steps = tuple(plan_steps(layers))

    def pairs(self, layers: Sequence[Layer]) -> list[tuple[Layer, Layer]]:
        """(relu layer, max pooling) pairs that run pooling first."""
        return [(layers[step.index], layers[step.index + 1]) for step in self.steps if step.pooled]

    def run(self, layers: Sequence[Layer], x: torch.Tensor) -> torch.Tensor:
        for step in self.steps:
            layer = layers[step.index]
            if not step.pooled:
                x = layer(x)
                continue
            pool = layers[step.index + 1]
            assert isinstance(pool, Pooling)
            if step.conv_pool:
                assert isinstance(layer, Conv)
                layer.check_input(x)
                x = conv2d_max_pool(x, layer.kernel, layer.bias, layer.padding_for(tuple(x.shape[1:-1])),
                                    conv=layer.pre_activation, relu=True)
            else:
                x = pool.forward_relu(layer.forward_logits(x))
        return x


# One plan per stack, found through its first layer; a plan holds no layers, so it keeps none alive.
_plans: weakref.WeakKeyDictionary[Layer, Plan] = weakref.WeakKeyDictionary()


def plan(layers: Sequence[Layer]) -> Plan:
    """The plan for `layers`: the one made before, unless they changed since."""
    made = _plans.get(layers[0])
    if made is None or made.signature != signature(layers):
        made = _plans[layers[0]] = Plan(layers)
    return made


def run(layers: Sequence[Layer], x: torch.Tensor) -> torch.Tensor:
    """Run `layers` in order on `x` by their plan."""
    return plan(layers).run(layers, x) if len(layers) else x
