"""Saving and loading models without pickle.

A saved model is a folder:
    config.json          architecture, compile settings and training progress (JSON)
    model.safetensors    weights in Keras's layout, keyed "<layer>/<weight>"
    optimizer.safetensors  optimizer state tensors; its metadata holds the JSON rest
Writes go to a temporary folder that is renamed into place, so a crash never leaves a
half-written model behind. optimizer.safetensors also holds every random-number generator's
state (torch CPU and CUDA, NumPy, Python), so training resumes exactly where it stopped.

Loading never unpickles, and a config is checked before any weight is allocated: unknown layer
types, absurd sizes and parameter counts are refused with a `ValueError` (see `preflight`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from convscope import layers as layers_module
from convscope import losses, optimizers
from convscope._atomic import atomic_path, give_usual_permissions
from convscope.models import keras_files

if TYPE_CHECKING:
    from convscope.models.sequential import Sequential

FORMAT = "convscope.model"
FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE = "config.json", "model.safetensors", "optimizer.safetensors"
MAX_PARAMS = 2_000_000_000  # refuse configs asking for more weights than any sane CNN
MAX_AXIS = 1 << 20  # largest size of one axis (height, width, steps, channels, units)
MAX_SAMPLE_VALUES = 1 << 28  # largest activation of one sample at any layer (1 GiB of float32)
MAX_LAYERS = 10_000


# -- writing -------------------------------------------------------------------------------
def weight_tensors(model: Sequential) -> dict[str, torch.Tensor]:
    return {f"{layer.name}/{name}": tensor.detach().permute(*order).contiguous().cpu()
            for layer in model.layers for name, tensor, order in layer.keras_weights()}


def optimizer_payload(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Split a torch optimizer's state_dict into tensors and JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state/{index}/{key}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(index), {})[key] = value
    meta = {"param_groups": json.dumps(state["param_groups"]), "scalars": json.dumps(scalars),
            "class": type(optimizer).__name__}
    return tensors, meta


def write_folder(path: Path, writer: Any) -> None:
    """Run `writer(tmp_folder)`, then swap the finished folder into `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        writer(staging)
        for file in staging.iterdir():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
            give_usual_permissions(file)
        give_usual_permissions(staging)
        if path.exists():
            if not path.is_dir():
                raise ValueError(f"cannot save a model to {path}: it exists and is not a folder.")
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.rename(path, retired / "model")
            os.rename(staging, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, path)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def compile_config(model: Sequential) -> dict[str, Any] | None:
    compiled = model.compiled
    if compiled is None:
        return None
    return {
        "optimizer": None if compiled.optimizer_recipe is None else optimizers.serialize(compiled.optimizer_recipe),
        "loss": losses.serialize(compiled.loss),
        "metrics": [name for name, _ in compiled.metrics],
        "precision": compiled.precision,
        "epochs_done": compiled.epochs_done,
    }


def rng_payload() -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Every generator's state as tensors plus JSON metadata (no pickle)."""
    tensors = {"rng/torch_cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/torch_cuda/{index}"] = state
    kind, keys, position, has_gauss, cached = np.random.get_state()
    tensors["rng/numpy_keys"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, python_state, gauss_next = random.getstate()
    tensors["rng/python"] = torch.tensor(python_state, dtype=torch.int64)
    meta = {"rng_numpy": json.dumps([kind, int(position), int(has_gauss), float(cached)]),
            "rng_python": json.dumps([version, gauss_next])}
    return tensors, meta


def restore_rng(tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
    """Set the generators saved by `rng_payload` (those present in `tensors`)."""
    if "rng/torch_cpu" in tensors:
        torch.set_rng_state(tensors["rng/torch_cpu"])
    cuda_states = [tensors[key] for key in sorted(k for k in tensors if k.startswith("rng/torch_cuda/"))]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[:torch.cuda.device_count()])
    if "rng/numpy_keys" in tensors and "rng_numpy" in meta:
        kind, position, has_gauss, cached = json.loads(meta["rng_numpy"])
        keys = tensors["rng/numpy_keys"].numpy().astype(np.uint32)
        np.random.set_state((kind, keys, int(position), int(has_gauss), float(cached)))
    if "rng/python" in tensors and "rng_python" in meta:
        version, gauss_next = json.loads(meta["rng_python"])
        random.setstate((version, tuple(int(v) for v in tensors["rng/python"].tolist()), gauss_next))


def model_document(model: Sequential) -> dict[str, Any]:
    """The config.json content: format, architecture and compile settings."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "class_name": "Sequential",
            "config": model.get_config(), "compile": compile_config(model)}


def write_model_files(model: Sequential, folder: Path) -> None:
    """Write config.json, model.safetensors and (when compiled) optimizer.safetensors into `folder`."""
    (folder / CONFIG_FILE).write_text(json.dumps(model_document(model), indent=2))
    save_file(weight_tensors(model), str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
    if model.compiled is not None:
        tensors, meta = optimizer_payload(model.compiled.optimizer)
        rng_tensors, rng_meta = rng_payload()
        save_file({**tensors, **rng_tensors}, str(folder / OPTIMIZER_FILE),
                  metadata={"format": FORMAT, **meta, **rng_meta})


def save_model(model: Sequential, path: str | os.PathLike[str]) -> None:
    """A .keras or .h5 path writes Keras's file (see `keras_files`); any other path a folder."""
    model.require_built("save")
    if keras_files.is_keras_file(path):
        keras_files.save_keras_file(model, path)
        return
    write_folder(Path(path), lambda folder: write_model_files(model, folder))


def save_weights(model: Sequential, path: str | os.PathLike[str]) -> None:
    """Weights alone: Keras's .weights.h5 layout for a .h5 path, else one safetensors file
    (written to a temp file, then renamed)."""
    if Path(path).suffix.lower() in (".h5", ".hdf5"):
        keras_files.save_keras_weights(model, path)
        return
    with atomic_path(path, suffix=".safetensors") as temporary:
        save_file(weight_tensors(model), str(temporary), metadata={"format": FORMAT})


# -- reading -------------------------------------------------------------------------------
def read_json(file: Path) -> dict[str, Any]:
    try:
        document = json.loads(file.read_text())
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file}: not a readable JSON model config ({error}).") from error
    if not isinstance(document, dict):
        raise ValueError(f"{file}: expected a JSON object; got {type(document).__name__}.")
    return document


def check_shape(shape: Any, where: str) -> tuple[int | None, ...]:
    """A sample shape from a config: a list of positive ints (or null), none absurdly large."""
    if not isinstance(shape, (list, tuple)) or not shape or len(shape) > 8:
        raise ValueError(f"model config: {where} must be a list of 1 to 8 sizes, e.g. [28, 28, 1]; got {shape!r}.")
    for size in shape:
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_AXIS):
            raise ValueError(f"model config: {where} {list(shape)} has size {size!r}; each size must be "
                             f"an integer from 1 to {MAX_AXIS:,} (or null).")
    return tuple(shape)


def layer_from_entry(entry: Any, index: int) -> layers_module.Layer:
    """One layer object (no weights yet) from a config entry, or a ValueError naming it."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
        raise ValueError(f"model config: layer {index} must be an object with 'class_name' and 'config'.")
    class_name = entry.get("class_name")
    if not isinstance(class_name, str):
        raise ValueError(f"model config: layer {index} needs a string 'class_name'; got {class_name!r}.")
    layer_class = layers_module.get(class_name)
    settings = dict(entry.get("config", {}))
    if isinstance(settings.get("input_shape"), (list, tuple)):
        check_shape(settings["input_shape"], f"layer {index} ({class_name}) input_shape")
    try:
        return layer_class.from_config(settings)
    except ValueError:
        raise
    except Exception as error:  # hostile configs may trip anything inside a constructor
        raise ValueError(f"model config: layer {index} ({class_name}): {type(error).__name__}: {error}.") from error


def probe_layer(layer: layers_module.Layer, settings: dict[str, Any], shape: tuple[int | None, ...],
                index: int) -> tuple[tuple[int | None, ...], dict[str, tuple[int, ...]]]:
    """(output shape, the Keras-layout shape of each weight) of a layer, found by building a twin
    on the meta device, which records sizes but allocates no memory and draws no random numbers."""
    label = f"model config: layer {index} ({type(layer).__name__} '{layer.name}')"
    try:
        twin = type(layer).from_config(dict(settings))
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


def model_from_config(config: dict[str, Any], stored: StoredShapes | None = None) -> Sequential:
    """Rebuild an (untrained) Sequential from `Sequential.get_config()` output.

    The config is checked first (`preflight`, against the weights file's shapes when `stored`
    is given), so a hostile or mismatched one fails before allocating.
    """
    from convscope.models.sequential import Sequential

    preflight(config, stored)
    name = config.get("name") or "sequential"
    model = Sequential(name=name if isinstance(name, str) else "sequential")
    input_shape = config.get("input_shape")
    if input_shape is not None:
        model.add(layers_module.Input(tuple(input_shape)))
    for index, entry in enumerate(config["layers"]):
        layer = layer_from_entry(entry, index)
        try:
            model.add(layer)
        except ValueError:
            raise
        except Exception as error:
            raise ValueError(f"model config: layer {index} ({layer.label}): {type(error).__name__}: "
                             f"{error}.") from error
    return model


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


def load_weights(model: Sequential, path: str | os.PathLike[str]) -> None:
    """Weights from a safetensors file, or from a Keras .weights.h5 / .h5 file."""
    path = Path(path)
    if path.suffix.lower() in (".h5", ".hdf5"):
        keras_files.load_keras_weights(model, path)
        return
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable safetensors weights file ({error}).") from error
    expected = {f"{layer.name}/{name}" for layer in model.layers for name, _, _ in layer.keras_weights()}
    missing, unexpected = expected - set(tensors), set(tensors) - expected
    if missing or unexpected:
        raise ValueError(f"{path}: weights do not match the model (missing: {sorted(missing) or 'none'}; "
                         f"unexpected: {sorted(unexpected) or 'none'}).")
    for layer in model.layers:
        layer.set_weights([tensors[f"{layer.name}/{name}"].numpy() for name, _, _ in layer.keras_weights()])


def load_optimizer(model: Sequential, path: Path) -> None:
    """Restore optimizer state and random-number generators from optimizer.safetensors."""
    from safetensors import safe_open

    compiled = model.require_compiled("load_optimizer")
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        state: dict[int, dict[str, Any]] = {}
        for key, value in tensors.items():
            if key.startswith("state/"):
                _, index, name = key.split("/", 2)
                state.setdefault(int(index), {})[name] = value
        for index, scalars in json.loads(meta.get("scalars", "{}")).items():
            state.setdefault(int(index), {}).update(scalars)
        compiled.optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
        follow_parameter_layout(compiled.optimizer)
        restore_rng(tensors, meta)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError, RuntimeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable optimizer state for this model ({type(error).__name__}: "
                         f"{error}). Load with compile=False to skip it, or delete the file.") from error


def follow_parameter_layout(optimizer: torch.optim.Optimizer) -> None:
    """Give every per-element state tensor its parameter's memory layout.

    The file holds state in logical (contiguous) order; a channels-last conv kernel needs its
    moments channels-last too, because fused optimizer steps pair parameter and state by memory
    position, not by index."""
    for param, entries in optimizer.state.items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                entries[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)


def load_model(path: str | os.PathLike[str], *, compile: bool = True, device: str | None = None) -> Sequential:
    """Load a folder written by `model.save` (same predictions, and ready to keep training), or
    a Keras .keras / .h5 file (see `keras_files.load_keras_file`)."""
    path = Path(path)
    if keras_files.is_keras_file(path) and not path.is_dir():
        return keras_files.load_keras_file(path, compile=compile, device=device)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no saved model folder here (expected {CONFIG_FILE} and {WEIGHTS_FILE}).")
    document = read_json(path / CONFIG_FILE)
    if document.get("format") != FORMAT:
        raise ValueError(f"{path / CONFIG_FILE}: not a convscope model (format {document.get('format')!r}).")
    version = document.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{path / CONFIG_FILE}: format_version must be an integer; got {version!r}.")
    if version > FORMAT_VERSION:
        raise ValueError(f"{path / CONFIG_FILE}: format version {document['format_version']} is newer than this "
                         f"convscope reads ({FORMAT_VERSION}); upgrade convscope.")
    model = model_from_config(document.get("config", {}), StoredShapes.read(path / WEIGHTS_FILE))
    load_weights(model, path / WEIGHTS_FILE)
    settings = document.get("compile")
    if compile and settings:
        if not isinstance(settings, dict) or "loss" not in settings:
            raise ValueError(f"{path / CONFIG_FILE}: 'compile' must be an object with at least 'loss'; "
                             f"got {settings!r}.")
        try:
            model.compile(optimizer=settings.get("optimizer") or "adam", loss=settings["loss"],
                          metrics=settings.get("metrics") or None, precision=settings.get("precision", "auto"),
                          device=device)
            model.require_compiled("load_model").epochs_done = int(settings.get("epochs_done", 0))
        except (TypeError, KeyError, AttributeError) as error:
            raise ValueError(f"{path / CONFIG_FILE}: unreadable compile settings ({type(error).__name__}: "
                             f"{error}). Load with compile=False to skip them.") from error
        if (path / OPTIMIZER_FILE).exists():
            load_optimizer(model, path / OPTIMIZER_FILE)
    elif device is not None:
        model.to_device(device)
    return model

