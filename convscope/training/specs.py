"""Models named the ways `convscope train` and `summary` take them: a built-in name (see
`convscope.zoo`), a JSON/YAML spec, or a Python file defining `build_model()`.

A spec lists layers as `model.save` writes them ({"class_name": "Conv2D", "config": {...}}),
or more briefly ({"type": "Conv2D", "filters": 32} or {"Conv2D": {"filters": 32}}):

    # model.yaml
    input_shape: [28, 28, 1]
    layers:
      - Conv2D: {filters: 32, kernel_size: 3, activation: relu}
      - Flatten: {}
      - Dense: {units: 10, activation: softmax}

    >>> build_model("model.yaml", None, 10).output_shape
    (None, 10)
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convscope.models.sequential import Sequential

SPEC_SUFFIXES = (".json", ".yaml", ".yml", ".py")


def is_spec_file(source: str) -> bool:
    """Whether `source` names a spec or Python file (by its suffix) rather than a built-in model."""
    return Path(source).suffix.lower() in SPEC_SUFFIXES


def build_model(source: str, input_shape: Sequence[int] | None, num_classes: int | None) -> Sequential:
    """A model from a zoo name, a .json/.yaml spec or a .py file with `build_model()`, built for
    `input_shape` (one example, channels-last) when the source leaves it open.

    Raises:
        FileNotFoundError: a spec or Python file that does not exist.
        ValueError: an unreadable spec, an unknown built-in name, or a model whose last layer's
            width is not `num_classes`.
    """
    path = Path(source).expanduser()
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        model = model_from_spec(path, input_shape)
    elif path.suffix.lower() == ".py":
        model = model_from_python(path, input_shape, num_classes)
    else:
        from convscope import zoo

        model = zoo.build(source, input_shape, num_classes)
    if model.input_shape is None and input_shape is not None:
        model.build((None, *input_shape))
    outputs = model.output_shape[-1] if model.output_shape else None
    if num_classes is not None and outputs != num_classes:
        raise ValueError(f"{source}: the model ends with {outputs} outputs but the data has {num_classes} "
                         f"classes. Make the last layer Dense({num_classes}, activation='softmax').")
    return model


def read_spec(path: Path) -> dict[str, Any]:
    """The mapping a .json or .yaml spec file holds.

    Raises:
        FileNotFoundError: no such file.
        ValueError: text that is not JSON/YAML, or a document that is not a mapping.
    """
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model spec file.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(text)
        else:
            import yaml

            document = yaml.safe_load(text)
    except (ValueError, ImportError) as error:  # json and yaml errors are ValueErrors
        raise ValueError(f"{path}: not a readable model spec ({str(error).splitlines()[0]}).") from error
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a model spec must be a mapping with a 'layers' list.")
    return document


def model_from_spec(path: Path, input_shape: Sequence[int] | None) -> Sequential:
    """Spec layers are {"class_name": "Conv2D", "config": {...}} (as model.save writes them),
    {"type": "Conv2D", "filters": 32, ...} or {"Conv2D": {"filters": 32, ...}}."""
    from convscope.models.sequential import Sequential

    document = read_spec(path)
    config = document.get("config", document) if "layers" not in document else document
    if not isinstance(config.get("layers"), list):
        raise ValueError(f"{path}: a model spec needs a 'layers' list, e.g. "
                         "layers: [{Conv2D: {filters: 32, kernel_size: 3, activation: relu}}, ...]")
    entries = [_layer_entry(entry, index, path) for index, entry in enumerate(config["layers"])]
    shape = config.get("input_shape") or (list(input_shape) if input_shape is not None else None)
    return Sequential.from_config({"name": config.get("name") or path.stem, "input_shape": shape, "layers": entries})


def _layer_entry(entry: Any, index: int, path: Path) -> dict[str, Any]:
    if isinstance(entry, dict) and "class_name" in entry:
        return {"class_name": entry["class_name"], "config": dict(entry.get("config") or {})}
    if isinstance(entry, dict) and "type" in entry:
        options = {k: v for k, v in entry.items() if k != "type"}
        return {"class_name": entry["type"], "config": options}
    if isinstance(entry, dict) and len(entry) == 1:
        (kind, options), = entry.items()
        return {"class_name": kind, "config": dict(options or {})}
    raise ValueError(f"{path}: layer {index} should look like {{Conv2D: {{filters: 32, kernel_size: 3}}}}; "
                     f"got {entry!r}.")


def model_from_python(path: Path, input_shape: Sequence[int] | None, num_classes: int | None) -> Sequential:
    """Run `path` as a module and call its build_model() (passing input_shape and num_classes
    when it takes them)."""
    import importlib.util

    from convscope.models.sequential import Sequential

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such Python file.")
    spec = importlib.util.spec_from_file_location(f"convscope_user_model_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    builder = getattr(module, "build_model", None)
    if not callable(builder):
        raise ValueError(f"{path}: defines no build_model() function; add `def build_model(): return Sequential([...])`.")
    accepted = inspect.signature(builder).parameters
    options = {name: value for name, value in (("input_shape", input_shape), ("num_classes", num_classes))
               if name in accepted and value is not None}
    model = builder(**options)
    if not isinstance(model, Sequential):
        raise ValueError(f"{path}: build_model() returned {type(model).__name__}; expected a convscope Sequential.")
    return model
