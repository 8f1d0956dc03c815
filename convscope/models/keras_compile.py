"""Compile settings inside Keras's files, both ways: optimizer, loss, loss_weights, metrics and
weighted_metrics, for one output or several.

Keras 3 writes them as `compile_config` in a .keras archive's config.json and as the
`training_config` attribute of a legacy .h5 ("optimizer_config" for the optimizer). A loss or
metric given by name is written as its name ("sparse_categorical_crossentropy", "accuracy"); one
with arguments as an object ({"module": "keras.losses", "class_name":
"SparseCategoricalCrossentropy", "config": {"from_logits": true, ...}}). Several outputs take a
dict keyed by output name (or a list in output order) for each setting.

Reading is in two steps: `read_settings` keeps the file's settings as they are (no warnings, so a
summary of the file says nothing about them), `compile_arguments` turns them into `compile`'s
arguments when the model is compiled, warning for what convscope cannot use.
"""

from __future__ import annotations

import inspect
import types
import warnings
from pathlib import Path
from typing import Any

from convscope import _registry, losses
from convscope import metrics as metrics_module
from convscope.models import keras_optimizer
from convscope.models.protocol import LayeredModel

SETTINGS = ("loss", "loss_weights", "metrics", "weighted_metrics")
KERAS_EXTRAS = {"run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def plain_class_name(name: Any) -> str:
    """A class name without a registration prefix (tf.keras 2.11+ wrote "Custom>Adam")."""
    return str(name).rsplit(">", 1)[-1]


def is_object(value: Any) -> bool:
    """A serialized Keras object ({"class_name", "config"}), not a dict keyed by output."""
    return isinstance(value, dict) and "class_name" in value


# -- reading ------------------------------------------------------------------------------------------
def read_settings(document: Any, optimizer_key: str) -> dict[str, Any] | None:
    """A Keras compile_config (or a legacy training_config, whose optimizer is under
    "optimizer_config") as {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics"},
    unconverted; None without a loss (the file was saved uncompiled)."""
    if not isinstance(document, dict) or document.get("loss") is None:
        return None
    return {"optimizer": document.get(optimizer_key), **{key: document.get(key) for key in SETTINGS}}


def compile_arguments(settings: dict[str, Any], output_count: int, path: Path) -> tuple[dict[str, Any], Any]:
    """(`compile`'s keyword arguments, the file's optimizer {"class_name" (Keras's), "config"}
    when convscope has its class else None) from `read_settings`' output. Warns for an optimizer, an optimizer argument or a
    metric convscope lacks, and drops them; an unknown loss is left for compile to refuse."""
    entry = optimizer_entry(settings.get("optimizer"))
    optimizer, keras_class = keras_optimizer.optimizer_arguments(entry, path)
    arguments = {"optimizer": optimizer, "loss": structure(settings.get("loss"), loss_entry),
                 "loss_weights": settings.get("loss_weights")}
    for key in ("metrics", "weighted_metrics"):
        converted = metric_structure(settings.get(key), output_count, path)
        arguments[key] = converted or None
    config = entry.get("config") if isinstance(entry, dict) else None
    return arguments, None if keras_class is None else {"class_name": keras_class, "config": config or {}}


def optimizer_entry(entry: Any) -> Any:
    if is_object(entry):
        return {**entry, "class_name": plain_class_name(entry["class_name"])}
    return entry if isinstance(entry, str) else "rmsprop"  # Keras's compile default


def structure(value: Any, leaf: Any) -> Any:
    """`value` with `leaf` applied to each loss: one, a list (output order) or a dict by output."""
    if value is None or is_object(value) or isinstance(value, str):
        return leaf(value)
    if isinstance(value, dict):
        return {key: structure(item, leaf) for key, item in value.items()}
    if isinstance(value, list):
        return [structure(item, leaf) for item in value]
    return value


def loss_entry(value: Any) -> Any:
    """A file's loss as convscope's: a name stays a name; an object becomes {"class_name",
    "config"} with the arguments convscope's class takes (tf.keras 2's reduction "auto" is
    Keras 3's "sum_over_batch_size")."""
    if not is_object(value):
        return value
    if value["class_name"] == "function":  # Keras 3's own function, by its registered name
        return value.get("config")
    class_name = plain_class_name(value["class_name"])
    if isinstance(value.get("registered_name"), str) and _registry.get_registered_object(value["registered_name"]):
        class_name = value["registered_name"]  # the user's own loss class
    config = dict(value.get("config") or {})
    if config.get("reduction") == "auto":
        config["reduction"] = "sum_over_batch_size"
    known = next((cls for cls in losses.LOSSES.values() if cls.__name__ == class_name), None)
    if known is not None:
        accepted = set(inspect.signature(known.__init__).parameters)
        config = {key: item for key, item in config.items() if key in accepted and key not in ("fn",)}
    return {"class_name": class_name, "config": config}


def metric_structure(value: Any, output_count: int, path: Path) -> Any:
    """The file's metrics as convscope's: one flat list for one output, else the file's dict (by
    output name) or list (one entry per output); each metric converted by `metric_entry`."""
    if value is None:
        return None
    if output_count == 1:
        return [metric for item in leaves(value) if (metric := metric_entry(item, path)) is not None]
    if isinstance(value, dict) and not is_object(value):
        return {key: metric_structure(item, 1, path) for key, item in value.items()}
    if isinstance(value, list):
        return [metric_structure(item, 1, path) if isinstance(item, list) else metric_entry(item, path)
                for item in value]
    return metric_entry(value, path)


def leaves(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [leaf for item in value for leaf in leaves(item)]
    if isinstance(value, dict) and not is_object(value):
        return [leaf for item in value.values() for leaf in leaves(item)]
    return [] if value is None else [value]


def metric_classes() -> dict[str, type[metrics_module.Metric]]:
    """convscope's metric classes by their (Keras) class name."""
    found = {cls.__name__: cls for cls in metrics_module.METRICS.values() if isinstance(cls, type)}
    found["Accuracy"] = metrics_module.Accuracy
    return found


def metric_entry(value: Any, path: Path) -> Any:
    """A file's metric as convscope's: a name stays a name, an object becomes that metric with
    its arguments; a metric convscope lacks is dropped with a warning (None)."""
    if not is_object(value):
        return value
    if value["class_name"] == "function":  # Keras 3's own function, by its registered name
        return value.get("config")
    class_name = plain_class_name(value["class_name"])
    config = dict(value.get("config") or {})
    custom = _registry.get_registered_object(value.get("registered_name") or value["class_name"])
    if isinstance(custom, type) and issubclass(custom, metrics_module.Metric):
        return custom(**config)
    if class_name == "MeanMetricWrapper" and isinstance(config.get("fn"), str):  # tf.keras 2: a named function
        return config.get("name") if config.get("name") in ("accuracy", "acc") else config["fn"]
    cls = metric_classes().get(class_name)
    if cls is None:
        warnings.warn(f"{path}: metric {class_name} ({config.get('name')}) has no convscope equivalent and is "
                      "dropped; compile again with the metrics you want.",
                      stacklevel=keras_optimizer.caller_stacklevel())
        return None
    accepted = set(inspect.signature(cls.__init__).parameters)
    return cls(**{key: item for key, item in config.items() if key in accepted and key != "self"})


# -- writing ------------------------------------------------------------------------------------------
def keras_compile_config(model: LayeredModel, with_module: bool) -> dict[str, Any] | None:
    """The compiled model's settings as Keras writes them: `compile_config` of a .keras archive
    (`with_module`) or the legacy .h5's `training_config` (optimizer as "optimizer_config", no
    module). None for a model compiled with a ready torch optimizer Keras cannot name."""
    compiled = model.compiled
    recipe = None if compiled is None else compiled.optimizer_recipe
    optimizer = None if recipe is None else keras_optimizer.keras_optimizer_entry(recipe)
    if compiled is None or optimizer is None:
        return None
    heads = compiled.heads
    if len(heads) == 1:
        only = heads[0]
        settings: dict[str, Any] = {
            "loss": keras_loss(only.loss, with_module),
            "loss_weights": None if only.loss_weight is None else [only.loss_weight],
            "metrics": keras_metrics(only.metric_names, only.metrics, only.loss, with_module) or None,
            "weighted_metrics": keras_metrics(only.weighted_metric_names, only.weighted_metrics, only.loss,
                                              with_module) or None}
    else:
        weights = {head.key: head.loss_weight for head in heads if head.loss_weight is not None}
        plain = {head.key: keras_metrics(head.metric_names, head.metrics, head.loss, with_module)
                 for head in heads if head.metric_names}
        weighted = {head.key: keras_metrics(head.weighted_metric_names, head.weighted_metrics, head.loss, with_module)
                    for head in heads if head.weighted_metric_names}
        settings = {"loss": {head.key: keras_loss(head.loss, with_module) for head in heads},
                    "loss_weights": weights or None, "metrics": plain or None, "weighted_metrics": weighted or None}
    entry = keras_object(optimizer, "keras.optimizers", with_module)
    return {"optimizer": entry, **settings, **KERAS_EXTRAS} if with_module else \
        {**settings, **KERAS_EXTRAS, "optimizer_config": entry}


def keras_object(entry: dict[str, Any], module: str, with_module: bool) -> dict[str, Any]:
    return {"module": module, **entry, "registered_name": None} if with_module else entry


def keras_loss(loss: losses.Loss | None, with_module: bool) -> Any:
    """A loss as Keras writes it: its name when it has its class's defaults, else the object;
    a custom loss by its name (Keras loads it only where that name is registered)."""
    if loss is None:
        return None
    name = next((key for key, cls in losses.LOSSES.items() if type(loss) is cls), None)
    if name is None:
        return custom_loss(loss, with_module)
    if loss.get_config() == type(loss)().get_config():
        return name
    return keras_object({"class_name": type(loss).__name__, "config": loss.get_config()}, "keras.losses", with_module)


def custom_loss(loss: losses.Loss, with_module: bool) -> Any:
    """The user's own loss as Keras 3 writes it: a function as {"class_name": "function",
    "config": its registered name}, a registered Loss class with its config and registered name;
    anything else (and every custom loss in a legacy .h5) by its name."""
    function = getattr(loss, "fn", None)
    if type(loss) is losses.LossFunctionWrapper and isinstance(function, types.FunctionType):
        name = _registry.get_registered_name(function)
        return {"module": function.__module__, "class_name": "function", "config": name,
                "registered_name": name} if with_module else name
    if with_module and _registry.is_registered(type(loss)):
        return {"module": type(loss).__module__, "class_name": type(loss).__name__, "config": loss.get_config(),
                "registered_name": _registry.get_registered_name(type(loss))}
    return loss.name


def keras_metrics(names: list[str], metrics: list[tuple[str, metrics_module.Metric]], loss: losses.Loss | None,
                  with_module: bool) -> list[Any]:
    """An output's metrics as Keras writes them: each name as given when it still makes the
    same metric ("accuracy" after a sparse loss), else the metric object with its arguments."""
    kind = losses.kind(loss) if loss is not None else ""
    written: list[Any] = []
    for name, (_, metric) in zip(names, metrics):
        try:
            _, fresh = metrics_module.get(name, kind)
        except ValueError:
            fresh = None
        if fresh is not None and type(fresh) is type(metric) and fresh.get_config() == metric.get_config():
            written.append(name)
        elif metric_classes().get(type(metric).__name__) is type(metric):  # a Keras class, arguments of its own
            config = {**metric.get_config(), "dtype": metric.get_config().get("dtype") or "float32"}
            written.append(keras_object({"class_name": type(metric).__name__, "config": config}, "keras.metrics",
                                        with_module))
        else:
            written.append(name)  # a custom metric: by name, as for a custom loss
    return written
