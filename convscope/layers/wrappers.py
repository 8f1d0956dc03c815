"""Layers that wrap another layer: Keras's `Wrapper` base and `TimeDistributed`.

    frames = layers.Input((8, 32, 32, 3))                          # (batch, time, H, W, C)
    x = layers.TimeDistributed(layers.Conv2D(16, 3, activation="relu"))(frames)  # (batch, 8, 30, 30, 16)
    x = layers.TimeDistributed(layers.GlobalAveragePooling2D())(x)              # (batch, 8, 16)

The wrapped layer's weights are the wrapper's: `keras_weights()` names them
"<inner layer>/<weight>" (e.g. "conv2d/kernel"), so a saved model keys them
"<wrapper>/conv2d/kernel", as Keras names the variables; Keras 3's weights files keep them
under layers/<wrapper group>/layer/vars (`models.keras_weights`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch

from convscope import _registry
from convscope.layers import masking
from convscope.layers.base import Layer, NameClaim, WeightSlot
from convscope.layers.core import BatchNormalization
from convscope.layers.input_spec import Shape


def layer_entry(layer: Layer) -> dict[str, Any]:
    """The wrapped layer's config entry, as a model config holds a layer: {"class_name",
    "config"}, with Keras 3's "registered_name" for a registered class of the user's."""
    return {"class_name": type(layer).__name__, **_registry.registration(type(layer)), "config": layer.get_config()}


def wrapped_layer(layer: Any, owner: str) -> Layer:
    """A `Layer` to wrap: the layer itself, or one made from its config entry (what
    `get_config` writes under "layer").

    Raises:
        ValueError: naming `owner`, for anything else, an unknown class or a model.
    """
    if isinstance(layer, dict) and isinstance(layer.get("class_name"), str) and isinstance(layer.get("config", {}), dict):
        from convscope import layers as layers_module  # the package imports this module

        registered_name = layer.get("registered_name")
        try:
            layer_class = layers_module.get(layer["class_name"], registered_name if isinstance(registered_name, str)
                                            else None)
            layer = layer_class.from_config(dict(layer.get("config", {})))
        except ValueError as error:
            raise ValueError(f"{owner}: its layer config cannot be built: {error}") from error
    if not isinstance(layer, Layer):
        raise ValueError(f"{owner}: please initialize it with a layer instance, e.g. "
                         f"{owner.split()[0]}(layers.Conv2D(16, 3)); received {type(layer).__name__} {layer!r:.80}.")
    if type(layer).call is Layer.call:  # a model used as a layer has no `call` of its own
        raise ValueError(f"{owner}: cannot wrap {layer.label}, which has no call of its own (a model); wrap its "
                         "layers one by one instead.")
    return layer


class Wrapper(Layer):
    """Base of layers that wrap another layer (Keras's `keras.layers.Wrapper`): the wrapped
    layer is `self.layer`, its weights are the wrapper's, and `trainable` covers it.

    Args:
        layer: the `Layer` to wrap (or its config entry {"class_name", "config"}).

    Raises:
        ValueError: naming the wrapper, for anything but a layer.
    """

    def __init__(self, layer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.layer = wrapped_layer(layer, type(self).__name__ if self.auto_named else self.label)
        if not self.trainable:
            self.layer.trainable = False

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze (or unfreeze) the wrapper and the layer inside it, as Keras's setter does."""
        self._trainable = bool(value)
        if "layer" in self._modules:
            self.layer.trainable = value

    def inner_name_claims(self) -> list[NameClaim]:
        """The wrapped layer's name (and those inside it): made first, Keras counts it first."""
        return [*self.layer.inner_name_claims(), self.layer.name_claim()]

    def child_input_shape(self, input_shape: Shape) -> Shape:
        """The shape the wrapped layer is built for; the input's own by default."""
        return tuple(input_shape)

    def build(self, input_shape: Shape) -> None:
        """Build the wrapped layer for `child_input_shape`; its trainable flag is its own."""
        input_shape = tuple(input_shape)
        with self.naming_errors():
            self.layer.build(self.child_input_shape(input_shape))
        self.output_shape = self.compute_output_shape(input_shape)
        self.input_shape = input_shape
        self.built = True

    @contextlib.contextmanager
    def naming_errors(self) -> Iterator[None]:
        """The wrapped layer's ValueErrors (bad shapes) also name the wrapper."""
        try:
            yield
        except ValueError as error:
            if self.label in str(error):
                raise
            raise ValueError(f"{self.label}: {error}") from error

    def keras_weights(self) -> list[WeightSlot]:
        """The wrapped layer's weights, named "<inner layer>/<weight>", in its order."""
        return [(f"{self.layer.name}/{name}", tensor, order) for name, tensor, order in self.layer.keras_weights()]

    def param_counts(self) -> tuple[int, int]:
        trainable, frozen = self.layer.param_counts()
        return (trainable, frozen) if self.trainable else (0, trainable + frozen)

    def __getattr__(self, name: str) -> Any:
        # "conv2d/kernel_regularizer": the wrapped layer's, so Layer's per-weight regularizer
        # and constraint lookups (`<weight>_regularizer`) reach inside the wrapper.
        layer_name, separator, rest = name.partition("/")
        wrapped = self._modules.get("layer")
        if separator and isinstance(wrapped, Layer) and wrapped.name == layer_name:
            return getattr(wrapped, rest)
        return super().__getattr__(name)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": layer_entry(self.layer)}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, layer={self.layer.label}"


class TimeDistributed(Wrapper):
    """Applies the same layer to every temporal slice of its input (Keras's TimeDistributed):
    axis 1 is time, and each slice (batch, *rest) goes through the wrapped layer with the same
    weights.

    Shapes: (batch, time, *rest) -> (batch, time, *the wrapped layer's output for (batch, *rest)),
    e.g. TimeDistributed(Conv2D(64, 3)) on (32, 10, 128, 128, 3) gives (32, 10, 126, 126, 64).

    The slices run as one batch of batch x time samples. In training, a wrapped layer that
    normalises with batch statistics (BatchNormalization) sees one time step at a time instead,
    as in Keras, so its statistics and moving averages are Keras's. As in Keras, the wrapped
    layer's activity regularizer is not applied (the wrapper's is).

    Args:
        layer: the `Layer` to apply (or its config entry {"class_name", "config"}).

    Raises:
        ValueError: naming the layer, for a non-layer argument or input with fewer than 3 axes.

    Example:
        >>> wrapper = TimeDistributed(Dense(4))
        >>> wrapper.compute_output_shape((None, 10, 8))
        (None, 10, 4)
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def child_input_shape(self, input_shape: Shape) -> Shape:
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(f"{self.label} expects input with at least 3 dimensions (batch, time, ...); got shape "
                             f"{tuple(input_shape) if isinstance(input_shape, (tuple, list)) else input_shape}. "
                             "Put the time steps on axis 1, e.g. frames of shape (batch, time, height, width, "
                             "channels).")
        return (input_shape[0], *input_shape[2:])

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        with self.naming_errors():
            child_output_shape = self.layer.compute_output_shape(self.child_input_shape(input_shape))
        return (child_output_shape[0], input_shape[1], *child_output_shape[1:])

    def check_input(self, inputs: torch.Tensor) -> None:
        if inputs.dim() < 3:
            self.child_input_shape(tuple(inputs.shape))  # raises, naming the layer
        super().check_input(inputs)

    def steps_one_by_one(self) -> bool:
        """Whether the slices must go through one time step at a time: in training, when the
        wrapped layer normalises with the batch's statistics."""
        return self.training and any(isinstance(module, BatchNormalization) for module in self.layer.modules())

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """A mask (batch, time, ...) reaches the wrapped layer step by step when its `call` takes
        one, as in Keras: TimeDistributed(LSTM) on (batch, time, steps, features) ids with a
        (batch, time, steps) mask reads each sequence's real steps. The output keeps the mask."""
        batch, steps = inputs.shape[0], inputs.shape[1]
        kwargs = {}
        if mask is not None and masking.takes_mask(type(self.layer)):
            kwargs["mask"] = mask
        if self.steps_one_by_one():
            return torch.stack([self.layer.call(inputs[:, step], **{name: value[:, step] for name, value in
                                                                    kwargs.items()}) for step in range(steps)], dim=1)
        folded = inputs.reshape(batch * steps, *inputs.shape[2:])  # (batch * time, *rest)
        outputs = self.layer.call(folded, **{name: value.reshape(batch * steps, *value.shape[2:])
                                             for name, value in kwargs.items()})
        # reshape, not view: the wrapped layer may return a permuted (channels-last) tensor
        return outputs.reshape(batch, steps, *outputs.shape[1:])  # (batch, time, *rest out)
