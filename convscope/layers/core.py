"""InputLayer and Input, Dense, Flatten, Activation, ReLU, Softmax, Dropout and BatchNormalization."""

from __future__ import annotations

import math
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from convscope import activations, initializers
from convscope.layers.base import KernelLayer, Layer, WeightSlot
from convscope.layers.conv_utils import normalize_data_format
from convscope.layers.input_spec import Shape
from convscope.layers.symbolic import Node, SymbolicTensor


def _number(value: Any, argument: str, owner: str, *, integer: bool = False) -> Any:
    """A finite real number (an int when `integer`), or a ValueError naming the argument."""
    kinds = (int,) if integer else (int, float)
    if not isinstance(value, kinds) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{owner}: {argument} must be a finite {'integer' if integer else 'number'}; "
                         f"got {value!r}.")
    return value


def _positive_int(value: Any, argument: str, owner: str, example: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{owner}: {argument} must be a positive integer; got {value!r}. {example}")
    return value


class InputLayer(Layer):
    """The entry of a model: it declares the shape of one sample and passes data through.

    `Input(...)` makes one and returns its output, the symbolic tensor a functional model starts
    from; a Sequential model may also start with either. Keras 2's `input_shape` and
    `batch_input_shape` are read as `shape` and `batch_shape`.

    Args:
        shape: one sample's shape (no batch axis), e.g. (28, 28, 1); None for an unknown size.
        batch_size: a fixed batch size, or None (any).
        dtype: the element type's name ("float32" by default).
        batch_shape: the full shape, batch axis first, instead of `shape` and `batch_size`.
    """

    def __init__(self, shape: Any = None, batch_size: int | None = None, dtype: str | None = None,
                 batch_shape: Any = None, name: str | None = None, **kwargs: Any) -> None:
        shape = kwargs.pop("input_shape", shape)  # Keras 2's InputLayer(input_shape=...)
        batch_shape = kwargs.pop("batch_input_shape", batch_shape)
        for option in ("sparse", "ragged", "optional"):
            if kwargs.pop(option, None):
                raise ValueError(f"InputLayer: {option}=True is not supported; convscope inputs are dense tensors.")
        kwargs.pop("input_tensor", None)
        super().__init__(name=name, **kwargs)
        if batch_shape is not None:
            sizes = _sizes(batch_shape, "batch_shape")
            if len(sizes) < 2:
                raise ValueError(f"InputLayer: batch_shape needs a batch axis and at least one more, e.g. "
                                 f"(None, 28, 28, 1); got {batch_shape!r}.")
            batch_size, sample_shape = sizes[0], sizes[1:]
        elif shape is None:
            raise ValueError("Input: give the shape of one sample (no batch axis), e.g. Input((28, 28, 1)).")
        else:
            sample_shape = _sizes(shape, "shape")
        if batch_size is not None:
            _positive_int(batch_size, "batch_size", "Input", "Leave it None for any batch size.")
        if dtype is not None and not isinstance(dtype, str):
            dtype = getattr(dtype, "name", None) or str(dtype).replace("torch.", "")
        self.shape: Shape = sample_shape
        self.batch_size = batch_size
        self.dtype = dtype or "float32"
        self.batch_shape: Shape = (batch_size, *sample_shape)
        self.declared_input_shape = self.batch_shape
        self.build(self.batch_shape)
        Node(self, None, SymbolicTensor(self.batch_shape, self.dtype, name=self.name))

    @property
    def input(self) -> Any:
        """An InputLayer's input is its output: the tensor a model is fed."""
        return self.output

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.pop("input_shape", None)
        return {**config, "batch_shape": list(self.batch_shape), "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> InputLayer:
        return cls(**config)


def _sizes(shape: Any, argument: str) -> Shape:
    """A tuple of positive ints or None from a shape argument (a bare int is one axis)."""
    try:
        sizes: tuple[Any, ...] = tuple(shape)
    except TypeError:  # a bare size, e.g. Input(784); checked below like any other entry
        sizes = (shape,)
    if not sizes or not all(s is None or (isinstance(s, int) and not isinstance(s, bool) and s > 0) for s in sizes):
        raise ValueError(f"Input: {argument} must be a tuple of positive ints or None (no batch axis in shape), "
                         f"e.g. (28, 28, 1); got {shape!r}.")
    return sizes


def Input(shape: Any = None, batch_size: int | None = None, name: str | None = None, dtype: str | None = None,
          batch_shape: Any = None) -> SymbolicTensor:  # noqa: N802 (Keras's name)
    """The symbolic input of a model: a `SymbolicTensor` of shape (batch_size, *shape) made by a
    new `InputLayer`. Call layers on it, then make a model from it and their outputs.

    >>> inputs = Input((28, 28, 1))
    >>> outputs = layers.Dense(10, activation="softmax")(layers.Flatten()(layers.Conv2D(32, 3)(inputs)))
    >>> model = Model(inputs, outputs)
    >>> Sequential([Input((28, 28, 1)), layers.Conv2D(32, 3)])  # starts a Sequential model too

    Raises:
        ValueError: for a shape that is not a tuple of positive ints (None allowed).
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, batch_shape=batch_shape, name=name)
    return cast(SymbolicTensor, layer.output)


class Dense(KernelLayer):
    """Fully connected layer: (batch, in) -> (batch, units), y = activation(x @ kernel + bias).

    The kernel is (in, units) in Keras's layout. On input with more axes it works on the last
    one, as in Keras: (batch, steps, in) -> (batch, steps, units), the same weights at every
    step. To classify feature maps, put Flatten() or a global pooling layer before it. Keras 2's
    `input_dim=784` means input_shape=(784,).
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, units: int, activation: Any = None, use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None,
                 bias_constraint: Any = None, **kwargs: Any) -> None:
        input_dim = kwargs.pop("input_dim", None)
        if input_dim is not None and kwargs.get("input_shape") is None:
            kwargs["input_shape"] = (input_dim,)  # Keras 2's Dense(64, input_dim=784)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        owner = "Dense" if self.auto_named else self.label
        self.units = _positive_int(units, "units", owner, "It is the number of outputs, e.g. 128 or 10.")
        self.set_kernel_options(owner, activation, use_bias, kernel_initializer, bias_initializer,
                                kernel_regularizer, bias_regularizer, kernel_constraint, bias_constraint)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) < 2:
            raise ValueError(f"{self.label} expects input with a batch axis and a features axis; got shape "
                             f"{tuple(input_shape)}.")
        return (*input_shape[:-1], self.units)

    def build_weights(self, input_shape: Shape) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"{self.label}: the last axis of the input must be known; got {input_shape}.")
        self.kernel = nn.Parameter(self.kernel_initializer((features, self.units)).t().contiguous())
        self.bias = nn.Parameter(self.bias_initializer((self.units,))) if self.use_bias else None

    def keras_weights(self) -> list[tuple[str, torch.Tensor, tuple[int, ...]]]:
        if not self.built:
            return []
        slots: list[WeightSlot] = [("kernel", self.kernel, (1, 0))]
        if self.bias is not None:
            slots.append(("bias", self.bias, (0,)))
        return slots

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.linear(inputs, self.kernel, self.bias)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            **self.kernel_options_config(),
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, units={self.units}"


