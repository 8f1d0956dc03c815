"""A model's own files: a saved-model folder, weights, optimizer state.

A saved model is a folder:
    config.json          architecture, compile settings and training progress (JSON)
    model.safetensors    weights in Keras's layout, keyed "<layer>/<weight>"
    optimizer.safetensors  optimizer state tensors; its metadata holds the JSON rest
The folder is written into a temporary folder that is renamed into place (`convscope._atomic`),
so a crash never leaves a half-written model behind. optimizer.safetensors also holds every
random-number generator's state (torch CPU and CUDA, NumPy, Python), so training resumes
exactly where it stopped. A .keras or .h5 path is Keras's own file instead (`keras_files`).

Loading a whole model, which needs its class, is `saving.load_model`; this module writes and
reads into a model that exists, seen through `LayeredModel`. Nothing here unpickles.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from convscope import optimizer_base, optimizers
from convscope._atomic import atomic_path, write_folder
from convscope.models import keras_files
from convscope.models.protocol import LayeredModel

FORMAT = "convscope.model"
FORMAT_VERSION = 1
CONFIG_FILE, WEIGHTS_FILE, OPTIMIZER_FILE = "config.json", "model.safetensors", "optimizer.safetensors"


# -- writing -------------------------------------------------------------------------------
def weight_tensors(model: LayeredModel) -> dict[str, torch.Tensor]:
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


def compile_config(model: LayeredModel) -> dict[str, Any] | None:
    compiled = model.compiled
    if compiled is None:
        return None
    return {
        "optimizer": None if compiled.optimizer_recipe is None else optimizers.serialize(compiled.optimizer_recipe),
        **compiled.settings,  # loss and metrics (one output) or dicts of them keyed by output name
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


def model_document(model: LayeredModel) -> dict[str, Any]:
    """The config.json content: format, architecture and compile settings."""
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "class_name": type(model).__name__,
            "config": model.get_config(), "compile": compile_config(model)}


def write_model_files(model: LayeredModel, folder: Path) -> None:
    """Write config.json, model.safetensors and (when compiled) optimizer.safetensors into `folder`."""
    (folder / CONFIG_FILE).write_text(json.dumps(model_document(model), indent=2))
    save_file(weight_tensors(model), str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
    if model.compiled is not None:
        tensors, meta = optimizer_payload(model.compiled.optimizer)
        rng_tensors, rng_meta = rng_payload()
        save_file({**tensors, **rng_tensors}, str(folder / OPTIMIZER_FILE),
                  metadata={"format": FORMAT, **meta, **rng_meta})


def save_model(model: LayeredModel, path: str | os.PathLike[str], overwrite: bool = True,
               zipped: bool | None = None) -> None:
    """A .keras or .h5 path writes Keras's file (see `keras_files`); any other path a folder.

    `overwrite=False` refuses a path that exists (Keras asks on the terminal instead; a script
    gets the refusal). `zipped` is Keras 3's switch for a .keras file written as a folder: only
    the zip file (None or True) is written here.
    """
    model.require_built("save")
    if zipped is False:
        raise ValueError(f"save({str(path)!r}, zipped=False): only zipped .keras files are written; "
                         "drop zipped=False, or save to a folder path (no .keras suffix) for convscope's own layout.")
    if not overwrite and Path(path).exists():
        raise FileExistsError(f"save: {path} exists and overwrite=False; pass overwrite=True to replace it.")
    if keras_files.is_keras_file(path):
        keras_files.save_keras_file(model, path)
        return
    if Path(path).exists() and not Path(path).is_dir():
        raise ValueError(f"cannot save a model to {path}: it exists and is not a folder.")
    write_folder(Path(path), lambda folder: write_model_files(model, folder))


def save_weights(model: LayeredModel, path: str | os.PathLike[str]) -> None:
    """Weights alone: Keras's .weights.h5 layout for a .h5 path, else one safetensors file
    (written to a temp file, then renamed)."""
    if Path(path).suffix.lower() in (".h5", ".hdf5"):
        keras_files.save_keras_weights(model, path)
        return
    with atomic_path(path, suffix=".safetensors") as temporary:
        save_file(weight_tensors(model), str(temporary), metadata={"format": FORMAT})


# -- reading -------------------------------------------------------------------------------
def load_weights(model: LayeredModel, path: str | os.PathLike[str]) -> None:
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


def load_optimizer(model: LayeredModel, path: Path) -> None:
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
        optimizer_base.follow_parameter_layout(compiled.optimizer)
        if compiled.optimizer_recipe is not None:
            compiled.optimizer_recipe.count_from_state()  # Keras's iterations; Adam's epsilon follows it
        restore_rng(tensors, meta)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError, RuntimeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable optimizer state for this model ({type(error).__name__}: "
                         f"{error}). Load with compile=False to skip it, or delete the file.") from error

