"""Weights in Keras's files: where each layer's arrays sit, both ways.

    Keras 3 (a .keras archive's model.weights.h5, a .weights.h5 file):
        layers/<snake_case class>[_N]/vars/<index>; a model used as a layer holds its layers
        under layers/<its group>/layers/<inner group>/...
    Keras 2 / tf.keras (a legacy .h5): model_weights/<layer> with attrs weight_names naming its
        arrays, trainable weights first
Arrays are in Keras's layout (HWIO kernels), which `Layer.get_weights`/`set_weights` use too.
Opening and writing whole files is `keras_files`; this module reads and writes the groups.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope.layers import Wrapper
from convscope.models.nested import ModelLayer
from convscope.models.protocol import LayeredModel

if TYPE_CHECKING:
    import h5py

KERAS_VERSION = "3.15.1"  # the Keras whose files these match; written into metadata


def to_snake_case(name: str) -> str:
    """Keras's name for a class in files: "Conv2D" -> "conv2d", "ReLU" -> "re_lu"."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def weight_group_names(class_names: list[str]) -> list[str]:
    """The group each layer's weights sit in inside a Keras 3 weights file: the class name in
    snake case, numbered from the second of a kind ("conv2d", "conv2d_1", ...)."""
    used: dict[str, int] = {}
    names = []
    for class_name in class_names:
        base = to_snake_case(class_name)
        used[base] = used.get(base, -1) + 1
        names.append(base if used[base] == 0 else f"{base}_{used[base]}")
    return names


def keras3_weights(model: LayeredModel, store: h5py.Group, path: Path) -> list[list[h5py.Dataset]]:
    """Each layer's datasets in a Keras 3 weights store (layers/<group>/vars/<index>); a model
    used as a layer holds its layers' datasets (layers/<group>/layers/<inner group>/...)."""
    if "layers" not in store:
        raise ValueError(f"{path}: no 'layers' group; not a Keras 3 weights file.")
    groups = weight_group_names([type(layer).__name__ for layer in model.layers])
    return [layer_datasets(layer, store, f"layers/{group}", path) for layer, group in zip(model.layers, groups)]


def layer_datasets(layer: Any, store: h5py.Group, where: str, path: Path) -> list[h5py.Dataset]:
    """The datasets of `layer` under the group `where` of a Keras 3 weights store."""
    if isinstance(layer, ModelLayer):
        groups = weight_group_names([type(inner).__name__ for inner in layer.layers])
        return [dataset for inner, group in zip(layer.layers, groups)
                for dataset in layer_datasets(inner, store, f"{where}/layers/{group}", path)]
    if isinstance(layer, Wrapper):  # a wrapper's own vars are empty; the wrapped layer's sit under "layer"
        return layer_datasets(layer.layer, store, f"{where}/layer", path)
    if hasattr(layer, "keras_var_groups"):  # a recurrent layer's weights sit in its cell(s)
        return [variables[key] for sub, _ in layer.keras_var_groups()
                for variables in [store.get(f"{where}/{sub}/vars")] if variables is not None
                for key in sorted(variables, key=int)]
    variables = store.get(f"{where}/vars")
    if variables is None:
        raise ValueError(f"{path}: no weights group '{where}' for {layer.label}; the file is from a "
                         "different model.")
    return [variables[key] for key in sorted(variables, key=int)]


def decoded(names: Any) -> list[str]:
    return [name.decode("utf8") if isinstance(name, bytes) else str(name) for name in names]


def legacy_weights(model: LayeredModel, store: h5py.Group, path: Path) -> list[list[h5py.Dataset]]:
    """Each layer's datasets in a Keras 2 weights group (attrs layer_names and weight_names)."""
    if "layer_names" not in store.attrs:
        raise ValueError(f"{path}: no 'layer_names' attribute; not a Keras weights file.")
    stored = set(decoded(store.attrs["layer_names"]))
    datasets: list[list[h5py.Dataset]] = []
    for layer in model.layers:
        if layer.name not in stored:
            if layer.keras_weights():
                raise ValueError(f"{path}: no weights for {layer.label}; the file is from a different model.")
            datasets.append([])
            continue
        group = store[layer.name]
        datasets.append([group[name] for name in decoded(group.attrs.get("weight_names", []))])
    return datasets


