"""What `compile` makes of its loss, loss_weights, metrics and weighted_metrics for each model
output, with Keras 3's rules:

- `loss`: one loss (applied to every output), a list with one entry per output, or a dict keyed
  by output name; an output whose entry is None (or missing from the dict) has no loss.
- `loss_weights`: a number (one output), a list or a dict; the total loss is the weighted sum of
  the outputs' losses, and each output's own loss is logged unweighted as "<output>_loss".
- `metrics` / `weighted_metrics`: for one output, every metric given; for several, a list with
  one entry (a metric or a list of them) per output, or a dict keyed by output name. A flat list
  of another length applies every metric to every output (Keras 2's meaning; Keras 3 refuses
  it). Logs are named "<output>_<metric>".

    >>> heads = output_heads(["sparse_categorical_crossentropy", "mse"], [1.0, 0.5],
    ...                      {"class_out": ["accuracy"]}, None, ["class_out", "reg_out"], ["softmax", None])
    >>> [(head.key, head.loss_weight, [name for name, _ in head.metrics]) for head in heads]
    [('class_out', 1.0, ['class_out_accuracy']), ('reg_out', 0.5, [])]
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from convscope import activations, losses
from convscope import metrics as metrics_module
from convscope.engine.compiled import OutputHead

Identifier = Any  # a name, an instance or a function, as losses.get / metrics.get take them


def output_heads(loss: Any, loss_weights: Any, metrics: Any, weighted_metrics: Any, keys: list[str],
                 finals: list[str | None]) -> list[OutputHead]:
    """One OutputHead per output (`keys` name them; `finals` are their final activations).

    Raises:
        ValueError: for a structure that does not fit the outputs, unknown names, or no loss at all.
    """
    loss_ids = per_output(loss, keys, "loss", leaf=is_loss)
    if all(identifier is None for identifier in loss_ids):
        raise ValueError("compile: loss is required, e.g. loss='sparse_categorical_crossentropy' for integer "
                         "labels or 'categorical_crossentropy' for one-hot labels"
                         + ("" if len(keys) == 1 else f"; give at least one of the outputs {keys} a loss") + ".")
    resolved = {id(identifier): losses.get(identifier) for identifier in loss_ids if identifier is not None}
    loss_fns = [None if identifier is None else resolved[id(identifier)] for identifier in loss_ids]
    weights = loss_weight_list(loss_weights, keys)
    plain = metric_lists(metrics, keys, "metrics")
    weighted = metric_lists(weighted_metrics, keys, "weighted_metrics")
    heads = [head(keys[index] if len(keys) > 1 else None, loss_fns[index], weights[index], finals[index])
             for index in range(len(keys))]
    name_metrics(heads, plain, weighted)
    return heads


def head(key: str | None, loss_fn: losses.Loss | None, weight: float | None, final: str | None) -> OutputHead:
    """An output's loss and whether the loss takes its logits (the final softmax/sigmoid split
    off, so cross-entropy is computed from logits)."""
    if loss_fn is None:
        return OutputHead(key, None, weight)
    use_logits = bool(final) and final == loss_fn.pairs_with and not loss_fn.from_logits
    activation: Callable[[torch.Tensor], torch.Tensor] = activations.linear
    if (use_logits or loss_fn.from_logits) and loss_fn.pairs_with:
        activation = activations.get(loss_fn.pairs_with if loss_fn.from_logits else final)
    return OutputHead(key, loss_fn, weight, use_logits=use_logits or loss_fn.from_logits,
                      output_activation=activation)


def is_loss(value: Any) -> bool:
    """One loss (a name, a Loss, a function or a {"class_name", "config"} dict), not a structure."""
    return not isinstance(value, (list, tuple, dict)) or (isinstance(value, dict) and "class_name" in value)


def per_output(value: Any, keys: list[str], argument: str, leaf: Callable[[Any], bool]) -> list[Any]:
    """One entry per output from one value (shared by all), a list in output order or a dict
    keyed by output name (missing names get None)."""
    if value is None or leaf(value):
        return [value] * len(keys)
    if isinstance(value, dict):
        unknown = [key for key in value if key not in keys]
        if unknown:
            raise ValueError(f"compile: {argument} names {unknown}, which are not outputs of the model; the "
                             f"outputs are {keys}.")
        return [value.get(key) for key in keys]
    if len(value) != len(keys):
        raise ValueError(f"compile: {argument} has {len(value)} entries but the model has {len(keys)} output(s) "
                         f"({', '.join(keys)}); give one entry per output, or a dict keyed by output name.")
    if not all(item is None or leaf(item) for item in value):
        raise ValueError(f"compile: each entry of {argument} must be a single value or None; got {value!r}.")
    return list(value)


def loss_weight_list(loss_weights: Any, keys: list[str]) -> list[float | None]:
    if loss_weights is None:
        return [None] * len(keys)
    if isinstance(loss_weights, (int, float)) and not isinstance(loss_weights, bool):
        if len(keys) > 1:
            raise ValueError(f"compile: loss_weights is one number but the model has {len(keys)} outputs "
                             f"({', '.join(keys)}); give a list or a dict keyed by output name.")
        return [float(loss_weights)]
    weights = per_output(loss_weights, keys, "loss_weights", leaf=lambda item: isinstance(item, (int, float)))
    if not all(weight is None or (isinstance(weight, (int, float)) and not isinstance(weight, bool))
               for weight in weights):
        raise ValueError(f"compile: loss_weights must be numbers; got {loss_weights!r}.")
    return [None if weight is None else float(weight) for weight in weights]


def metric_lists(metrics: Any, keys: list[str], argument: str) -> list[list[Identifier]]:
    """The metric identifiers of each output (see the module text)."""
    if metrics is None:
        return [[] for _ in keys]
    if len(keys) == 1:
        return [list(leaves(metrics))]
    if isinstance(metrics, dict):
        return [as_list(entry) for entry in per_output(metrics, keys, argument, leaf=lambda _: False)]
    if not isinstance(metrics, (list, tuple)):
        return [every_output(index, [metrics]) for index in range(len(keys))]
    if len(metrics) == len(keys):  # Keras 3: one entry per output
        return [as_list(entry) for entry in metrics]
    if any(isinstance(entry, (list, tuple, dict)) for entry in metrics):
        raise ValueError(f"compile: {argument} has {len(metrics)} entries but the model has {len(keys)} outputs "
                         f"({', '.join(keys)}); give one entry (a metric or a list of metrics) per output, a dict "
                         "keyed by output name, or a flat list of metrics for every output.")
    return [every_output(index, list(metrics)) for index in range(len(keys))]


def every_output(index: int, identifiers: list[Identifier]) -> list[Identifier]:
    """The identifiers for output `index` when all outputs share them: metric objects keep
    state, so every output after the first gets its own copy."""
    return [copy.deepcopy(item) if index and isinstance(item, metrics_module.Metric) else item
            for item in identifiers]


def as_list(entry: Any) -> list[Identifier]:
    if entry is None:
        return []
    return list(entry) if isinstance(entry, (list, tuple)) else [entry]


def leaves(structure: Any) -> list[Identifier]:
    if isinstance(structure, dict):
        return [leaf for key in structure for leaf in leaves(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in leaves(item)]
    return [] if structure is None else [structure]


def name_metrics(heads: list[OutputHead], plain: list[list[Identifier]], weighted: list[list[Identifier]]) -> None:
    """Make each head's metrics, logged as Keras 3 names them: "<output>_<name>", a repeated
    name gets "_1", "_2", ..., and a weighted metric whose name is taken becomes "weighted_<name>"."""
    taken: dict[str, int] = {}
    for weighted_pass, per_output in ((False, plain), (True, weighted)):
        for output, head in enumerate(heads):
            kind = losses.kind(head.loss) if head.loss is not None else ""
            metrics, names = (head.weighted_metrics, head.weighted_metric_names) if weighted_pass else \
                (head.metrics, head.metric_names)
            for identifier in per_output[output]:
                name, metric = metrics_module.get(identifier, kind)
                log = prefixed(head.key, name)
                if weighted_pass and log in taken:
                    log = prefixed(head.key, f"weighted_{name}")
                metrics.append((numbered(log, taken), metric))
                names.append(name)


def numbered(log: str, taken: dict[str, int]) -> str:
    """`log` the first time, then "<log>_1", "<log>_2", ...: each use counted in `taken`."""
    if log in taken:
        taken[log] += 1
        return f"{log}_{taken[log] - 1}"
    taken[log] = 1
    return log


def prefixed(key: str | None, name: str) -> str:
    return name if key is None else f"{key}_{name}"


def settings(heads: list[OutputHead], loss_weights: Any) -> dict[str, Any]:
    """The compile arguments as JSON, to compile a loaded model again: for one output the loss's
    {"class_name", "config"} and the metric names; for several, dicts keyed by output name."""
    if len(heads) == 1:
        only = heads[0]
        assert only.loss is not None
        found: dict[str, Any] = {"loss": losses.serialize(only.loss), "metrics": list(only.metric_names)}
        if only.weighted_metric_names:
            found["weighted_metrics"] = list(only.weighted_metric_names)
        if only.loss_weight is not None:
            found["loss_weights"] = only.loss_weight
        return found
    keyed = {head.key or "": head for head in heads}
    found = {"loss": {key: None if head.loss is None else losses.serialize(head.loss) for key, head in keyed.items()},
             "metrics": {key: list(head.metric_names) for key, head in keyed.items() if head.metric_names}}
    if any(head.weighted_metric_names for head in heads):
        found["weighted_metrics"] = {key: list(head.weighted_metric_names) for key, head in keyed.items()
                                     if head.weighted_metric_names}
    if loss_weights is not None:
        found["loss_weights"] = {key: head.loss_weight for key, head in keyed.items() if head.loss_weight is not None}
    return found
