"""Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum and Concatenate.

Each takes a list of tensors and returns one: the residual connection of a ResNet block is
`layers.Add()([x, shortcut])`, the branches of an Inception block meet in
`layers.Concatenate()([a, b, c])`. They have no weights. Element-wise merges broadcast as Keras
does: sizes must match or be 1, and a lower-rank input gains axes after the batch axis.

Shapes: [(batch, *dims), ...] -> (batch, *dims) element-wise; Concatenate(axis) adds up the
sizes along `axis`, e.g. [(None, 8, 8, 16), (None, 8, 8, 32)] -> (None, 8, 8, 48).

Masks (Embedding(mask_zero=True), Masking) combine as in Keras: the element-wise merges keep the
OR of their inputs' masks when every input has one (else none), and Multiply, Maximum and
Minimum fill an input's masked steps from the others (Multiply zeroes steps masked in all);
Concatenate along the features ORs the masks (an unmasked input counts as all real), along the
steps it joins them.

>>> merged = layers.add([x, layers.Conv2D(16, 3, padding="same")(x)])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from convscope.layers.base import Layer
from convscope.layers.input_spec import Shape


class Merge(Layer):
    """Base of the element-wise merges: shape checks here, the arithmetic in `merge`."""

    takes_list = True
    supports_masking = True  # combines its inputs' masks (convscope.layers.masking), as in Keras
    min_inputs = 1
    max_inputs: int | None = None

    def build(self, input_shape: Any) -> None:
        shapes = self.check_shapes(input_shape)
        self.output_shape = self.compute_output_shape(shapes)
        self.input_shape = shapes  # type: ignore[assignment]  # a list of shapes, as in Keras
        self.built = True

    def check_shapes(self, input_shape: Any) -> list[Shape]:
        """The input shapes as a list of tuples, or Keras's ValueError naming this layer."""
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not all(isinstance(shape, (list, tuple)) for shape in input_shape):
            raise ValueError(f"{self.label}: a merge layer should be called on a list of inputs. Received: "
                             f"input_shape={input_shape} (not a list of shapes)")
        shapes = [tuple(shape) for shape in input_shape]
        count = len(shapes)
        if count < self.min_inputs or (self.max_inputs is not None and count > self.max_inputs):
            wanted = f"exactly {self.min_inputs}" if self.max_inputs == self.min_inputs else f"at least {self.min_inputs}"
            raise ValueError(f"{self.label}: a `{type(self).__name__}` layer should be called on {wanted} inputs. "
                             f"Received: input_shape={shapes}")
        if len({shape[0] for shape in shapes if shape} - {None}) > 1:
            raise ValueError(f"{self.label}: cannot merge tensors with different batch sizes. Received tensors "
                             f"with shapes {shapes}")
        return shapes

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = [tuple(shape) for shape in input_shape]
        output = shapes[0][1:]
        for shape in shapes[1:]:
            output = self.broadcast(output, shape[1:])
        batch_sizes = {shape[0] for shape in shapes} - {None}
        return (batch_sizes.pop() if len(batch_sizes) == 1 else None, *output)

    def broadcast(self, first: Shape, second: Shape) -> Shape:
        """The element-wise result shape of two shapes (no batch axis), aligned on the right."""
        if len(first) < len(second):
            first, second = second, first
        if not second:
            return first
        output = list(first[:len(first) - len(second)])
        for a, b in zip(first[len(first) - len(second):], second):
            if a is None or b is None:
                output.append(None)
            elif a == 1 or b == 1 or a == b:
                output.append(b if a == 1 else a)
            else:
                raise ValueError(f"{self.label}: inputs have incompatible shapes. Received shapes "
                                 f"{first} and {second}")
        return tuple(output)

    def check_input(self, inputs: Any) -> None:
        if not isinstance(inputs, (list, tuple)) or not all(isinstance(x, torch.Tensor) for x in inputs):
            raise ValueError(f"{self.label}: a merge layer should be called on a list of inputs. Received: "
                             f"inputs of type {type(inputs).__name__} (not a list of tensors)")
        shapes = [(None, *x.shape[1:]) for x in inputs]
        if not self.built:
            self.build(shapes)
        else:
            self.compute_output_shape(self.check_shapes(shapes))

    def forward(self, inputs: Any, mask: Any = None) -> torch.Tensor:  # type: ignore[override]  # lists
        self.check_input(inputs)
        outputs = self.call(inputs, mask=mask)
        if self.activity_regularizer is not None:
            self.activity_penalty = self.activity_regularizer(outputs) / outputs.shape[0]
        return outputs

    def forward_logits(self, inputs: Any) -> torch.Tensor:  # type: ignore[override]
        return self.forward(inputs)

    def call(self, inputs: Any, mask: Any = None) -> torch.Tensor:
        rank = max(x.dim() for x in inputs)
        # Keras gives a lower-rank input new axes after the batch axis, so (b, 5) meets (b, 4, 5).
        aligned = [x if x.dim() == rank else x.reshape(x.shape[0], *([1] * (rank - x.dim())), *x.shape[1:])
                   for x in inputs]
        if mask is None or all(item is None for item in mask):
            return self.merge(aligned)
        # Keras's reshaped inputs lose their masks; the others' cover their features.
        masks = [None if item is None or x.dim() != rank else item.unsqueeze(-1).expand(x.shape)
                 for x, item in zip(inputs, mask)]
        return self.masked_merge(aligned, masks)

    def merge(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def masked_merge(self, inputs: Sequence[torch.Tensor], masks: Sequence[torch.Tensor | None]) -> torch.Tensor:
        """The merge of inputs some of which carry masks (each broadcast to its input)."""
        return self.merge(inputs)

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """The OR of the inputs' masks, or None unless every input has one (Keras's rule)."""
        if not isinstance(mask, (list, tuple)) or any(item is None for item in mask):
            return None
        output = mask[0]
        for item in mask[1:]:
            output = torch.logical_or(output, item)
        return output

    def fill_masked(self, inputs: Sequence[torch.Tensor], masks: Sequence[torch.Tensor | None],
                    operation: Any) -> torch.Tensor:
        """Keras's Maximum and Minimum: each input's masked positions take the running result
        (and the result's masked ones the input), so padding never wins."""
        output, output_mask = inputs[0], masks[0]
        for x, mask in zip(inputs[1:], masks[1:]):
            if mask is not None:
                x = torch.where(mask, x, output)
            if output_mask is not None:
                output = torch.where(output_mask, output, x)
            output_mask = None if mask is None or output_mask is None else output_mask | mask
            output = operation(output, x)
        return output


class Add(Merge):
    """Element-wise sum of the inputs: the residual connection, `Add()([x, shortcut])`."""

    def merge(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output


class Subtract(Merge):
    """inputs[0] - inputs[1]; exactly two inputs."""

    min_inputs = max_inputs = 2

    def merge(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Element-wise product of the inputs (e.g. a gate: `Multiply()([features, attention])`)."""

    def merge(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = output * x
        return output

    def masked_merge(self, inputs: Sequence[torch.Tensor], masks: Sequence[torch.Tensor | None]) -> torch.Tensor:
        # As Keras: a masked position counts as 1; masked in every input, it gives 0.
        output = self.merge([x if mask is None else torch.where(mask, x, torch.ones((), dtype=x.dtype))
                             for x, mask in zip(inputs, masks)])
        if all(mask is not None for mask in masks):
            everywhere = masks[0]
            for mask in masks[1:]:
                everywhere = everywhere | mask  # type: ignore[operator]  # none is None here
            output = torch.where(everywhere, output, torch.zeros((), dtype=output.dtype))  # type: ignore[arg-type]
        return output


class Average(Merge):
    """Element-wise mean of the inputs."""

    def merge(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = output + x
        return output / len(inputs)


class Maximum(Merge):
    """Element-wise maximum of the inputs."""

    def merge(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = torch.maximum(output, x)
        return output

    def masked_merge(self, inputs: Sequence[torch.Tensor], masks: Sequence[torch.Tensor | None]) -> torch.Tensor:
        return self.fill_masked(inputs, masks, torch.maximum)


class Minimum(Merge):
    """Element-wise minimum of the inputs."""

    def merge(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        output = inputs[0]
        for x in inputs[1:]:
            output = torch.minimum(output, x)
        return output

    def masked_merge(self, inputs: Sequence[torch.Tensor], masks: Sequence[torch.Tensor | None]) -> torch.Tensor:
        return self.fill_masked(inputs, masks, torch.minimum)


class Concatenate(Merge):
    """Joins the inputs along `axis` (the channels, -1, by default): every other axis must match.

    [(None, 8, 8, 16), (None, 8, 8, 32)] -> (None, 8, 8, 48).
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"Concatenate: axis must be an integer, e.g. -1 for the channels; got {axis!r}.")
        self.axis = axis

    def check_shapes(self, input_shape: Any) -> list[Shape]:
        shapes = super().check_shapes(input_shape)
        rank = len(shapes[0])
        if any(len(shape) != rank for shape in shapes) or not -rank <= self.axis < rank:
            raise ValueError(f"{self.label}: a `Concatenate` layer requires inputs of one rank with axis {self.axis} "
                             f"among their axes. Received: input_shape={shapes}")
        axis = self.axis % rank
        for position in range(1, rank):
            sizes = {shape[position] for shape in shapes} - {None}
            if position != axis and len(sizes) > 1:
                raise ValueError(f"{self.label}: a `Concatenate` layer requires inputs with matching shapes "
                                 f"except for the concatenation axis. Received: input_shape={shapes}")
        return shapes

    def compute_output_shape(self, input_shape: Any) -> Shape:
        shapes = [tuple(shape) for shape in input_shape]
        output = list(shapes[0])
        for shape in shapes[1:]:
            if output[self.axis] is None or shape[self.axis] is None:
                output[self.axis] = None
                break
            output[self.axis] += shape[self.axis]  # type: ignore[operator]  # both known here
        return tuple(output)

    def call(self, inputs: Any, mask: Any = None) -> torch.Tensor:
        return torch.cat(list(inputs), dim=self.axis)

    def compute_mask(self, inputs: Any, mask: Any) -> Any:
        """As Keras: each input's mask (all True for an unmasked input) spread over its features,
        joined along `axis`, then True where any feature is: the OR of the masks along the
        features, the masks one after another along the steps."""
        if not isinstance(mask, (list, tuple)) or all(item is None for item in mask):
            return None
        spread = [torch.ones_like(x, dtype=torch.bool) if item is None
                  else item.unsqueeze(-1).expand(x.shape) if item.dim() < x.dim() else item
                  for x, item in zip(inputs, mask)]
        return torch.cat(spread, dim=self.axis).any(dim=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """`Add(**kwargs)(inputs)`: the element-wise sum of a list of tensors."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """`Subtract(**kwargs)(inputs)`: inputs[0] - inputs[1]."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """`Multiply(**kwargs)(inputs)`: the element-wise product."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """`Average(**kwargs)(inputs)`: the element-wise mean."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """`Maximum(**kwargs)(inputs)`: the element-wise maximum."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """`Minimum(**kwargs)(inputs)`: the element-wise minimum."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """`Concatenate(axis, **kwargs)(inputs)`: the inputs joined along `axis`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