class Flatten(Layer):
    """(batch, *dims) -> (batch, prod(dims)), in channels-last order: 5x5x64 -> 1600."""

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, "Flatten")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) < 2:
            raise ValueError(f"{self.label} expects input with a batch axis and at least one more; "
                             f"got shape {tuple(input_shape)}.")
        rest = input_shape[1:]
        return (input_shape[0], None if None in rest else math.prod(rest))  # type: ignore[arg-type]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.movedim(1, -1)  # flatten in Keras's channels-last order
        return inputs.reshape(inputs.shape[0], -1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class Activation(Layer):
    """Applies a named activation element-wise (softmax over the last axis)."""

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation, owner="Activation" if self.auto_named else self.label)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(inputs)

    def ends_in_relu(self) -> bool:
        return self.activation is activations.ACTIVATIONS["relu"]

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.name_of(self.activation)}


class ReLU(Layer):
    """max(x, 0), with Keras's optional max_value, negative_slope and threshold."""

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0,
                 threshold: float = 0.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if max_value is not None:
            max_value = _number(max_value, "max_value", "ReLU")
        negative_slope, threshold = _number(negative_slope, "negative_slope", "ReLU"), _number(threshold, "threshold", "ReLU")
        if max_value is not None and max_value < 0:
            raise ValueError(f"ReLU: max_value must be >= 0 or None; got {max_value}.")
        if negative_slope < 0:
            raise ValueError(f"ReLU: negative_slope must be >= 0; got {negative_slope}.")
        self.max_value, self.negative_slope, self.threshold = max_value, float(negative_slope), float(threshold)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.negative_slope == 0 and self.threshold == 0:
            outputs = torch.relu(inputs)
        else:
            outputs = torch.where(inputs >= self.threshold, inputs, self.negative_slope * (inputs - self.threshold))
        return outputs if self.max_value is None else outputs.clamp_max(self.max_value)

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs  # the whole layer is the activation

    def ends_in_relu(self) -> bool:
        return self.max_value is None and self.negative_slope == 0 and self.threshold == 0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class Softmax(Layer):
    """exp(x) / sum(exp(x)) along `axis` (the last by default): class probabilities.

    A boolean `mask` broadcastable to the input (True or > 0.5 where a position counts), given
    as `Softmax()(scores, mask=mask)` or carried from a masking layer, excludes the masked
    positions as in Keras: they get -1e9 before the softmax and 0 after it.

    Raises:
        ValueError: naming the layer, for a mask that does not broadcast to the input (as
            Keras's, a (batch, steps) mask on (batch, steps, classes) logits does not).
    """

    supports_masking = True
    checks_own_mask = True  # any mask that broadcasts to the input, not only (batch, steps)

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.axis = _number(axis, "axis", "Softmax", integer=True)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ValueError(f"{self.label}: axis {self.axis} is out of range for {len(input_shape)}-D input "
                             f"{tuple(input_shape)}; use -1 (the last axis) or an axis in [1, {len(input_shape) - 1}].")
        return tuple(input_shape)

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return torch.softmax(inputs, dim=self.axis)
        keep = self.keep(inputs, mask)
        outputs = torch.softmax(inputs.masked_fill(~keep, _large_negative(inputs.dtype)), dim=self.axis)
        return outputs.masked_fill(~keep, 0.0)  # a fully masked axis gives zeros, not a uniform row

    def keep(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`mask` as booleans (Keras keeps values > 0.5) broadcast to `inputs`, or Keras's error."""
        mask = torch.as_tensor(mask, device=inputs.device)
        keep = mask if mask.dtype == torch.bool else mask > 0.5
        try:
            if keep.dim() > inputs.dim():
                raise RuntimeError
            return torch.broadcast_to(keep, inputs.shape)
        except RuntimeError:
            raise ValueError(f"{self.label}: the `mask` must be broadcastable to `inputs`. Each mask dimension must "
                             f"be 1 or match the corresponding input dimension. Received: inputs.shape="
                             f"{tuple(inputs.shape)}, mask.shape={tuple(keep.shape)}. A (batch, steps) mask from "
                             "Embedding(mask_zero=True) or Masking does not broadcast to (batch, steps, classes); "
                             "Keras refuses it too.") from None

    def pre_activation(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    def masked_pre_activation(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The logits the loss reads for a masked softmax: masked positions at -1e9."""
        return inputs.masked_fill(~self.keep(inputs, mask), _large_negative(inputs.dtype))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


def _large_negative(dtype: torch.dtype) -> float:
    """Keras's stand-in for minus infinity at masked softmax positions."""
    return -3e4 if dtype == torch.float16 else -1e9


class Dropout(Layer):
    """Zeroes a fraction `rate` of the inputs during training and rescales the rest."""

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1); got {rate!r}.")
        if noise_shape is not None:
            raise ValueError("Dropout: noise_shape is not supported; leave it None.")
        self.rate, self.seed = float(rate), seed

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.dropout(inputs, self.rate, self.training)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class BatchNormalization(Layer):
    """Normalises each channel (the last axis by default) with batch statistics in training
    and moving averages in inference. Weights: gamma, beta, moving_mean, moving_variance."""

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras
    masked_batch_statistics = True  # Keras computes masked moments in training; convscope refuses

    # Buffers made by `register_buffer` in `build_weights`; declared so their type is known.
    moving_mean: torch.Tensor
    moving_variance: torch.Tensor

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3,
                 center: bool = True, scale: bool = True, beta_initializer: Any = "zeros",
                 gamma_initializer: Any = "ones", moving_mean_initializer: Any = "zeros",
                 moving_variance_initializer: Any = "ones", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        axis = _number(axis, "axis", "BatchNormalization", integer=True)
        epsilon = _number(epsilon, "epsilon", "BatchNormalization")
        if epsilon <= 0:
            raise ValueError(f"BatchNormalization: epsilon must be > 0 (it keeps the division by the standard "
                             f"deviation finite); got {epsilon}.")
        if not 0 <= _number(momentum, "momentum", "BatchNormalization") < 1:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1); got {momentum}.")
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.initializers = {name: initializers.get(value, owner=f"BatchNormalization {name}") for name, value in (
            ("beta_initializer", beta_initializer), ("gamma_initializer", gamma_initializer),
            ("moving_mean_initializer", moving_mean_initializer),
            ("moving_variance_initializer", moving_variance_initializer))}

    def channel_axis(self, rank: int) -> int:
        axis = self.axis if self.axis >= 0 else rank + self.axis
        if not 0 < axis < rank:
            raise ValueError(f"{self.label}: axis {self.axis} is not a feature axis of a {rank}-D input.")
        return axis

    def build_weights(self, input_shape: Shape) -> None:
        channels = input_shape[self.channel_axis(len(input_shape))]
        if channels is None:
            raise ValueError(f"{self.label}: the normalised axis must have a known size; got {input_shape}.")
        shape = (channels,)
        init = self.initializers
        self.gamma = nn.Parameter(init["gamma_initializer"](shape)) if self.scale else None
        self.beta = nn.Parameter(init["beta_initializer"](shape)) if self.center else None
        self.register_buffer("moving_mean", init["moving_mean_initializer"](shape))
        self.register_buffer("moving_variance", init["moving_variance_initializer"](shape))

    def keras_weights(self) -> list[tuple[str, torch.Tensor, tuple[int, ...]]]:
        if not self.built:
            return []
        slots: list[WeightSlot] = [
            (name, getattr(self, name), (0,)) for name in ("gamma", "beta") if getattr(self, name) is not None]
        return slots + [("moving_mean", self.moving_mean, (0,)), ("moving_variance", self.moving_variance, (0,))]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        axis = self.channel_axis(inputs.dim())
        x = inputs.movedim(axis, 1)
        # A frozen layer normalises with its moving statistics and leaves them be, as in Keras 3.
        updating = self.training and self.trainable
        # torch moves the variance towards the batch's unbiased variance (x n / (n - 1)), Keras
        # towards the biased one it normalised with: v = v_torch (1 - 1/n) + momentum v_old / n.
        # torch updates a copy (its backward keeps the tensor it was given).
        variance = self.moving_variance.clone() if updating else self.moving_variance
        outputs = F.batch_norm(x, self.moving_mean, variance, self.gamma, self.beta,
                               updating, 1.0 - self.momentum, self.epsilon)
        if updating:
            count = x.numel() // x.shape[1]
            with torch.no_grad():
                self.moving_variance.mul_(self.momentum / count).add_(variance, alpha=1.0 - 1.0 / count)
        return outputs.movedim(1, axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **{name: initializers.serialize(value) for name, value in self.initializers.items()}}
