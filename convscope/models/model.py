"""Model: what every convscope model does, whatever connects its layers.

A model is a `torch.nn.Module` made of convscope layers. This base class holds Keras's model
API that does not depend on how the layers are connected: compile, fit, evaluate, predict and
the *_on_batch calls (delegated to `convscope.engine`, which trains anything meeting
`engine.protocol.TrainableModel`), weights, saving and loading, JSON, summary, device and
learning rate. The Keras-facing methods come in by purpose from three mixins: `KerasTraining`
(`model_training`: compile, fit, evaluate, predict, *_on_batch, the learning rate),
`KerasSaving` (`model_saving`: save, weights files, JSON, checkpoints) and `KerasIntrospection`
(`model_introspection`: weights, counts, summary); this module keeps the structure, shapes and
device. A subclass fixes the graph: `Sequential` chains its layers; it provides
`layers`, `output_shape`, `build`, `forward`, `output_activation_name`, `get_config` and
`from_checked_config`, and registers itself in `models.registry` so saved models find it.

`export` hands the model to `convscope.export`, a higher floor (imported when called).
"""

from __future__ import annotations

import abc
import itertools
import os
from collections.abc import Sequence
from typing import Any, Self, cast

import torch
from torch import nn

from convscope import activations
from convscope.engine.compiled import Compiled
from convscope.layers import Layer, Softmax, input_spec
from convscope.layers.input_spec import Shape
from convscope.models import config as config_checks
from convscope.models.model_introspection import KerasIntrospection
from convscope.models.model_saving import KerasSaving
from convscope.models.model_training import KerasTraining
from convscope.ops import device as device_policy


def final_activation_name(layer: Layer) -> str | None:
    """The activation `layer` ends with ("softmax", "sigmoid", ...) when a loss may take the
    output before it (`Layer.forward_logits`); None otherwise."""
    if isinstance(layer, Model):  # a model used as a layer ends as its own output does
        return layer.output_activation_name()
    if layer.activity_regularizer is not None:  # its penalty is computed on the activated output
        return None
    if isinstance(layer, Softmax):
        return "softmax" if layer.axis == -1 else None
    function = getattr(layer, "activation", None)
    if function is None:
        return None
    try:
        return activations.name_of(function)
    except ValueError:
        return None


