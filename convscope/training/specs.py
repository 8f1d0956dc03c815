"""Models named the ways `convscope train` and `summary` take them: a built-in name (see
`convscope.zoo`), a JSON/YAML spec, or a Python file defining `build_model()` (returning a
Sequential or a functional Model).

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

A graph spec (a functional model: skip connections, branches, merges) gives layers a `name` and
lists what a layer reads in `inputs`; a layer without `inputs` reads the layer before it (the
model's input, named "input", for the first). `outputs` names the model's output (default: the
last layer); `inputs:` at the top names several inputs with their shapes:

    # residual.yaml
    input_shape: [28, 28, 1]
    layers:
      - Conv2D: {filters: 16, kernel_size: 3, padding: same, activation: relu}
        name: stem
      - Conv2D: {filters: 16, kernel_size: 3, padding: same, activation: relu}
      - Conv2D: {filters: 16, kernel_size: 3, padding: same}
        name: residual
      - Add: {}
        inputs: [stem, residual]          # the skip connection
      - ReLU: {}
      - GlobalAveragePooling2D: {}
      - Dense: {units: 10, activation: softmax}

Keras's own functional config (what `model.to_json()` writes: "input_layers", "output_layers"
and layers with "inbound_nodes") is read as it is.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from convscope.models.model import Model

SPEC_SUFFIXES = (".json", ".yaml", ".yml", ".py")
GRAPH_KEYS = ("name", "inputs")  # what a graph spec's layer entry may hold besides the layer
MODEL_INPUT = "input"  # the name of a graph spec's one input when `input_shape` gives it


def is_spec_file(source: str) -> bool:
    """Whether `source` names a spec or Python file (by its suffix) rather than a built-in model."""
    return Path(source).suffix.lower() in SPEC_SUFFIXES


def build_model(source: str, input_shape: Sequence[int] | None, num_classes: int | None) -> Model:
    """A model from a zoo name, a .json/.yaml spec or a .py file with `build_model()`, built for
    `input_shape` (one example, channels-last) when the source leaves it open.

    Raises:
        FileNotFoundError: a spec or Python file that does not exist.
        ValueError: an unreadable spec, an unknown built-in name, a model whose input does not
            fit `input_shape`, or one whose last layer's width is not `num_classes`.
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
    check_input(model, input_shape, source)
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


def check_input(model: Model, input_shape: Sequence[int] | None, source: str) -> None:
    """The model's one input against the data's example shape (unknown sizes fit anything).

    Raises:
        ValueError: a model of another input shape, or with several inputs.
    """
    declared = model.input_shape
    if input_shape is None or declared is None:
        return
    if isinstance(declared, list):
        raise ValueError(f"{source}: the model takes {len(declared)} inputs; training takes one.")
    wanted = tuple(declared)[1:]
    if len(wanted) != len(input_shape) or any(size is not None and size != given
                                              for size, given in zip(wanted, input_shape)):
        raise ValueError(f"{source}: the model's input is {wanted} but the data's examples are {tuple(input_shape)}. "
                         "Build the model for the data's shape (a spec: leave input_shape out to take the data's).")


def model_from_spec(path: Path, input_shape: Sequence[int] | None) -> Model:
    """A Sequential model from a list of layers, or a functional one from a graph spec or
    Keras's functional config (see the module text). Spec layers are {"class_name": "Conv2D",
    "config": {...}} (as model.save writes them), {"type": "Conv2D", "filters": 32, ...} or
    {"Conv2D": {"filters": 32, ...}}."""
    from convscope.models.saving import model_from_config, model_from_json
    from convscope.models.sequential import Sequential

    document = read_spec(path)
    config = document.get("config", document) if "layers" not in document else document
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
        raise ValueError(f"{path}: a model spec needs a 'layers' list, e.g. "
                         "layers: [{Conv2D: {filters: 32, kernel_size: 3, activation: relu}}, ...]")
    if "input_layers" in config and "output_layers" in config:  # Keras's functional config, as to_json writes it
        return _checked(path, lambda: model_from_json(json.dumps(document)))
    if is_graph_spec(config):
        functional = graph_config(config, path, input_shape)
        return _checked(path, lambda: model_from_config(functional, class_name="Functional"))
    entries = [_layer_entry(entry, index, path) for index, entry in enumerate(config["layers"])]
    shape = config.get("input_shape") or (list(input_shape) if input_shape is not None else None)
    return Sequential.from_config({"name": config.get("name") or path.stem, "input_shape": shape, "layers": entries})


def _checked(path: Path, build: Any) -> Any:
    """`build()`, its ValueError prefixed with the spec file."""
    try:
        return build()
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def is_graph_spec(config: dict[str, Any]) -> bool:
    """Whether a spec describes a graph: top-level `inputs`/`outputs`, or a layer with `inputs`."""
    return "inputs" in config or "outputs" in config or any(
        isinstance(entry, dict) and "inputs" in entry for entry in config["layers"])


