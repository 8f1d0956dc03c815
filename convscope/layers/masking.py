"""Keras's masks: which steps of a padded sequence are real.

`Embedding(mask_zero=True)` and `Masking(mask_value=0.0)` make a boolean (batch, steps) mask,
True where a step is real. A model that holds such a layer runs its layers through `call`,
which hands the mask to the layers that use it (SimpleRNN, LSTM, GRU, Bidirectional,
GlobalAveragePooling1D), passes it on through those that support masking (Dense, Dropout,
activations, normalisations, TimeDistributed, ...) and drops it, with Keras's warning, at a
layer that does not (Conv1D, pooling, Flatten). Merge layers combine their inputs' masks,
Softmax excludes the masked positions, TimeDistributed hands each step's mask to the layer it
wraps, and a model used as a layer hands the mask on its input to its first layers and returns
the mask its layers left on its output (Keras 3 also warns there that the model "does not support
masking", though the mask goes in; convscope does not). The model's output keeps its mask (`MASK`
attribute), so the loss and metrics skip the padded steps as Keras's do. A model without such
a layer never looks at masks.

>>> Sequential([Input((None,)), Embedding(1000, 16, mask_zero=True), LSTM(8), Dense(1)])
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterable
from typing import Any

import torch

from convscope.layers.base import Layer
from convscope.layers.input_spec import Shape
from convscope.layers.symbolic import flatten

MASK = "_keras_mask"  # the output tensor's attribute holding its mask, as in Keras's torch backend


class Masking(Layer):
    """Marks the steps whose features all equal `mask_value` as padding: (batch, steps,
    features) -> the same, with those steps set to 0 and a (batch, steps) mask, True where any
    feature differs from `mask_value`. The layers after it skip the masked steps.

    >>> Masking(mask_value=0.0)  # before an LSTM fed zero-padded sequences

    Raises:
        ValueError: for a `mask_value` that is not a number.
    """

    supports_masking = True
    makes_masks = True

    def __init__(self, mask_value: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(mask_value, (int, float)) or isinstance(mask_value, bool):
            owner = "Masking" if self.auto_named else self.label
            raise ValueError(f"{owner}: mask_value must be a number (the padding value); got {mask_value!r}.")
        self.mask_value = float(mask_value)

    def compute_mask(self, inputs: Any, mask: Any) -> torch.Tensor:
        return (inputs != self.mask_value).any(dim=-1)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        real = (inputs != self.mask_value).any(dim=-1, keepdim=True)
        return torch.where(real, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}


def makes_masks(layers: Iterable[Layer]) -> bool:
    """Whether any of `layers` may make a mask, so a model must carry masks between them."""
    return any(layer.makes_masks for layer in layers)


_takes_mask: dict[type, bool] = {}


def takes_mask(kind: type) -> bool:
    """Whether a layer class's `call` has a `mask` argument (Keras's `_call_has_mask_arg`)."""
    if kind not in _takes_mask:
        _takes_mask[kind] = "mask" in inspect.signature(kind.call).parameters  # type: ignore[attr-defined]
    return _takes_mask[kind]


def output_mask(output: Any) -> torch.Tensor | None:
    """The mask a model's output carries, or None."""
    return getattr(output, MASK, None)


def attach(output: Any, mask: Any) -> Any:
    """`output` carrying `mask` (when one, and the output is a tensor), for the loss and metrics."""
    if mask is not None and isinstance(output, torch.Tensor) and not isinstance(mask, (list, tuple)):
        setattr(output, MASK, mask)
    return output


