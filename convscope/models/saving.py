"""Loading saved models: convscope's folders, Keras's files, configs and JSON.

A saved model names its class ("Sequential"); the class is looked up in `models.registry`, so
any registered model class loads here. The file formats themselves are in `storage` (convscope's
folder: config.json, model.safetensors, optimizer.safetensors) and `keras_files` (.keras, .h5);
saving is a method of the model (`model.save(path)`).

Loading never unpickles, and a config is checked before any weight is allocated: unknown layer
types, absurd sizes and parameter counts are refused with a `ValueError` (each class's
`check_config`; `config.preflight` for a list of layers).

    >>> model = load_model("runs/mnist/model")           # or "mnist_cnn.keras"
    >>> clone = model_from_json(model.to_json())          # same architecture, fresh weights
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import Any, TypeVar

from convscope import _registry
from convscope.engine.checkpoint import ResumePoint, latest_good, read_resume_point
from convscope.models import graph_config, keras_compile, keras_files, keras_weights, registry
from convscope.models.config import StoredShapes
from convscope.models.model import Model
from convscope.models.storage import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    OPTIMIZER_FILE,
    WEIGHTS_FILE,
    load_optimizer,
    load_weights,
)

ModelT = TypeVar("ModelT", bound=Model)


def read_json(file: Path) -> dict[str, Any]:
    """A JSON object from `file`; a ValueError naming the file when it is not one."""
    try:
        document = json.loads(file.read_text())
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{file}: not a readable JSON model config ({error}).") from error
    if not isinstance(document, dict):
        raise ValueError(f"{file}: expected a JSON object; got {type(document).__name__}.")
    return document


def model_from_config(config: dict[str, Any], stored: StoredShapes | None = None,
                      class_name: str | None = None, *, custom_objects: dict[str, Any] | None = None) -> Model:
    """Rebuild an (untrained) model from its `get_config()` output; `class_name` names its
    registered class (by default "Functional" for a config with input and output layers, else
    "Sequential").

    The config is checked first (the class's `check_config`, against the weights file's shapes
    when `stored` is given), so a hostile or mismatched one fails before allocating.

    >>> model_from_config({"input_shape": [4], "layers": [{"class_name": "Dense", "config": {"units": 2}}]})

    Raises:
        ValueError: for an unknown model class or a config its `check_config` refuses.
    """
    if class_name is None:
        class_name = "Functional" if graph_config.is_functional_config(config) else "Sequential"
    model_class = registry.get(class_name)
    with _registry.custom_object_scope(custom_objects):
        model_class.check_config(config, stored)
        model = model_class.from_checked_config(config)
    assert isinstance(model, Model), f"{class_name}.from_checked_config returned {type(model).__name__}"
    return model


def save_model(model: Model, filepath: str | os.PathLike[str], overwrite: bool = True, zipped: bool | None = None,
               **kwargs: Any) -> None:
    """Keras's `keras.saving.save_model(model, filepath)` (also `keras.models.save_model`):
    `model.save(filepath, overwrite=..., zipped=...)`. Keras 2's `include_optimizer` and
    `save_format` are refused by name: the optimizer is always saved, and the path's suffix
    chooses the format (.keras, .h5, or a folder)."""
    if kwargs:
        raise TypeError(f"save_model: unexpected argument(s) {', '.join(sorted(kwargs))}; it takes model, filepath, "
                        "overwrite and zipped (the file name's suffix chooses the format).")
    if not isinstance(model, Model):
        raise TypeError(f"save_model: expected a convscope model first; got {type(model).__name__}.")
    model.save(filepath, overwrite=overwrite, zipped=zipped)


def load_model(path: str | os.PathLike[str], custom_objects: dict[str, Any] | None = None, compile: bool = True,
               safe_mode: bool = True, *, device: str | None = None) -> Model:
    """Load a folder written by `model.save` (same predictions, and ready to keep training), or
    a Keras .keras / .h5 file (see `load_keras_file`).

    `custom_objects` maps the names a config uses to your own layer classes, losses, metrics and
    activations ({"Scale": Scale, "my_loss": my_loss}), as in Keras; objects filed by
    `register_keras_serializable` or given to `custom_object_scope` are found without it.
    `safe_mode` is accepted for Keras scripts: loading never unpickles or runs code anyway.

    >>> model = load_model("model.keras", custom_objects={"Scale": Scale})

    Raises:
        ValueError: for a malformed file, or a config naming a class convscope does not know
            (pass it in `custom_objects` or register it).
    """
    with _registry.custom_object_scope(custom_objects):
        return load_saved(Path(path), compile, device)


def load_saved(path: Path, compile: bool, device: str | None) -> Model:
    """`load_model`'s work, inside its custom-object scope."""
    if keras_files.is_keras_file(path) and not path.is_dir():
        return load_keras_file(path, compile=compile, device=device)
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
    model = model_from_config(document.get("config", {}), StoredShapes.read(path / WEIGHTS_FILE),
                              class_name=document.get("class_name", "Sequential"))
    load_weights(model, path / WEIGHTS_FILE)
    settings = document.get("compile")
    if compile and settings:
        if not isinstance(settings, dict) or "loss" not in settings:
            raise ValueError(f"{path / CONFIG_FILE}: 'compile' must be an object with at least 'loss'; "
                             f"got {settings!r}.")
        try:
            model.compile(optimizer=settings.get("optimizer") or "adam", loss=settings["loss"],
                          metrics=settings.get("metrics") or None, precision=settings.get("precision", "auto"),
                          device=device, loss_weights=settings.get("loss_weights"),
                          weighted_metrics=settings.get("weighted_metrics"))
            model.require_compiled("load_model").epochs_done = int(settings.get("epochs_done", 0))
        except (TypeError, KeyError, AttributeError) as error:
            raise ValueError(f"{path / CONFIG_FILE}: unreadable compile settings ({type(error).__name__}: "
                             f"{error}). Load with compile=False to skip them.") from error
        if (path / OPTIMIZER_FILE).exists():
            load_optimizer(model, path / OPTIMIZER_FILE)
    elif device is not None:
        model.to_device(device)
    return model