def graph_config(spec: dict[str, Any], path: Path, input_shape: Sequence[int] | None) -> dict[str, Any]:
    """Keras's functional config for a graph spec: an InputLayer per input, each layer with the
    node its `inputs` name (the layer before it by default), and the outputs.

    Raises:
        ValueError: a missing input shape, a duplicate name, or `inputs` naming no earlier layer.
    """
    from convscope.models import config as config_checks

    inputs = _spec_inputs(spec, path, input_shape)
    entries: list[dict[str, Any]] = [{"class_name": "InputLayer", "config": {"name": name, "batch_shape": [None, *shape]},
                "name": name, "inbound_nodes": []} for name, shape in inputs.items()]
    taken = set(inputs)
    previous = next(iter(inputs))
    given = [entry.get("name") or (entry.get("config") or {}).get("name")
             for entry in spec["layers"] if isinstance(entry, dict)]
    for index, raw in enumerate(spec["layers"]):
        entry = _layer_entry({k: v for k, v in raw.items() if k not in GRAPH_KEYS} if isinstance(raw, dict) else raw,
                             index, path)
        name = raw.get("name") or entry["config"].get("name") or \
            _unused_name(config_checks.layer_from_entry(entry, index).name, taken, given)
        if not isinstance(name, str) or name in taken:
            raise ValueError(f"{path}: layer {index} is named {name!r}, which another layer or input has; "
                             "names must be unique strings.")
        reads = raw.get("inputs", [previous])
        reads = [reads] if isinstance(reads, str) else reads
        if not isinstance(reads, list) or not reads or any(source not in taken for source in reads):
            raise ValueError(f"{path}: layer {index} ({name}) reads {reads!r}; `inputs` must name earlier layers or "
                             f"inputs, one of: {', '.join(sorted(taken))}.")
        taken.add(name)
        entries.append({**entry, "config": {**entry["config"], "name": name}, "name": name,
                        "inbound_nodes": [[[source, 0, 0, {}] for source in reads]]})
        previous = name
    outputs = spec.get("outputs", [previous])
    outputs = [outputs] if isinstance(outputs, str) else outputs
    if not isinstance(outputs, list) or not outputs or any(name not in taken for name in outputs):
        raise ValueError(f"{path}: `outputs` {outputs!r} must name layers of the spec.")
    return {"name": spec.get("name") or path.stem, "layers": entries,
            "input_layers": _references(list(inputs)), "output_layers": _references(outputs)}


def _references(names: list[str]) -> Any:
    """[name, 0, 0] for one tensor, a list of them for several (Keras's input/output layers)."""
    refs = [[name, 0, 0] for name in names]
    return refs[0] if len(refs) == 1 else refs


def _unused_name(base: str, taken: set[str], given: list[Any]) -> str:
    """`base`, or base_1, base_2, ... as Keras names layers, avoiding every name in use or given."""
    name, count = base, 0
    while name in taken or name in given:
        count += 1
        name = f"{base}_{count}"
    return name


def _spec_inputs(spec: dict[str, Any], path: Path, input_shape: Sequence[int] | None) -> dict[str, list[Any]]:
    """{input name: example shape} from `inputs: {name: shape}`, `input_shape` or the data."""
    declared = spec.get("inputs")
    if declared is None:
        shape = spec.get("input_shape") or (list(input_shape) if input_shape is not None else None)
        declared = {MODEL_INPUT: shape}
    if not isinstance(declared, dict) or not declared:
        raise ValueError(f"{path}: `inputs` must map input names to shapes, e.g. inputs: {{image: [28, 28, 1]}}.")
    for name, shape in declared.items():
        if not isinstance(shape, list) or not shape:
            raise ValueError(f"{path}: input {name!r} needs a shape, e.g. [28, 28, 1] (or pass --input-shape).")
    return dict(declared)


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


def model_from_python(path: Path, input_shape: Sequence[int] | None, num_classes: int | None) -> Model:
    """Run `path` as a module and call its build_model() (passing input_shape and num_classes
    when it takes them); it returns a Sequential or a functional Model."""
    import importlib.util

    from convscope.models.model import Model

    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such Python file.")
    spec = importlib.util.spec_from_file_location(f"convscope_user_model_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    builder = getattr(module, "build_model", None)
    if not callable(builder):
        raise ValueError(f"{path}: defines no build_model() function; add `def build_model(): return Sequential([...])` "
                         "or return Model(inputs, outputs).")
    accepted = inspect.signature(builder).parameters
    options = {name: value for name, value in (("input_shape", input_shape), ("num_classes", num_classes))
               if name in accepted and value is not None}
    model = builder(**options)
    if not isinstance(model, Model):
        raise ValueError(f"{path}: build_model() returned {type(model).__name__}; expected a convscope Sequential or "
                         "Model(inputs, outputs).")
    return model
