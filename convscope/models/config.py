"""Model configs: checked before anything is built.

A config is JSON from `get_config()`, a saved model's config.json or a Keras file. It may come
from anywhere, so it is checked before any weight is allocated: unknown layer types, absurd
sizes and parameter counts are refused with a `ValueError` (see `preflight`). Nothing here
unpickles or runs code from a config.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError

from convscope import _registry
from convscope import layers as layers_module
from convscope.models import registry
from convscope.models.nested import ModelLayer

MAX_PARAMS = 2_000_000_000  # refuse configs asking for more weights than any sane CNN
MAX_AXIS = 1 << 20  # largest size of one axis (height, width, steps, channels, units)
MAX_SAMPLE_VALUES = 1 << 28  # largest activation of one sample at any layer (1 GiB of float32)
MAX_LAYERS = 10_000


def check_shape(shape: Any, where: str) -> tuple[int | None, ...]:
    """A sample shape from a config: a list of positive ints (or null), none absurdly large."""
    if not isinstance(shape, (list, tuple)) or not shape or len(shape) > 8:
        raise ValueError(f"model config: {where} must be a list of 1 to 8 sizes, e.g. [28, 28, 1]; got {shape!r}.")
    for size in shape:
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_AXIS):
            raise ValueError(f"model config: {where} {list(shape)} has size {size!r}; each size must be "
                             f"an integer from 1 to {MAX_AXIS:,} (or null).")
    return tuple(shape)


def layer_entry(layer: layers_module.Layer) -> dict[str, Any]:
    """A layer's entry in a model config: {"class_name", "config"}, and Keras 3's
    "registered_name" ("package>Name") for a class filed by `register_keras_serializable`."""
    return {"class_name": type(layer).__name__, **_registry.registration(type(layer)), "config": layer.get_config()}


def layer_from_entry(entry: Any, index: int) -> layers_module.Layer:
    """One layer object (no weights yet) from a config entry, or a ValueError naming it."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
        raise ValueError(f"model config: layer {index} must be an object with 'class_name' and 'config'.")
    class_name = entry.get("class_name")
    if not isinstance(class_name, str):
        raise ValueError(f"model config: layer {index} needs a string 'class_name'; got {class_name!r}.")
    settings = dict(entry.get("config", {}))
    if registry.is_registered(class_name):
        return model_from_entry(class_name, settings, index)
    registered_name = entry.get("registered_name")
    layer_class = layers_module.get(class_name, registered_name if isinstance(registered_name, str) else None)
    if isinstance(settings.get("input_shape"), (list, tuple)):
        check_shape(settings["input_shape"], f"layer {index} ({class_name}) input_shape")
    try:
        return layer_class.from_config(settings)
    except ValueError:
        raise
    except Exception as error:  # hostile configs may trip anything inside a constructor
        raise ValueError(f"model config: layer {index} ({class_name}): {type(error).__name__}: {error}.") from error


def model_from_entry(class_name: str, settings: dict[str, Any], index: int) -> layers_module.Layer:
    """A model used as a layer (`Sequential([model, ...])`), from its config entry: checked
    first, like any model config."""
    model_class = registry.get(class_name)
    try:
        model_class.check_config(settings)
        model = model_class.from_checked_config(settings)
    except ValueError as error:
        raise ValueError(f"model config: layer {index} ({class_name} '{settings.get('name')}'): {error}") from error
    assert isinstance(model, layers_module.Layer), f"{class_name} models are layers"
    return model


