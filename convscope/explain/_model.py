"""Walking a model layer by layer: the one place explain/ touches torch tensors of a model.

A "model" here is anything with a `.layers` list (a convscope `Sequential`) or a plain list of
channels-last torch modules; layers run one after another, as `Sequential` runs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def model_layers(model: Any) -> list[torch.nn.Module]:
    """The layers of `model` in order (a model with `.layers`, or a sequence of modules)."""
    layers = getattr(model, "layers", model)
    if not isinstance(layers, Sequence) or not layers:
        raise ValueError(
            f"explain: expected a model with a non-empty .layers list or a list of layers; got "
            f"{type(model).__name__}. Fix: pass a convscope Sequential or load one with load_model."
        )
    return list(layers)


def layer_kind(layer: Any) -> str:
    """The layer's class name, e.g. 'Conv2D'."""
    return type(layer).__name__


def layer_name(layer: Any, index: int) -> str:
    return str(getattr(layer, "name", f"layer_{index}"))


def find_layer(model: Any, layer: Any, kinds: tuple[str, ...] | None = None) -> tuple[int, Any]:
    """(index, layer) for a layer given by name, index, object, or None (first of `kinds`).

    Raises:
        ValueError: when no such layer exists, listing the model's layers.
    """
    layers = model_layers(model)
    available = ", ".join(f"{i}:{layer_name(m, i)} ({layer_kind(m)})" for i, m in enumerate(layers))
    matches: list[int]
    if layer is None:
        matches = [i for i, m in enumerate(layers) if kinds is None or layer_kind(m) in kinds]
    elif isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        matches = [int(layer) % len(layers)] if -len(layers) <= layer < len(layers) else []
    elif isinstance(layer, str):
        matches = [i for i, m in enumerate(layers) if layer_name(m, i) == layer]
    else:
        matches = [i for i, m in enumerate(layers) if m is layer]
    if not matches:
        wanted = " or ".join(kinds) if kinds else "layer"
        raise ValueError(f"explain: no {wanted} {layer!r} in the model. Layers: {available}.")
    index = matches[0]
    if kinds is not None and layer_kind(layers[index]) not in kinds:
        raise ValueError(
            f"explain: layer {layer_name(layers[index], index)!r} is a {layer_kind(layers[index])}; "
            f"expected one of {', '.join(kinds)}. Layers: {available}."
        )
    return index, layers[index]


def input_rank(model: Any) -> int | None:
    """Axes of one example (batch excluded) the model expects, when it declares its input."""
    shape = getattr(model, "input_shape", None)
    if shape is None:
        shape = getattr(model_layers(model)[0], "input_shape", None)
    return None if shape is None else len(shape) - 1


def as_batch(model: Any, example: np.ndarray) -> torch.Tensor:
    """One example (H, W, C) / (L, C), or a batch of one, as a float32 batch tensor of one.

    Raises:
        ValueError: for a batch of more than one or a shape the model cannot take.
    """
    array = np.asarray(example, dtype=np.float32)
    rank = input_rank(model)
    if rank is not None and array.ndim == rank:
        array = array[np.newaxis]
    elif rank is not None and array.ndim == rank - 1:  # a grey image (H, W): add the channel
        array = array[np.newaxis, ..., np.newaxis]
    if rank is not None and (array.ndim != rank + 1 or array.shape[0] != 1):
        expected = getattr(model, "input_shape", None)
        raise ValueError(
            f"explain: expected one example shaped {tuple(expected)[1:] if expected else '?'} "
            f"(or a batch of one); got shape {np.shape(example)}. Fix: pass x[i] for one example."
        )
    return torch.from_numpy(np.ascontiguousarray(array))


def run_layers(model: Any, batch: torch.Tensor, stop: int | None = None) -> list[torch.Tensor]:
    """Outputs of the layers 0..stop-1 (all when stop is None) for `batch`, in order."""
    outputs = []
    x = batch
    for layer in model_layers(model)[:stop]:
        x = layer(x)
        outputs.append(x)
    return outputs


def layer_input(model: Any, example: np.ndarray, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input, output) tensors of layer `index` for one example, both with a batch of one."""
    layers = model_layers(model)
    batch = as_batch(model, example)
    with torch.no_grad():
        before = run_layers(model, batch, index)
        inputs = before[-1] if before else batch
        outputs = layers[index](inputs)
    return inputs, outputs


def config_of(layer: Any) -> dict[str, Any]:
    """The layer's Keras config, or an empty dict for plain modules."""
    get_config = getattr(layer, "get_config", None)
    return dict(get_config()) if callable(get_config) else {}


def eval_mode(model: Any) -> None:
    """Inference mode (Dropout off, BatchNormalization uses its moving statistics)."""
    if isinstance(model, torch.nn.Module):
        model.eval()
        return
    for layer in model_layers(model):
        if isinstance(layer, torch.nn.Module):
            layer.eval()
