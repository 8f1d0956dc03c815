"""Lambda (a Python function as a layer) and Identity.

Keras saves a Lambda's function as Python bytecode and refuses to load it in safe mode (its
default). convscope never writes or runs code from a file: a saved Lambda names its function,
and loading finds it among the custom objects (`load_model(path, custom_objects={...})`,
`custom_object_scope`, `@register_keras_serializable`). An anonymous `lambda` has no name, so
loading one is refused, as Keras refuses it, with the two ways round: pass the function under
the layer's name in `custom_objects`, or rebuild the model in code and load its weights.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import torch

from convscope import _registry
from convscope.layers.base import Layer
from convscope.layers.input_spec import Shape

LAMBDA = "__lambda__"  # Keras's class_name for a function saved as bytecode


def _is_anonymous(function: Callable[..., Any]) -> bool:
    return getattr(function, "__name__", "<lambda>") == "<lambda>"


def serialize_function(function: Callable[..., Any]) -> dict[str, Any]:
    """A function as Keras's configs name it; an anonymous one keeps its source text (for people
    to read; never run) where Keras keeps bytecode."""
    if _is_anonymous(function):
        try:
            source = inspect.getsource(function).strip()
        except (OSError, TypeError):
            source = None
        return {"class_name": LAMBDA, "config": {"code": None, "defaults": None, "closure": None, "source": source}}
    registered = _registry.get_registered_name(function) if _registry.is_registered(function) else "function"
    return {"module": getattr(function, "__module__", None), "class_name": "function",
            "config": function.__name__, "registered_name": registered}


def refused(owner: str, layer_name: str, what: str = "function") -> ValueError:
    return ValueError(
        f"{owner}: the saved {what} is a Python lambda, which Keras stores as bytecode; convscope never runs code "
        f"from a file (Keras refuses it too in safe mode). Supply the function yourself: load_model(path, "
        f"custom_objects={{{layer_name!r}: lambda x: ...}}) (keyed by the layer's name), or give it a name and "
        "pass it as custom_objects={'my_function': my_function}, or rebuild the model in code and call "
        "model.load_weights(path).")


def resolve_function(value: Any, owner: str, layer_name: str, what: str = "function") -> Callable[..., Any]:
    """A callable from a callable, a registered function's name, or a saved config entry."""
    if callable(value) and not isinstance(value, type):
        return value
    if isinstance(value, dict) and value.get("class_name") == LAMBDA:
        supplied = _registry.get_registered_object(layer_name, by_plain_name=False)
        if callable(supplied) and not isinstance(supplied, type):
            return supplied  # the user's replacement, passed under the layer's name
        raise refused(owner, layer_name, what)
    if isinstance(value, dict) and value.get("class_name") == "function":
        names = [value.get("registered_name"), value.get("config")]
    elif isinstance(value, str):
        names = [value]
    else:
        raise ValueError(f"{owner}: {what} must be a function (e.g. lambda x: x * 2); got {value!r}.")
    for name in names:
        if isinstance(name, str) and name != "function":
            found = _registry.get_registered_object(name)
            if callable(found) and not isinstance(found, type):
                return found
    name = next((n for n in reversed(names) if isinstance(n, str)), repr(value))
    raise ValueError(f"{owner}: the {what} {name!r} is not known. {_registry.unknown_object_hint('function', name)}")


