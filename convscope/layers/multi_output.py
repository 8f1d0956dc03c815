"""Layers that may return several tensors (a recurrent layer with return_state, Bidirectional
with merge_mode=None): their output shapes, and the one graph node they record with every
output on symbolic tensors, as Keras does."""

from __future__ import annotations

from typing import Any

import torch

from convscope.layers import input_spec
from convscope.layers.base import Layer
from convscope.layers.input_spec import Shape
from convscope.layers.symbolic import Node, SymbolicTensor


class MultiOutputLayer(Layer):
    """A layer that may return several tensors (an RNN with return_state, Bidirectional with
    merge_mode=None): `output_shapes` lists them; on symbolic tensors it records one node with
    every output, as Keras does."""

    input_rank = 3

    def output_shapes(self, input_shape: Shape) -> list[Shape]:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self.output_shapes(input_shape)[0]

    @property
    def output_count(self) -> int:
        """How many tensors a call returns (a Sequential model takes layers returning one)."""
        return len(self.output_shapes((None, None, None)))

    def state_sizes(self) -> list[int]:
        """The width of each state `initial_state` gives, in order (LSTM: h then c)."""
        raise NotImplementedError

    def state_names(self) -> str:
        raise NotImplementedError

    def initial_states(self, initial_state: Any, batch: int | None) -> list[Any]:
        """`initial_state` (one tensor or a list) as a list, checked against `state_sizes`.

        Raises:
            ValueError: naming the layer, for a wrong count or shape.
        """
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        sizes = self.state_sizes()
        if len(states) != len(sizes):
            raise ValueError(f"{self.label}: initial_state takes {len(sizes)} tensor(s), {self.state_names()}; "
                             f"got {len(states)}.")
        for index, (state, size) in enumerate(zip(states, sizes)):
            shape = tuple(getattr(state, "shape", ()))
            if len(shape) != 2 or shape[1] != size or None not in (batch, shape[0]) and shape[0] != batch:
                raise ValueError(f"{self.label}: initial_state[{index}] must have shape ({batch or 'batch'}, "
                                 f"{size}); got {shape}. Pass the states of a layer with the same units.")
        return states

    def symbolic_call(self, inputs: Any, initial_state: Any = None, **kwargs: Any) -> Any:
        kwargs.pop("training", None)
        if kwargs.get("mask", True) is None:
            kwargs.pop("mask")  # what Keras writes for a call given no mask
        if kwargs:
            raise ValueError(f"{self.label}: unexpected call argument(s) {', '.join(sorted(kwargs))} (a recurrent "
                             "layer takes the sequence and initial_state; masks come from Embedding(mask_zero=True) "
                             "or Masking before it).")
        inputs = self.standardize_inputs(inputs)
        if not self.built:
            self.build(inputs.shape)
        elif self.input_shape is not None:
            input_spec.check_compatible(self.label, self.input_shape, inputs.shape)
        call_kwargs: dict[str, Any] = {}
        if initial_state is not None:
            states = self.initial_states(initial_state, inputs.shape[0])
            if not all(isinstance(state, SymbolicTensor) for state in states):
                raise ValueError(f"{self.label}: called on a symbolic sequence, so initial_state must be symbolic "
                                 "tensors too (e.g. the states of an LSTM(return_state=True)), not values.")
            call_kwargs["initial_state"] = states
        shapes = self.output_shapes(inputs.shape)
        if len(shapes) == 1:
            output = SymbolicTensor(tuple(shapes[0]), inputs.dtype)
            Node(self, inputs, output, call_kwargs)
            return output
        outputs = [SymbolicTensor(tuple(shape), inputs.dtype) for shape in shapes]
        Node(self, inputs, outputs, call_kwargs)
        return outputs

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None,  # type: ignore[override]
                initial_state: Any = None) -> Any:
        """As `Layer.forward`, with `initial_state`: the states the first step starts from
        (a tensor or list of (batch, units) tensors or arrays; zeros when None)."""
        if initial_state is None:
            return super().forward(inputs, mask)
        self.check_input(inputs)
        states = [state if isinstance(state, torch.Tensor) else torch.as_tensor(state, dtype=inputs.dtype)
                  for state in self.initial_states(initial_state, inputs.shape[0])]
        states = [state.to(device=inputs.device, dtype=inputs.dtype) for state in states]
        outputs = self.call(inputs, mask=mask, initial_state=states)  # type: ignore[call-arg]
        if self.activity_regularizer is not None:
            output = outputs[0] if isinstance(outputs, list) else outputs
            self.activity_penalty = self.activity_regularizer(output) / inputs.shape[0]
        return outputs
