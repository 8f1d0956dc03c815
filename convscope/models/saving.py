"""Saving and loading models without pickle.

A saved model is a folder:
    config.json          architecture, compile settings and training progress (JSON)
    model.safetensors    weights in Keras's layout, keyed "<layer>/<weight>"
    optimizer.safetensors  optimizer state tensors; its metadata holds the JSON rest
Writes go to a temporary folder that is renamed into place, so a crash never leaves a
half-written model behind.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from convscope import layers as layers_module
from convscope import losses, optimizers

if TYPE_CHECKING:
    from convscope.models.sequential import Sequential

FORMAT = "convscope.model"
FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE = "config.json", "model.safetensors", "optimizer.safetensors"
MAX_PARAMS = 2_000_000_000  # refuse configs asking for more weights than any sane CNN


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


def save_model(model: Sequential, path: str | os.PathLike[str]) -> None:
    model.require_built("save")
    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "class_name": "Sequential",
                "config": model.get_config(), "compile": compile_config(model)}

    def writer(folder: Path) -> None:
        (folder / CONFIG_FILE).write_text(json.dumps(document, indent=2))
        save_file(weight_tensors(model), str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
        if model.compiled is not None:
            tensors, meta = optimizer_payload(model.compiled.optimizer)
            tensors["rng/torch_cpu"] = torch.get_rng_state()
            save_file(tensors, str(folder / OPTIMIZER_FILE), metadata={"format": FORMAT, **meta})

    write_folder(Path(path), writer)


def save_weights(model: Sequential, path: str | os.PathLike[str]) -> None:
    """Weights alone, as one safetensors file (written to a temp file, then renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(handle)
    try:
        save_file(weight_tensors(model), temp, metadata={"format": FORMAT})
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)


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


def model_from_config(config: dict[str, Any]) -> Sequential:
    """Rebuild an (untrained) Sequential from `Sequential.get_config()` output."""
    from convscope.models.sequential import Sequential

    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError("model config must be a JSON object with a 'layers' list.")
    model = Sequential(name=config.get("name") or "sequential")
    input_shape = config.get("input_shape")
    if input_shape is not None:
        model.add(layers_module.Input(tuple(input_shape)))
    for index, entry in enumerate(config["layers"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("config", {}), dict):
            raise ValueError(f"model config: layer {index} must be an object with 'class_name' and 'config'.")
        layer_class = layers_module.get(str(entry.get("class_name")))
        try:
            layer = layer_class.from_config(dict(entry.get("config", {})))
        except TypeError as error:
            raise ValueError(f"model config: layer {index} ({entry.get('class_name')}): {error}.") from error
        model.add(layer)
        if model.count_params() > MAX_PARAMS:
            raise ValueError(f"model config: more than {MAX_PARAMS:,} weights by layer {index} "
                             f"({layer.label}); refusing to allocate it.")
    return model


def load_weights(model: Sequential, path: str | os.PathLike[str]) -> None:
    path = Path(path)
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
    tensors = load_file(str(path))
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        meta = handle.metadata() or {}
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("state/"):
            _, index, name = key.split("/", 2)
            state.setdefault(int(index), {})[name] = value
    for index, scalars in json.loads(meta.get("scalars", "{}")).items():
        state.setdefault(int(index), {}).update(scalars)
    model.compiled.optimizer.load_state_dict({"state": state, "param_groups": json.loads(meta["param_groups"])})
    if "rng/torch_cpu" in tensors:
        torch.set_rng_state(tensors["rng/torch_cpu"])


def load_model(path: str | os.PathLike[str], *, compile: bool = True, device: str | None = None) -> Sequential:
    """Load a folder written by `model.save`: same predictions, and ready to keep training."""
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no saved model folder here (expected {CONFIG_FILE} and {WEIGHTS_FILE}).")
    document = read_json(path / CONFIG_FILE)
    if document.get("format") != FORMAT:
        raise ValueError(f"{path / CONFIG_FILE}: not a convscope model (format {document.get('format')!r}).")
    if int(document.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(f"{path / CONFIG_FILE}: format version {document['format_version']} is newer than this "
                         f"convscope reads ({FORMAT_VERSION}); upgrade convscope.")
    model = model_from_config(document.get("config", {}))
    load_weights(model, path / WEIGHTS_FILE)
    settings = document.get("compile")
    if compile and settings:
        model.compile(optimizer=settings["optimizer"] or "adam", loss=settings["loss"],
                      metrics=settings.get("metrics") or None, precision=settings.get("precision", "auto"),
                      device=device)
        model.compiled.epochs_done = int(settings.get("epochs_done", 0))
        if (path / OPTIMIZER_FILE).exists():
            load_optimizer(model, path / OPTIMIZER_FILE)
    elif device is not None:
        model.to_device(device)
    return model