def call(layer: Layer, inputs: Any, mask: Any, logits: bool = False, **call_kwargs: Any) -> tuple[Any, Any]:
    """(outputs, output mask) of `layer` on `inputs` whose mask is `mask`, as Keras's
    `Layer.__call__` does: a layer that supports masking gets the mask (in `call`, when that
    takes one) and passes on `compute_mask`'s; any other drops it, with Keras's warning.
    `logits` stops the layer before its final activation. `call_kwargs` (a recurrent layer's
    initial_state) reach the layer's call; then, as Keras fills `mask` only for a call on a
    single tensor, the call runs unmasked and the output still carries `compute_mask`'s mask.

    Raises:
        ValueError: naming the layer, for a mask whose shape does not match the input's steps,
            or for a training BatchNormalization fed a mask (convscope does not take masked
            batch statistics).
    """
    if mask is None or (isinstance(mask, list) and all(item is None for item in mask)):
        outputs = layer.forward_logits(inputs) if logits else layer(inputs, **call_kwargs)
        return outputs, made_mask(layer, inputs, outputs)
    if getattr(layer, "routes_masks", False):  # a model used as a layer: its first layers take the mask
        outputs = layer(inputs, mask=mask, logits=True) if logits else layer(inputs, mask=mask)
        return outputs, routed_mask(outputs)
    if not layer.supports_masking:
        warnings.warn(f"Layer '{layer.name}' (of type {type(layer).__name__}) was passed an input with a mask "
                      "attached to it. However, this layer does not support masking and will therefore destroy "
                      "the mask information. Downstream layers will not see the mask.", stacklevel=3)
        outputs = layer.forward_logits(inputs) if logits else layer(inputs, **call_kwargs)
        return outputs, made_mask(layer, inputs, outputs)
    if isinstance(mask, list):  # a merge layer: one mask (or None) per input
        for tensor, item in zip(inputs, mask):
            if item is not None:
                check(layer, tensor, item)
    elif not getattr(layer, "checks_own_mask", False):
        check(layer, inputs, mask)
    if logits and hasattr(layer, "masked_pre_activation"):  # a split-off softmax: the masked logits
        layer.check_input(inputs)
        outputs = layer.masked_pre_activation(inputs, mask)
    elif takes_mask(type(layer)) and not call_kwargs:
        outputs = layer(inputs, mask=mask)
    else:
        outputs = layer.forward_logits(inputs) if logits else layer(inputs, **call_kwargs)
    return outputs, layer.compute_mask(inputs, mask)


def routed_mask(outputs: Any) -> Any:
    """The mask(s) a model used as a layer gives on: what its own layers left on its output
    (one per output of a model with several), as Keras's model carries no mask of its own."""
    if isinstance(outputs, torch.Tensor):
        return output_mask(outputs)
    return [output_mask(output) for output in flatten(outputs)]


def made_mask(layer: Layer, inputs: Any, outputs: Any) -> Any:
    """The mask `layer` made for `outputs` from unmasked inputs: a model used as a layer
    returns the mask its own layers made on its output; Embedding and Masking compute theirs."""
    if not layer.makes_masks:
        return None
    carried = output_mask(outputs)
    return carried if carried is not None else layer.compute_mask(inputs, None)


def check(layer: Layer, inputs: torch.Tensor, mask: torch.Tensor) -> None:
    """A ValueError naming `layer` unless `mask` holds one flag per leading step of `inputs`."""
    steps = tuple(inputs.shape[:mask.dim()])
    if mask.dim() >= inputs.dim() or tuple(mask.shape) != steps:
        raise ValueError(f"{layer.label}: the mask on its input has shape {tuple(mask.shape)}, which does not match "
                         f"the input's steps: input shape {tuple(inputs.shape)} wants a mask of shape "
                         f"{tuple(inputs.shape[:2])} (batch, steps). A layer before it changed the number of steps "
                         "but kept the mask; set supports_masking = False there or give it a compute_mask.")
    if getattr(layer, "masked_batch_statistics", False) and layer.training:
        raise ValueError(f"{layer.label}: its input carries a mask, and convscope does not compute masked batch "
                         "statistics in training as Keras does. Put BatchNormalization before the masking layer, "
                         "or use LayerNormalization (it normalises each step alone).")


def run(layers: Iterable[Layer], x: torch.Tensor, logits: bool = False, mask: Any = None) -> torch.Tensor:
    """Run `layers` in order on `x` (whose mask is `mask`, when it has one), carrying the mask
    between them; the result carries the last layer's output mask (`output_mask`). `logits`
    stops the last layer before its activation."""
    stack = list(layers)
    for index, layer in enumerate(stack):
        x, mask = call(layer, x, mask, logits=logits and index == len(stack) - 1)
    return attach(x, mask)