def legacy_order(layer: Any) -> list[int]:
    """The positions of `layer`'s weights in the order a legacy .h5 file lists them: trainable
    ones first, then the rest (moving statistics, frozen layers' weights), as Keras lists
    `layer.trainable_weights + layer.non_trainable_weights`. For a plain layer that is its own
    order; a model used as a layer may interleave them."""
    trainable = [layer.trainable and tensor.requires_grad for _, tensor, _ in layer.keras_weights()]
    return [index for index, flag in enumerate(trainable) if flag] + \
        [index for index, flag in enumerate(trainable) if not flag]


def set_layer_weights(model: LayeredModel, datasets: list[list[h5py.Dataset]], path: Path,
                      legacy: bool = False) -> None:
    """Check every dataset's shape against the model's before reading any, then set them;
    `legacy` datasets are in `legacy_order`."""
    orders = [legacy_order(layer) if legacy else list(range(len(layer.keras_weights()))) for layer in model.layers]
    for layer, stored, order in zip(model.layers, datasets, orders):
        weights = layer.get_weights()
        expected = [tuple(weights[index].shape) for index in order] if len(order) == len(weights) else \
            [tuple(weight.shape) for weight in weights]
        found = [tuple(dataset.shape) for dataset in stored]
        if found != expected:
            raise ValueError(f"{path}: {layer.label} expects weights of shapes {expected}; the file holds "
                             f"{found}. The file is from a different model.")
    for layer, stored, order in zip(model.layers, datasets, orders):
        arrays: list[np.ndarray] = [np.empty(0)] * len(order)
        for index, dataset in zip(order, stored):
            arrays[index] = np.asarray(dataset, dtype=np.float32)
        layer.set_weights(arrays)


def read_weights(model: LayeredModel, store: h5py.Group, path: Path) -> None:
    """Set `model`'s weights from an open Keras weights file of either layout."""
    try:
        legacy = "layers" not in store
        if not legacy:
            datasets = keras3_weights(model, store, path)
        else:
            datasets = legacy_weights(model, store["model_weights"] if "model_weights" in store else store, path)
        set_layer_weights(model, datasets, path, legacy)
    except (KeyError, TypeError, AttributeError, OSError) as error:
        raise ValueError(f"{path}: malformed Keras weights ({type(error).__name__}: {error}).") from error


def write_weights_store(model: LayeredModel | ModelLayer, store: h5py.Group) -> None:
    """Keras 3's weights layout: layers/<group>/vars/<index>, and an empty model-level vars; a
    model used as a layer writes its own layers under layers/<group>/layers/..."""
    store.create_group("vars").attrs["name"] = model.name
    layers_group = store.create_group("layers")
    for layer, group in zip(model.layers, weight_group_names([type(layer).__name__ for layer in model.layers])):
        if isinstance(layer, ModelLayer):
            write_weights_store(layer, layers_group.create_group(group))
            continue
        if isinstance(layer, Wrapper):  # Keras's layout: <group>/vars empty, <group>/layer/vars the weights
            layers_group.create_group(f"{group}/vars").attrs["name"] = layer.name
            layer, group = layer.layer, f"{group}/layer"
        arrays = layer.get_weights()
        places = layer.keras_var_groups() if hasattr(layer, "keras_var_groups") else [("", len(arrays))]
        layers_group.create_group(f"{group}/vars").attrs["name"] = layer.name
        for sub, count in places:  # a recurrent layer's weights sit in its cell(s): <group>/<sub>/vars
            variables = layers_group.require_group(f"{group}/{sub}/vars" if sub else f"{group}/vars")
            for index in range(count):
                variables.create_dataset(str(index), data=arrays.pop(0).astype(np.float32))


def write_legacy_weights(model: LayeredModel, group: h5py.Group) -> None:
    """Keras 2's layout: attrs layer_names; per layer, weight_names and the arrays they name."""
    group.attrs["layer_names"] = [layer.name.encode("utf8") for layer in model.layers]
    group.attrs["backend"], group.attrs["keras_version"] = "tensorflow", KERAS_VERSION
    for layer in model.layers:
        layer_group = group.create_group(layer.name)
        order = legacy_order(layer)
        slots, arrays = layer.keras_weights(), layer.get_weights()
        names = [f"{model.name}/{layer.name}/{slots[index][0]}" for index in order]
        layer_group.attrs["weight_names"] = [name.encode("utf8") for name in names]
        for name, index in zip(names, order):
            layer_group.create_dataset(name, data=arrays[index].astype(np.float32))
    group.create_group("top_level_model_weights").attrs["weight_names"] = np.array([], dtype="S1")