class Model(KerasTraining, KerasSaving, KerasIntrospection, nn.Module, abc.ABC):
    """The base of convscope's models; see the module text. Build one with `Sequential`."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        """`Model(inputs, outputs)` makes a functional model, as `keras.Model(inputs, outputs)` does."""
        if cls is Model:
            from convscope.models import registry

            return super().__new__(cast("type[Model]", registry.get("Functional")))
        return super().__new__(cls)

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.input_shape: Shape | None = None
        self.compiled: Compiled | None = None
        self.history: Any = None
        self.stop_training = False
        self.nonfinite_loss = False
        self._device = torch.device("cpu")

    # -- what a subclass defines ---------------------------------------------------------
    @property
    @abc.abstractmethod
    def layers(self) -> list[Layer]:
        """Every layer, in the order their weights are listed and saved."""

    @property
    @abc.abstractmethod
    def output_shape(self) -> Shape | None:
        """The output shape with its batch axis, e.g. (None, 10); None while the input is unknown."""

    @abc.abstractmethod
    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Build every layer for `input_shape` (batch axis included, e.g. (None, 28, 28, 1))."""

    @abc.abstractmethod
    def forward(self, inputs: torch.Tensor, logits: bool = False) -> torch.Tensor:
        """Outputs for a channels-last batch; `logits=True` stops before the final softmax/sigmoid."""

    @abc.abstractmethod
    def output_activation_name(self) -> str | None:
        """The activation the output ends with, when it can be split off."""

    @abc.abstractmethod
    def get_config(self) -> dict[str, Any]:
        """The architecture as JSON-ready data; `from_config` rebuilds it."""

    @classmethod
    @abc.abstractmethod
    def from_checked_config(cls, config: dict[str, Any]) -> Self:
        """A new model from a config `check_config` has accepted."""

    @classmethod
    def check_config(cls, config: Any, stored: config_checks.StoredShapes | None = None) -> None:
        """Check a config of this class before anything is allocated (with `stored`, against
        the weights file's shapes too): a list of layers, `models.config.preflight`. A class
        whose config is another shape (a graph) overrides it.

        Raises:
            ValueError: for a config that is malformed, asks for too much or does not fit `stored`.
        """
        config_checks.preflight(config, stored)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Rebuild an (untrained) model from `get_config()` output, checking the config first.

        Raises:
            ValueError: for a config `check_config` refuses.
        """
        cls.check_config(config)
        return cls.from_checked_config(config)

    # -- structure ------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return self.input_shape is not None

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called `name`, or at position `index` (Keras's `model.get_layer`).

        Raises:
            ValueError: when both or neither are given, or no layer matches.
        """
        if (name is None) == (index is None):
            raise ValueError(f"get_layer: give a layer name or an index, not both or neither; got name={name!r}, "
                             f"index={index!r}.")
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: index {index} is out of range; the model has {len(layers)} layers.")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer named {name!r}; the layers are {[layer.name for layer in layers]}.")

    def data_keys(self) -> tuple[list[str], list[str]]:
        """The names that key x and y dicts: (input names, output names), one per input and
        output; the input layer's name and the last layer's name for a chain of layers."""
        layers = self.layers
        return ["input_layer"], [layers[-1].name if layers else self.name]

    def fusion_stacks(self) -> list[Sequence[Layer]]:
        """The stacks of layers this model runs through `convscope.models.fusion` (none here; a
        Sequential's layers, a functional graph's layer + pooling pairs)."""
        return []

    def output_activation_names(self) -> list[str | None]:
        """Each output's final activation when it can be split off (see `output_activation_name`)."""
        return [self.output_activation_name()]

    def require_output_shapes(self, action: str) -> list[Shape]:
        """Every output's shape (batch axis included), in `data_keys()` order."""
        return [self.require_output_shape(action)]

    def check_input_shape(self, shape: tuple[int, ...], argument: str = "x", index: int = 0) -> None:
        """Check a batch shape against the model's input shape, building an unbuilt model for it.

        Raises:
            ValueError: naming `argument`, the shape expected and a likely fix.
        """
        assert index == 0, "a chain of layers has one input"
        expected = self.input_shape
        if expected is None:
            expected = (None, *shape[1:])
            self.build(expected)
        layers = self.layers
        first = layers[0].label if layers else "the model"
        if len(shape) != len(expected):
            input_spec.check_rank(first, len(expected), tuple(shape), expected=tuple(expected))
        for want, have in zip(expected[1:], shape[1:]):
            if want is not None and want != have:
                raise ValueError(f"{argument} has shape {tuple(shape)} but the model expects {tuple(expected)}. "
                                 f"{input_spec.channel_hint(expected, (None, *shape[1:]))}")

    @property
    def losses(self) -> list[torch.Tensor]:
        """The regularization penalties, one scalar per layer that has any (Keras's `model.losses`);
        activity penalties are those of the last forward pass."""
        return [penalty for penalty in (layer.regularization_penalty() for layer in self.layers) if penalty is not None]

    def regularization_penalty(self) -> torch.Tensor | None:
        terms = self.losses
        return sum(terms[1:], terms[0]) if terms else None

    # -- device ---------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self._device

    def to_device(self, device: str | torch.device | None) -> Self:
        """Move to `device`; 4-D and 5-D kernels take the channels_last (channels_last_3d) memory
        format, which matches the channels-last activations, so oneDNN/cuDNN convolve without
        reordering."""
        self._device = device_policy.resolve_device(device)
        self.to(self._device)
        # Module.to(memory_format=...) would give one format to 4-D and 5-D tensors alike.
        formats = {4: torch.channels_last, 5: torch.channels_last_3d}
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if tensor.dim() in formats:
                tensor.data = tensor.data.to(memory_format=formats[tensor.dim()])  # canonical strides, C=1 too
        return self

    # -- shapes ---------------------------------------------------------------------------
    def require_built(self, action: str) -> Shape:
        """The input shape (batch axis included); a ValueError naming `action` while it is unknown."""
        if self.input_shape is None:
            raise ValueError(f"{action}: the model's input shape is unknown. Give the first layer "
                             "input_shape=(28, 28, 1) (for example), start with layers.Input((28, 28, 1)), "
                             "or call model.build((None, 28, 28, 1)).")
        return self.input_shape

    def require_output_shape(self, action: str) -> Shape:
        """The output shape (batch axis included), e.g. (None, 10); a ValueError naming `action`
        while the input shape is unknown."""
        self.require_built(action)
        shape = self.output_shape
        assert shape is not None  # every layer of a built model is built
        return shape

    def output_units(self, action: str) -> int:
        """The size of the output's last axis: a classifier's class count, e.g. 10.

        Raises:
            ValueError: naming `action`, while the model is not built or that size is unknown.
        """
        shape = self.require_output_shape(action)
        if shape[-1] is None:
            raise ValueError(f"{action}: the model's output shape {shape} leaves the last axis unknown; end "
                             "the model with a layer of fixed width, e.g. Dense(10).")
        return int(shape[-1])

    # -- export -----------------------------------------------------------------------------
    def export(self, path: str | os.PathLike[str], format: str | None = None) -> Any:
        """Write an inference file: format "onnx" or "torchscript" (default: from the suffix).

        Input is channels-last with a dynamic batch axis; see `convscope.export`.
        """
        from convscope.export import export_model

        return export_model(self, path, format)