def probe_layer(layer: layers_module.Layer, settings: dict[str, Any], shape: tuple[int | None, ...],
                index: int) -> tuple[tuple[int | None, ...], dict[str, tuple[int, ...]]]:
    """(output shape, the Keras-layout shape of each weight) of a layer, found by building a twin
    on the meta device, which records sizes but allocates no memory and draws no random numbers."""
    label = f"model config: layer {index} ({type(layer).__name__} '{layer.name}')"
    try:
        # a model used as a layer was made on the meta device already (`preflight`)
        twin = layer if isinstance(layer, ModelLayer) else type(layer).from_config(dict(settings))
        with torch.device("meta"):
            twin.build(shape)
        assert twin.output_shape is not None  # `build` sets it
        output_shape = tuple(twin.output_shape)
        weights = {name: tuple(tensor.permute(*order).shape) for name, tensor, order in twin.keras_weights()}
    except ValueError:
        raise
    except Exception as error:
        raise ValueError(f"{label}: {type(error).__name__}: {error}.") from error
    sizes = [size for size in output_shape[1:] if size is not None]
    if any(not isinstance(size, int) or size <= 0 for size in sizes):
        raise ValueError(f"{label}: its output shape {output_shape} has an empty axis for input {shape}; "
                         "use padding='same' or smaller kernels and pools.")
    values = int(np.prod(sizes, dtype=object)) if sizes else 1
    if values > MAX_SAMPLE_VALUES:
        raise ValueError(f"{label}: one sample's output {output_shape} holds {values:,} values, more than the "
                         f"{MAX_SAMPLE_VALUES:,} a model file may ask for; refusing to build it.")
    return output_shape, weights


def check_stored_shapes(layer: layers_module.Layer, weights: dict[str, tuple[int, ...]],
                        stored: StoredShapes) -> None:
    """Compare the weight shapes a config asks for with those a weights file holds."""
    for name, shape in weights.items():
        key = f"{layer.name}/{name}"
        if key not in stored.shapes:
            raise ValueError(f"{stored.path}: no weight {key!r} for {layer.label}, which the config declares "
                             f"with shape {shape}.")
        if stored.shapes[key] != shape:
            raise ValueError(f"{stored.path}: {layer.label} {name}: the config asks for shape {shape}; the file "
                             f"holds {stored.shapes[key]}. The config and the weights are from different models.")


def preflight(config: Any, stored: StoredShapes | None = None) -> None:
    """Check a model config without allocating any weight; with `stored`, also check each
    weight's shape against the weights file's header.

    Raises:
        ValueError: for a malformed config, an unknown layer type, a size out of range, an
            activation larger than MAX_SAMPLE_VALUES, more than MAX_PARAMS weights in total, or a
            weight whose shape differs from the file's.
    """
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError("model config must be a JSON object with a 'layers' list.")
    if len(config["layers"]) > MAX_LAYERS:
        raise ValueError(f"model config: {len(config['layers']):,} layers; at most {MAX_LAYERS:,} are accepted.")
    shape: tuple[int | None, ...] | None = None
    if config.get("input_shape") is not None:
        shape = (None, *check_shape(config["input_shape"], "input_shape"))
    total = 0
    for index, entry in enumerate(config["layers"]):
        nested = isinstance(entry, dict) and registry.is_registered(entry.get("class_name"))
        with torch.device("meta") if nested else contextlib.nullcontext():  # a model builds as it is made
            layer = layer_from_entry(entry, index)
        if isinstance(layer, layers_module.InputLayer):
            shape = (None, *check_shape(list(layer.shape), f"layer {index} (Input) shape"))
            continue
        if shape is None and layer.declared_input_shape is not None:
            shape = tuple(layer.declared_input_shape)
        if shape is None:
            continue  # no input shape: nothing is built, so nothing is allocated
        shape, weights = probe_layer(layer, dict(entry.get("config", {})), shape, index)
        total += sum(int(np.prod(size, dtype=object)) for size in weights.values())
        if total > MAX_PARAMS:
            raise ValueError(f"model config: more than {MAX_PARAMS:,} weights by layer {index} "
                             f"({layer.label}); refusing to allocate it.")
        if stored is not None:
            check_stored_shapes(layer, weights, stored)


@dataclasses.dataclass(frozen=True)
class StoredShapes:
    """The shape of every tensor in a safetensors file, read from its header alone."""

    path: Path
    shapes: dict[str, tuple[int, ...]]

    @classmethod
    def read(cls, path: Path) -> StoredShapes:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                return cls(path, {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()})
        except (SafetensorError, OSError) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise ValueError(f"{path}: not a readable safetensors weights file ({error}).") from error