# -- Keras files and JSON ------------------------------------------------------------------------
def load_keras_file(path: str | os.PathLike[str], *, compile: bool = True, device: str | None = None,
                    custom_objects: dict[str, Any] | None = None) -> Model:
    """A Sequential model from a Keras .keras or legacy .h5 file: architecture, weights and (when
    `compile` and the file has them) the compile settings and the optimizer's state, so `fit`
    continues as Keras would. Predictions match Keras's.

    Raises:
        ValueError: naming the file, for a malformed file, a non-Sequential model or a layer type
            convscope lacks (the message lists the supported ones).

    >>> model = load_keras_file("mnist_cnn.keras")
    """
    with _registry.custom_object_scope(custom_objects):
        return read_keras_file(Path(path), compile, device)


def read_keras_file(path: Path, compile: bool, device: str | None) -> Model:
    """`load_keras_file`'s work, inside its custom-object scope."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such Keras file.")
    config, settings = keras_files.read_keras_config(path)
    try:
        model = model_from_config(config)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error
    model.require_built(f"loading {path}")
    if path.suffix.lower() == ".keras":
        _, weights = keras_files.read_archive(path)
        with keras_files.open_h5(io.BytesIO(weights), path) as store:
            keras_weights.read_weights(model, store, path)
    else:
        with keras_files.open_h5(path, path) as store:
            keras_weights.read_weights(model, store, path)
    if compile:
        apply_compile(model, settings, path, device)
    if device is not None and model.compiled is None:
        model.to_device(device)
    return model


def apply_compile(model: Model, settings: dict[str, Any] | None, path: Path, device: str | None) -> None:
    """Compile `model` with a Keras file's settings (optimizer, loss, loss_weights, metrics) and
    give its optimizer the file's state; a warning, and no compile, when they do not fit."""
    if not settings:
        return
    try:
        arguments, optimizer_entry = keras_compile.compile_arguments(settings, len(model.data_keys()[1]), path)
        # float32, as Keras computes: predictions then match the file's maker to 1e-5
        model.compile(**arguments, precision="float32", device=device)
    except (ValueError, TypeError, KeyError) as error:
        warnings.warn(f"{path}: its compile settings could not be used ({error}); the model is loaded "
                      "uncompiled.", stacklevel=3)
        return
    if optimizer_entry is not None:
        keras_files.restore_optimizer(model, path, optimizer_entry)


def model_from_json(text: str, custom_objects: dict[str, Any] | None = None) -> Model:
    """An untrained model from Keras's model JSON (or convscope's config JSON); `custom_objects`
    as for `load_model`.

    Raises:
        ValueError: for text that is not JSON or a model config convscope can build.

    >>> clone = model_from_json(model.to_json())
    """
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, TypeError) as error:
        raise ValueError(f"model_from_json: not JSON ({error}).") from error
    class_name = None
    if isinstance(document, dict) and document.get("format") == FORMAT:
        class_name = document.get("class_name")
        document = document.get("config")
    with _registry.custom_object_scope(custom_objects):
        if isinstance(document, dict) and "class_name" in document:
            document = keras_files.convscope_config(document, Path("model JSON"))
        return model_from_config(document, class_name=class_name)


def clone_model(model: ModelT) -> ModelT:
    """A new model of `model`'s class with its architecture and freshly initialised weights
    (Keras's clone_model)."""
    return type(model).from_config(model.get_config())


# -- checkpoints ---------------------------------------------------------------------------------
def load_latest(folder: str | os.PathLike[str], device: str | None = None) -> tuple[Model, ResumePoint]:
    """Rebuild the model stored in the newest good checkpoint under `folder` (see
    `convscope.engine.checkpoint`), with where it stood.

    >>> model, point = load_latest("runs/mnist/checkpoints")
    >>> model.fit(x, y, epochs=10, initial_epoch=point.epoch, resume=point)

    Raises:
        FileNotFoundError: when `folder` holds no complete checkpoint.
    """
    found = latest_good(folder)
    if found is None:
        raise FileNotFoundError(f"{folder}: no complete checkpoint to resume from.")
    checkpoint, manifest = found
    model = load_model(checkpoint, device=device)
    point = read_resume_point(checkpoint, manifest)
    model.require_compiled("load_latest").epochs_done = point.epoch
    return model, point
