"""The layer `run_layer_test` checks, built inside a one-layer model with its data, and the
helpers every check shares."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from convscope.layers import RNN, Input, InputLayer, Layer, StackedRNNCells
from convscope.layers.cells import Cell
from convscope.layers.input_spec import Shape
from convscope.models import Functional, Model, Sequential

UNKNOWN_SIZE = 5  # the size given to a non-batch axis declared None


class LayerTestFailure(AssertionError):
    """A check of `run_layer_test` failed; `layer` and `check` say which."""

    def __init__(self, layer: str, check: str, message: str) -> None:
        super().__init__(f"run_layer_test({layer}) {check}: {message}")
        self.layer, self.check = layer, check


@dataclasses.dataclass
class Subject:
    """The layer under test, its one-layer model and the data it runs on."""

    layer_cls: type[Layer]
    input_shape: Shape | list[Shape]  # batch axis first, None allowed; a list for a list of inputs
    layer: Layer
    model: Model
    inputs: list[torch.Tensor]  # float32, every axis known; one unless the layer takes a list
    generator: torch.Generator

    @property
    def name(self) -> str:
        return self.layer_cls.__name__

    @property
    def takes_list(self) -> bool:
        return isinstance(self.input_shape, list)

    def call(self, layer: Layer, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        return layer(list(inputs) if self.takes_list else inputs[0])

    def shapes(self, inputs: Sequence[torch.Tensor]) -> Any:
        """The shapes of `inputs` as `compute_output_shape` takes them: a list for a list."""
        shapes = [tuple(x.shape) for x in inputs]
        return shapes if self.takes_list else shapes[0]

    def arrays(self) -> np.ndarray | list[np.ndarray]:
        arrays = [x.numpy() for x in self.inputs]
        return arrays if self.takes_list else arrays[0]

    def infer(self, layer: Layer, inputs: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """The layer's output in inference mode, without a graph."""
        layer.eval()
        with torch.no_grad():
            return self.call(layer, self.inputs if inputs is None else inputs)

    def failure(self, check: str, message: str) -> LayerTestFailure:
        return LayerTestFailure(self.name, check, message)

    def random(self, shape: Sequence[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
        return torch.randn(tuple(shape), generator=self.generator, dtype=dtype)


def build_subject(layer_cls: type[Layer], kwargs: dict[str, Any], input_shape: Shape | list[Shape],
                  batch_size: int, seed: int) -> Subject:
    """The layer built inside a one-layer model, and its data."""
    try:
        layer = layer_cls(**kwargs)
        if isinstance(layer, (Cell, StackedRNNCells)):  # one step: tested over sequences in RNN(cell), as Keras runs it
            layer, layer_cls = RNN(layer), RNN
        model = one_layer_model(layer, input_shape)
    except Exception as error:
        raise LayerTestFailure(layer_cls.__name__, "build", f"building it on input shape {input_shape} "
                               f"raised {type(error).__name__}: {error}") from error
    generator = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(concrete_shape(shape, batch_size), generator=generator)
              for shape in (input_shape if isinstance(input_shape, list) else [input_shape])]
    return Subject(layer_cls, input_shape, layer, model, inputs, generator)


def concrete_shape(shape: Shape, batch_size: int) -> tuple[int, ...]:
    return tuple(batch_size if i == 0 and size is None else UNKNOWN_SIZE if size is None else size
                 for i, size in enumerate(shape))


def one_layer_model(layer: Layer, input_shape: Shape | list[Shape]) -> Model:
    """`layer` built inside the smallest model that holds it: a Sequential after an Input, an
    InputLayer alone, or a functional Model over one Input per shape for a list of inputs."""
    if isinstance(input_shape, list):
        inputs = [Input(batch_shape=shape) for shape in input_shape]
        return Functional(inputs, layer(inputs))
    if isinstance(layer, InputLayer):  # Sequential takes an InputLayer as its input, not as a layer
        layer.build(input_shape)
        return Sequential([layer])
    return Sequential([Input(tuple(input_shape[1:]), batch_size=input_shape[0]), layer])


def describe_difference(first: torch.Tensor | np.ndarray, second: torch.Tensor | np.ndarray) -> str:
    a, b = torch.as_tensor(first).double(), torch.as_tensor(second).double()
    if a.shape != b.shape:
        return f"shapes {tuple(a.shape)} and {tuple(b.shape)}"
    return f"largest difference {(a - b).abs().max().item():.3g}" if a.numel() else "empty"


def json_round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def trainable_parameters(layer: Layer) -> tuple[list[str], list[torch.Tensor]]:
    named = [(name, parameter) for name, parameter in layer.named_parameters() if parameter.requires_grad]
    return [name for name, _ in named], [parameter.detach() for _, parameter in named]


def input_names(subject: Subject) -> list[str]:
    return [f"input {index}" for index in range(len(subject.inputs))] if subject.takes_list else ["input"]