class Lambda(Layer):
    """Wraps a function of the input tensor as a layer: `Lambda(lambda x: x / 255)`. The function
    gets the channels-last torch tensor (plus `arguments` as keyword arguments) and returns one.

    `output_shape` is inferred by running the function on zeros (twice, with different sizes
    for the unknown axes, so an axis that follows them stays unknown); give it when the function
    cannot run on zeros: a tuple without the batch axis, or a function of the full input shape.

    Saving keeps the function's name only (see the module's note): a named function loads when
    it is registered or passed in `custom_objects`; a `lambda` must be supplied again.

    >>> Lambda(lambda x: x ** 2)
    >>> Lambda(scale, arguments={"factor": 0.5})  # def scale(x, factor): return x * factor

    Raises:
        ValueError: for a non-callable function, a `mask` (convscope layers carry no masks),
            arguments that are not a dict, and an output shape that cannot be inferred.
    """

    def __init__(self, function: Any, output_shape: Any = None, mask: Any = None, arguments: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = "Lambda" if self.auto_named else self.label
        self.function = resolve_function(function, owner, self.name)
        if mask is not None:
            raise ValueError(f"{owner}: mask is not supported; convscope layers carry no masks. Leave it None.")
        if arguments is not None and not (isinstance(arguments, dict) and all(isinstance(k, str) for k in arguments)):
            raise ValueError(f"{owner}: arguments must be a dict of keyword arguments for the function; "
                             f"got {arguments!r}.")
        self.arguments: dict[str, Any] = dict(arguments or {})
        self.given_output_shape = self.output_shape_argument(output_shape, owner)

    def output_shape_argument(self, output_shape: Any, owner: str) -> Any:
        if output_shape is None:
            return None
        if isinstance(output_shape, (list, tuple)):
            if not all(s is None or (isinstance(s, int) and not isinstance(s, bool) and s >= 0) for s in output_shape):
                raise ValueError(f"{owner}: output_shape must be a tuple of sizes (no batch axis; None for unknown) "
                                 f"or a function of the input shape; got {output_shape!r}.")
            return tuple(output_shape)
        if isinstance(output_shape, dict) and output_shape.get("class_name") == LAMBDA \
                and not callable(_registry.get_registered_object(self.name, by_plain_name=False)):
            warnings.warn(f"{owner}: the saved output_shape is a Python lambda, which convscope does not run; the "
                          "output shape is inferred by running the layer's function instead.", stacklevel=3)
            return None
        return resolve_function(output_shape, owner, self.name, "output_shape function")

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if callable(self.given_output_shape):
            return tuple(self.given_output_shape(tuple(input_shape)))
        if self.given_output_shape is not None:
            return (input_shape[0], *self.given_output_shape)
        probes = []
        for batch, fill in ((2, 8), (3, 13)):  # sizes unlikely to be what the function cuts to
            shape = tuple((batch if axis == 0 else fill) if size is None else size
                          for axis, size in enumerate(input_shape))
            try:
                with torch.no_grad():
                    outputs = self.call(torch.zeros(shape))
            except Exception as error:
                raise ValueError(f"{self.label}: could not infer the output shape by running the function on zeros "
                                 f"of shape {shape} ({type(error).__name__}: {error}). Pass output_shape=(...) "
                                 "(without the batch axis).") from error
            if not isinstance(outputs, torch.Tensor):
                raise ValueError(f"{self.label}: the function must return one tensor; got {type(outputs).__name__}.")
            probes.append(tuple(outputs.shape))
        if len(probes[0]) != len(probes[1]):
            raise ValueError(f"{self.label}: the function's output rank depends on the input's sizes "
                             f"({probes[0]} vs {probes[1]}); pass output_shape=(...).")
        return tuple(a if a == b else None for a, b in zip(*probes))

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        outputs = self.function(inputs, **self.arguments)
        if not isinstance(outputs, torch.Tensor):
            raise ValueError(f"{self.label}: the function must return one tensor; got {type(outputs).__name__}.")
        declared = self.output_shape
        if declared is not None and self.given_output_shape is not None and (len(declared) != outputs.dim() or any(
                want is not None and want != got for want, got in zip(declared[1:], outputs.shape[1:]))):
            raise ValueError(f"{self.label}: the function returned shape {tuple(outputs.shape)}, but output_shape "
                             f"declares {declared}. Fix output_shape, or leave it out to infer it.")
        return outputs

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {**super().get_config(), "function": serialize_function(self.function)}
        if callable(self.given_output_shape):
            config["output_shape"] = serialize_function(self.given_output_shape)
        elif self.given_output_shape is not None:
            config["output_shape"] = list(self.given_output_shape)
        return {**config, "arguments": dict(self.arguments)}


class Identity(Layer):
    """Returns its input unchanged: a placeholder (e.g. for a removed block). Any shape.

    >>> Identity()
    """

    supports_masking = True  # passes a mask on (convscope.layers.masking), as in Keras

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs
