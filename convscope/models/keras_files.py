"""Reading and writing Keras's own model files.

Three formats, for Sequential and functional models made of the layers convscope has:
    NAME.keras       Keras 3: a zip of config.json, metadata.json and model.weights.h5
    NAME.h5          Keras 2 / tf.keras (legacy): attrs model_config and training_config, and
                     the weights under model_weights/<layer>/<weight_names...>
    NAME.weights.h5  Keras 3 weights alone: layers/<snake_case class>[_N]/vars/<index>
A compiled model's .keras and .h5 also hold its compile settings (`keras_compile`) and its
optimizer's variables (`keras_optimizer`); where the weights sit is `keras_weights`. A model
used as a layer is written as Keras nests it: its config inside the outer one, its weights
under layers/<its group>/layers/... (Keras 3) or in its one group (legacy .h5).
Only configs and arrays are read, never pickles or code. This module turns files into configs,
weights and optimizer state and back; building a model from a file is `saving.load_model` /
`load_keras_file`.
"""

from __future__ import annotations

import datetime
import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from convscope import _registry
from convscope._atomic import atomic_path
from convscope.layers import LAYERS, Layer, Wrapper
from convscope.models import graph_config, keras_compile, keras_optimizer
from convscope.models.keras_weights import (
    KERAS_VERSION,
    decoded,
    read_weights,
    to_snake_case,
    write_legacy_weights,
    write_weights_store,
)
from convscope.models.nested import ModelLayer
from convscope.models.protocol import LayeredModel

if TYPE_CHECKING:
    import h5py

SUPPORTED_LAYERS = ("InputLayer", "Conv1D", "Conv2D", "MaxPooling1D", "MaxPooling2D", "AveragePooling1D",
                    "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
                    "GlobalMaxPooling2D", "Flatten", "Dense", "Dropout", "BatchNormalization", "Activation",
                    "ReLU", "Softmax", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate",
                    "Reshape", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D", "Cropping2D", "UpSampling1D",
                    "UpSampling2D", "LeakyReLU", "PReLU", "ELU", "Rescaling", "Resizing", "RandomFlip", "RandomRotation",
                    "RandomZoom", "RandomTranslation", "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D",
                    "SeparableConv2D", "Conv1DTranspose", "Conv2DTranspose", "SpatialDropout1D", "SpatialDropout2D",
                    "Conv3D", "Conv3DTranspose", "MaxPooling3D", "AveragePooling3D", "GlobalMaxPooling3D",
                    "GlobalAveragePooling3D", "UpSampling3D", "ZeroPadding3D", "Cropping3D", "SpatialDropout3D",
                    "LayerNormalization", "GroupNormalization", "UnitNormalization",
                    "Lambda", "Identity", "Permute", "RepeatVector", "GaussianNoise", "GaussianDropout", "Embedding", "Masking",
                    "Normalization", "CenterCrop", "RandomCrop", "RandomContrast", "RandomBrightness",
                    "TimeDistributed", "SimpleRNN", "LSTM", "GRU", "Bidirectional",
                    "RNN", "SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells",
                    "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
GROUPED_LAYERS = ("Conv1D", "Conv2D", "Conv3D", "GroupNormalization")  # the layers whose `groups` convscope implements
FUNCTIONAL_CLASSES = ("Functional", "Model")  # Keras 3 and tf.keras 2 names of a functional model
MODEL_CLASSES = ("Sequential", *FUNCTIONAL_CLASSES)
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
# Keras config keys with no convscope counterpart that never change a prediction.
IGNORED_KEYS = {"dtype", "synchronized", "sparse", "ragged", "optional", "batch_shape", "batch_input_shape",
                "noise_shape", "lora_rank", "lora_alpha", "quantization_config", "renorm_momentum",
                "renorm_clipping", "autocast", "input_dtype"}


def is_keras_file(path: str | os.PathLike[str]) -> bool:
    """True for a path whose suffix names a Keras file (.keras, .h5, .hdf5)."""
    return Path(path).suffix.lower() in KERAS_SUFFIXES


# -- reading ----------------------------------------------------------------------------------
def open_h5(source: str | os.PathLike[str] | io.BytesIO, path: Path) -> h5py.File:
    import h5py

    try:
        return h5py.File(source, "r")
    except OSError as error:
        raise ValueError(f"{path}: not a readable HDF5 file ({error}).") from error


def plain_object(value: Any, rename: Callable[[str], str] = to_snake_case) -> Any:
    """A Keras-serialized initializer/regularizer/constraint as convscope's {"class_name", "config"}."""
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    config = value.get("config") or {}
    config = {key: item for key, item in config.items() if item is not None} if isinstance(config, dict) else {}
    return {"class_name": rename(str(value["class_name"])), "config": config}


def activation_name(value: Any) -> Any:
    if isinstance(value, dict):  # {"module": "keras.activations", "class_name": "function", "config": "relu"}
        return value["config"] if isinstance(value.get("config"), str) else value.get("class_name")
    return value


def layer_entry(keras_layer: Any, path: Path) -> dict[str, Any]:
    """One Keras layer config as a convscope config entry; a ValueError for what convscope lacks."""
    if not isinstance(keras_layer, dict) or not isinstance(keras_layer.get("config"), dict):
        raise ValueError(f"{path}: a layer entry must be an object with 'class_name' and 'config'; "
                         f"got {keras_layer!r:.200}.")
    class_name, config = keras_layer.get("class_name"), dict(keras_layer["config"])
    if class_name in MODEL_CLASSES:  # a model used as a layer
        return {"class_name": "Sequential" if class_name == "Sequential" else "Functional",
                "config": convscope_config(keras_layer, path)}
    registered_name = keras_layer.get("registered_name")
    custom = custom_layer_class(class_name, registered_name)
    if custom is not None:  # the user's own layer: its config is its own
        settings = {key: value for key, value in config.items() if key not in IGNORED_KEYS}
        return {"class_name": class_name, "registered_name": registered_name or class_name, "config": settings}
    if class_name not in SUPPORTED_LAYERS:
        raise ValueError(f"{path}: layer '{config.get('name')}' is a {class_name}, which convscope cannot read. "
                         f"{_registry.unknown_object_hint('layer class', class_name)} "
                         f"Supported layers: {', '.join(SUPPORTED_LAYERS)}.")
    if class_name == "TimeDistributed":  # a wrapper: the layer inside is read as any layer is
        config["layer"] = layer_entry(config.get("layer"), path)
    if class_name == "Bidirectional":  # the recurrent layers inside are read as any layer is
        config.update({key: layer_entry(config[key], path) for key in ("layer", "backward_layer")
                       if isinstance(config.get(key), dict)})
    if class_name == "RNN" and isinstance(config.get("cell"), dict):  # the cell(s) inside, read as layers are
        config["cell"] = layer_entry(config["cell"], path)
    if class_name == "StackedRNNCells" and isinstance(config.get("cells"), list):
        config["cells"] = [layer_entry(cell, path) for cell in config["cells"]]
    grouped = class_name in GROUPED_LAYERS
    if not grouped and config.get("groups", 1) != 1:
        raise ValueError(f"{path}: {class_name} '{config.get('name')}' uses groups={config['groups']}; "
                         f"convscope's {class_name} has no groups (Conv1D, Conv2D and Conv3D do).")
    if config.get("renorm"):
        raise ValueError(f"{path}: BatchNormalization '{config.get('name')}' uses renorm=True, which convscope "
                         "does not implement.")
    dropped = IGNORED_KEYS | {"renorm"} | (set() if grouped else {"groups"})
    settings = {key: value for key, value in config.items() if key not in dropped
                and not (value is None and key.endswith(("_regularizer", "_constraint")))}
    for key, value in settings.items():
        if key.endswith(("_initializer", "_regularizer", "_constraint")):
            settings[key] = plain_object(value)
        elif key == "activation":
            settings[key] = activation_name(value)
        elif key == "axis" and isinstance(value, list) and len(value) == 1:  # tf.keras 2 wrote BN's axis as [3]
            settings[key] = value[0]
    return {"class_name": class_name, "config": settings}


def custom_layer_class(class_name: Any, registered_name: Any) -> type | None:
    """The user's layer class a Keras layer entry names (in a custom-object scope or registered;
    see `convscope.keras.saving`), else None."""
    found = _registry.get_registered_object(registered_name) if isinstance(registered_name, str) else None
    if found is None and isinstance(class_name, str):
        found = _registry.get_registered_object(class_name, by_plain_name=class_name not in LAYERS)
    return found if isinstance(found, type) and issubclass(found, Layer) else None


def convscope_config(keras_config: Any, path: Path) -> dict[str, Any]:
    """A Keras Sequential or functional config ({"class_name": "Sequential", "config": {...}})
    as convscope's."""
    if isinstance(keras_config, dict) and keras_config.get("class_name") in FUNCTIONAL_CLASSES:
        return functional_config(keras_config, path)
    if not isinstance(keras_config, dict) or keras_config.get("class_name") != "Sequential":
        kind = keras_config.get("class_name") if isinstance(keras_config, dict) else type(keras_config).__name__
        raise ValueError(f"{path}: holds a {kind} model; convscope reads Keras Sequential and functional models.")
    inner = keras_config.get("config")
    layer_list = inner.get("layers") if isinstance(inner, dict) else inner  # Keras 2.0 kept a bare list
    if not isinstance(layer_list, list):
        raise ValueError(f"{path}: the Sequential config has no 'layers' list.")
    name = inner.get("name", "sequential") if isinstance(inner, dict) else "sequential"
    input_shape = None
    entries = []
    for keras_layer in layer_list:
        entry = layer_entry(keras_layer, path)
        config = keras_layer["config"]
        batch_shape = config.get("batch_shape") or config.get("batch_input_shape")
        if input_shape is None and isinstance(batch_shape, list):
            input_shape = list(batch_shape[1:])
        if entry["class_name"] != "InputLayer":
            entries.append(entry)
    if input_shape is None and isinstance(inner, dict) and isinstance(inner.get("build_input_shape"), list):
        input_shape = list(inner["build_input_shape"][1:])
    build_shape = (keras_config.get("build_config") or {}).get("input_shape") \
        if isinstance(keras_config.get("build_config"), dict) else None
    if input_shape is None and isinstance(build_shape, list) and build_shape:  # a nested Sequential
        input_shape = list(build_shape[1:])
    trainable = inner.get("trainable", True) is not False if isinstance(inner, dict) else True
    return {"name": name, "trainable": trainable, "input_shape": input_shape, "layers": entries}


def read_archive(path: Path) -> tuple[dict[str, Any], bytes]:
    """(config.json as a dict, model.weights.h5's bytes) of a Keras 3 .keras file."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for needed in ("config.json", "model.weights.h5"):
                if needed not in names:
                    raise ValueError(f"{path}: a .keras file must hold {needed}; this zip has "
                                     f"{sorted(names)[:10]}.")
            document = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5")
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable Keras 3 .keras archive ({type(error).__name__}: "
                         f"{error}).") from error
    if not isinstance(document, dict):
        raise ValueError(f"{path}: config.json must hold a JSON object.")
    return document, weights


def read_keras_config(path: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(convscope config, compile settings as the file holds them or None) of a .keras or .h5
    file, without its weights; `keras_compile.compile_arguments` makes compile's arguments of
    the settings."""
    if path.suffix.lower() == ".keras":
        document, _ = read_archive(path)
        return convscope_config(document, path), keras_compile.read_settings(document.get("compile_config"), "optimizer")
    with open_h5(path, path) as file:
        if "model_config" not in file.attrs:
            raise ValueError(f"{path}: no 'model_config' attribute, so no architecture to build; it may be a "
                             "weights-only file: build the model and call model.load_weights(...) instead.")
        try:
            config = json.loads(file.attrs["model_config"])
            training = json.loads(file.attrs["training_config"]) if "training_config" in file.attrs else None
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"{path}: unreadable model_config/training_config JSON ({error}).") from error
    return convscope_config(config, path), keras_compile.read_settings(training, "optimizer_config")


def load_keras_weights(model: LayeredModel, path: str | os.PathLike[str]) -> None:
    """Set `model`'s weights from a Keras .weights.h5 (Keras 3) or .h5 (Keras 2) file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such weights file.")
    with open_h5(path, path) as store:
        read_weights(model, store, path)


def optimizer_variables(path: Path) -> tuple[list[str] | None, list[np.ndarray]]:
    """(names or None, values) of the optimizer variables a .keras or .h5 file holds: a .keras
    archive's optimizer/vars/<index> (no names), a legacy .h5's optimizer_weights."""
    if path.suffix.lower() == ".keras":
        _, weights = read_archive(path)
        with open_h5(io.BytesIO(weights), path) as store:
            group = store.get("optimizer/vars")
            return None, [] if group is None else [np.asarray(group[key]) for key in sorted(group, key=int)]
    with open_h5(path, path) as file:
        group = file.get("optimizer_weights")
        if group is None:
            return [], []
        names = decoded(group.attrs.get("weight_names", []))
        return names, [np.asarray(group[name]) for name in names]


def restore_optimizer(model: LayeredModel, path: Path, keras_entry: Any) -> None:
    """Give the compiled model's optimizer the state saved in the Keras file at `path` by the
    optimizer `keras_entry` ({"class_name", "config"}) names; see `keras_optimizer.restore_state`."""
    try:
        names, arrays = optimizer_variables(path)
    except (KeyError, TypeError, ValueError, OSError) as error:
        raise ValueError(f"{path}: malformed optimizer variables ({type(error).__name__}: {error}); load with "
                         "compile=False to skip them.") from error
    config = keras_entry.get("config") if isinstance(keras_entry.get("config"), dict) else {}
    keras_optimizer.restore_state(model, str(keras_entry["class_name"]), config, names, arrays, path)

# -- writing ----------------------------------------------------------------------------------
def keras_object(value: Any, module: str, with_module: bool) -> Any:
    if not isinstance(value, dict) or "class_name" not in value:
        return value
    entry = {"class_name": value["class_name"], "config": value.get("config") or {}}
    return {"module": module, **entry, "registered_name": None} if with_module else entry


def keras_layer_config(layer: Any, with_module: bool) -> dict[str, Any]:
    if isinstance(layer, ModelLayer):  # a model used as a layer: its whole config, nested
        return keras_model_config(layer, with_module)
    config = {key: value for key, value in layer.get_config().items() if key != "input_shape"}
    for key, value in config.items():
        kind = key.rsplit("_", 1)[-1]
        if kind in ("initializer", "regularizer", "constraint"):
            config[key] = keras_object(value, f"keras.{kind}s", with_module)
    config["dtype"] = "float32"
    if isinstance(layer, Wrapper):  # the wrapped layer's config, with its module even in a legacy .h5, as Keras
        config["layer"] = keras_layer_config(layer.layer, with_module=True)
    if type(layer).__name__ == "Bidirectional":  # the recurrent layers' configs, as Keras nests them (with
        # their module even in a legacy .h5: Keras 3's Bidirectional finds them only so)
        config["layer"] = keras_layer_config(layer.forward_layer, True)
        config["backward_layer"] = keras_layer_config(layer.backward_layer, True)
    if type(layer).__name__ == "RNN":  # the cell's config, nested with its module as Keras writes it
        config["cell"] = keras_layer_config(layer.cell, True)
    if type(layer).__name__ == "StackedRNNCells":
        config["cells"] = [keras_layer_config(cell, True) for cell in layer.cells]
    entry = {"class_name": type(layer).__name__, "config": config}
    if not with_module:
        return entry
    if type(layer).__name__ in SUPPORTED_LAYERS and type(layer).__module__.startswith("convscope."):
        return {"module": "keras.layers", **entry, "registered_name": None}
    # the user's own layer, named as Keras 3 names it, so Keras finds it registered or in custom_objects
    return {"module": type(layer).__module__, **entry, "registered_name": _registry.get_registered_name(type(layer))}


def keras_model_config(model: LayeredModel, with_module: bool = True) -> dict[str, Any]:
    """`model`'s architecture as Keras's Sequential or functional config (what Keras's `to_json` holds)."""
    own = model.get_config()
    if graph_config.is_functional_config(own):
        return keras_functional_config(model, own, with_module)
    batch_shape = list(model.require_built("saving a Keras file"))
    input_layer: dict[str, Any] = {"class_name": "InputLayer", "config": {
        "batch_shape": batch_shape, "dtype": "float32", "sparse": False, "name": "input_layer"}}
    if with_module:
        input_layer = {"module": "keras.layers", **input_layer, "registered_name": None}
    layer_list = [input_layer, *(keras_layer_config(layer, with_module) for layer in model.layers)]
    config = {"name": model.name, "trainable": getattr(model, "trainable", True), "dtype": "float32",
              "layers": layer_list}
    if not with_module:
        return {"class_name": "Sequential", "config": config}
    return {"module": "keras", "class_name": "Sequential", "config": config, "registered_name": None,
            "build_config": {"input_shape": batch_shape}}


def functional_config(keras_config: dict[str, Any], path: Path) -> dict[str, Any]:
    """A Keras functional config ({"class_name": "Functional", "config": {...}}) as convscope's:
    each layer's class and settings read as for a Sequential model, its inbound nodes and the
    model's input and output layers kept (`models.graph_config` reads both Keras 3's and Keras
    2's node layouts)."""
    inner = keras_config.get("config")
    if not isinstance(inner, dict) or not isinstance(inner.get("layers"), list):
        raise ValueError(f"{path}: the functional config has no 'layers' list.")
    entries = []
    for keras_layer in inner["layers"]:
        if isinstance(keras_layer, dict) and keras_layer.get("class_name") == "InputLayer":
            entry = input_layer_entry(keras_layer, path)
        else:
            entry = layer_entry(keras_layer, path)
        name = keras_layer.get("name") or entry["config"].get("name")
        entry["config"]["name"] = name
        entries.append({**entry, "name": name, "inbound_nodes": keras_layer.get("inbound_nodes", [])})
    name = inner.get("name")
    return {"name": name if isinstance(name, str) else "functional", "trainable": inner.get("trainable", True),
            "layers": entries, "input_layers": inner.get("input_layers"), "output_layers": inner.get("output_layers")}


def input_layer_entry(keras_layer: dict[str, Any], path: Path) -> dict[str, Any]:
    """A Keras InputLayer entry as convscope's: its name and batch shape."""
    config = keras_layer.get("config")
    batch_shape = (config.get("batch_shape") or config.get("batch_input_shape")) if isinstance(config, dict) else None
    if not isinstance(config, dict) or not isinstance(batch_shape, list):
        raise ValueError(f"{path}: InputLayer entry {keras_layer!r:.200} has no batch_shape.")
    return {"class_name": "InputLayer", "config": {"name": config.get("name"), "batch_shape": batch_shape}}


def keras_functional_config(model: LayeredModel, own: dict[str, Any], with_module: bool) -> dict[str, Any]:
    """A functional model's Keras config from its own (`Functional.get_config()`), which already
    has Keras's layout: only each layer's entry is written as Keras writes it."""
    by_name = {layer.name: layer for layer in model.layers}
    entries = []
    for entry in own["layers"]:
        layer = by_name[entry["name"]]
        if entry["class_name"] == "InputLayer":
            keras_entry: dict[str, Any] = {"class_name": "InputLayer", "config": {
                "batch_shape": entry["config"]["batch_shape"], "dtype": "float32", "sparse": False,
                "name": layer.name}}
            if with_module:
                keras_entry = {"module": "keras.layers", **keras_entry, "registered_name": None}
        else:
            keras_entry = keras_layer_config(layer, with_module)
        entries.append({**keras_entry, "name": layer.name, "inbound_nodes": entry["inbound_nodes"]})
    config = {**own, "layers": entries}
    if not with_module:
        return {"class_name": "Functional", "config": config}
    return {"module": "keras.src.models.functional", "class_name": "Functional", "config": config,
            "registered_name": "Functional", "build_config": {"input_shape": None}}


def weights_h5_bytes(model: LayeredModel, optimizer: bool = False) -> bytes:
    """Keras 3's model.weights.h5: the weights, and with `optimizer` the compiled optimizer's
    variables (optimizer/vars/<index>, Keras's `optimizer.variables` order)."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as store:
        write_weights_store(model, store)
        variables = keras_optimizer.keras_variables(model) if optimizer else None
        if variables is not None:
            keras_optimizer.write_keras3_variables(variables, store)
    return buffer.getvalue()


def write_keras_archive(model: LayeredModel, target: Path) -> None:
    document = keras_model_config(model)
    compile_config = keras_compile.keras_compile_config(model, with_module=True)
    if compile_config is not None:
        document["compile_config"] = compile_config
    metadata = {"keras_version": KERAS_VERSION, "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "producer": "convscope"}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", json.dumps(document))
        archive.writestr("model.weights.h5", weights_h5_bytes(model, optimizer=compile_config is not None))


def write_legacy_h5(model: LayeredModel, target: Path) -> None:
    import h5py

    with h5py.File(target, "w") as file:
        file.attrs["backend"], file.attrs["keras_version"] = "tensorflow", KERAS_VERSION
        file.attrs["model_config"] = json.dumps(keras_model_config(model, with_module=False))
        training_config = keras_compile.keras_compile_config(model, with_module=False)
        if training_config is not None:
            file.attrs["training_config"] = json.dumps(training_config)
        write_legacy_weights(model, file.create_group("model_weights"))
        variables = keras_optimizer.keras_variables(model) if training_config is not None else None
        if variables is not None:
            keras_optimizer.write_legacy_variables(variables, file)


def save_keras_file(model: LayeredModel, path: str | os.PathLike[str]) -> None:
    """Write `model` as a Keras 3 .keras archive or a legacy .h5 file (chosen by the suffix) that
    `keras.models.load_model` opens; the file appears whole or not at all."""
    path = Path(path)
    model.require_built(f"saving {path}")
    writer = write_keras_archive if path.suffix.lower() == ".keras" else write_legacy_h5
    with atomic_path(path, suffix=path.suffix) as temporary:
        writer(model, temporary)


def save_keras_weights(model: LayeredModel, path: str | os.PathLike[str]) -> None:
    """Write the weights as a Keras 3 .weights.h5 file (`keras_model.load_weights` reads it)."""
    import h5py

    path = Path(path)
    model.require_built(f"saving {path}")
    with atomic_path(path, suffix=".h5") as temporary, h5py.File(temporary, "w") as store:
        write_weights_store(model, store)


# -- JSON ---------------------------------------------------------------------------------------
def model_to_json(model: LayeredModel, **dumps_options: Any) -> str:
    """`model`'s architecture as Keras's JSON (keras.models.model_from_json reads it)."""
    document = {**keras_model_config(model), "keras_version": KERAS_VERSION, "backend": "tensorflow"}
    return json.dumps(document, **dumps_options)
