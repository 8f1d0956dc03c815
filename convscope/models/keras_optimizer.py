"""The optimizer inside Keras's files: its config and its variables, both ways.

Keras 3 keeps an optimizer's state as one list, `optimizer.variables`:
    iteration, learning_rate, then its slots for each trainable variable (in
    `model.trainable_variables` order), e.g. Adam's momentum and velocity, Keras's layout
A .keras archive holds that list as optimizer/vars/<index> in model.weights.h5; a legacy .h5
holds it under optimizer_weights with names ("adam/iteration", "adam/<variable>_momentum").
tf.keras 2 named its slots differently ("Adam/dense/kernel/m:0", all m before all v), so those
files are read by name.

A torch optimizer keeps a state per parameter in PyTorch's layout; `SLOT_STATE` pairs each Keras
slot with its torch entry, and `to_torch`/`to_keras` convert the one whose meaning differs (SGD's
momentum carries the learning rate in Keras; convscope's RMSprop and Adamax keep Keras's slots
as they are, see convscope.optimizer_rules). Adam's `step` is Keras's `iterations`
(both bias-correct with t = iterations + 1). A file whose optimizer or slots convscope cannot map
warns, naming the optimizer and what is dropped.
"""

from __future__ import annotations

import inspect
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from convscope import optimizer_base, optimizers, schedules
from convscope.models.protocol import LayeredModel

KERAS_CLASS = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
               "nadam": "Nadam", "adamax": "Adamax", "adadelta": "Adadelta", "ftrl": "Ftrl", "lion": "Lion",
               "adafactor": "Adafactor"}  # convscope's registry name -> Keras's class
# Keras slot -> the torch optimizer's state entry, per Keras optimizer class.
ADAM_STATE = {"momentum": "exp_avg", "velocity": "exp_avg_sq", "velocity_hat": "max_exp_avg_sq"}
SLOT_STATE: dict[str, dict[str, str]] = {
    "Adam": ADAM_STATE, "AdamW": ADAM_STATE, "Nadam": {"momentum": "exp_avg", "velocity": "exp_avg_sq"},
    "Adamax": {"momentum": "exp_avg", "norm": "norm"}, "SGD": {"momentum": "momentum_buffer"},
    "RMSprop": {"velocity": "square_avg", "momentum": "momentum", "average_gradient": "grad_avg"},
    "Adagrad": {"accumulator": "sum"},
    "Adadelta": {"accumulated_grad": "accumulated_grad", "accumulated_delta_var": "accumulated_delta_var"},
    "Ftrl": {"accumulator": "accumulator", "linear": "linear"}, "Lion": {"momentum": "momentum"},
    "Adafactor": {"r": "row_average", "c": "column_average", "velocity": "velocity"},
}
# Adafactor's factored moments, kept in Keras's layout (not permuted): for a weight of rank < 2,
# Keras keeps a scalar 0 in their place.
FACTORED_SLOTS = {"r", "c"}
# Keras arguments every optimizer has, at Keras's defaults.
BASE_CONFIG = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
               **optimizer_base.KERAS_DEFAULTS}
IGNORED_ARGUMENTS = {"is_legacy_optimizer", "jit_compile"}  # tf.keras 2's, no effect on training
PACKAGE_FOLDER = str(Path(__file__).resolve().parents[1])
# tf.keras 2's slot names (OptimizerV2's "Adam/dense/kernel/m:0", 2.11+'s "m/dense/kernel:0").
LEGACY_SLOTS = {"m": "momentum", "v": "velocity", "vhat": "velocity_hat", "rms": "velocity",
                "mg": "average_gradient", "u": "norm", "momentum": "momentum", "velocity": "velocity",
                "velocity_hat": "velocity_hat", "accumulator": "accumulator", "average_gradient": "average_gradient",
                "norm": "norm"}
ITERATION_NAMES, RATE_NAMES, PRODUCT_NAMES = {"iter", "iteration", "iterations"}, {"learning_rate", "lr"}, \
    {"u_product", "momentum_cache"}
Variables = list[tuple[str, np.ndarray]]  # (Keras's name, value) in `optimizer.variables` order
Block = tuple[str, ...]  # slots made together, interleaved per trainable variable


def slot_blocks(class_name: str, config: dict[str, Any]) -> list[Block]:
    """Keras's slots after iteration and learning_rate, as blocks: a block's slots interleave
    over the trainable variables (Keras's `add_optimizer_variables`), blocks follow each other."""
    blocks: dict[str, list[Block]] = {
        "Adam": [("momentum", "velocity"), *([("velocity_hat",)] if config.get("amsgrad") else [])],
        "RMSprop": [("velocity",), *([("momentum",)] if (config.get("momentum") or 0) > 0 else []),
                    *([("average_gradient",)] if config.get("centered") else [])],
        "Nadam": [("momentum", "velocity")], "Adamax": [("momentum", "norm")], "Adagrad": [("accumulator",)],
        "SGD": [("momentum",)] if config.get("momentum") else [],
        "Adadelta": [("accumulated_grad", "accumulated_delta_var")], "Ftrl": [("accumulator", "linear")],
        "Lion": [("momentum",)], "Adafactor": [("r", "c", "velocity")]}
    return blocks["Adam" if class_name == "AdamW" else class_name]


def trainable_weights(model: LayeredModel) -> list[tuple[str, torch.Tensor, tuple[int, ...]]]:
    """(path, parameter, permutation to Keras's layout) of every weight Keras's optimizer
    updates, in `model.trainable_variables` order: trainable layers' trainable weights. Keras's
    paths start with the model's name in a Sequential model only."""
    prefix = f"{model.name}/" if type(model).__name__ == "Sequential" else ""
    return [(f"{prefix}{layer.name}/{name}", tensor, tuple(order)) for layer in model.layers
            if getattr(layer, "trainable", True) for name, tensor, order in layer.keras_weights()
            if tensor.requires_grad]


def keras_shape(tensor: torch.Tensor, order: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(tensor.shape[axis] for axis in order)


# -- the optimizer's config -----------------------------------------------------------------------
def keras_optimizer_entry(recipe: optimizers.Optimizer) -> dict[str, Any] | None:
    """{"class_name", "config"} as Keras 3 serializes the optimizer `recipe` is, every argument
    named as Keras names it; None for an optimizer Keras lacks."""
    registered = optimizers.serialize(recipe)["class_name"]
    if registered not in KERAS_CLASS:
        return None
    options = recipe.get_config()  # a schedule's learning_rate as Keras writes it (module, class_name, config)
    config = {"name": recipe.name, "learning_rate": options.pop("learning_rate"), **BASE_CONFIG, **options}
    return {"class_name": KERAS_CLASS[registered], "config": config}


def optimizer_arguments(entry: Any, path: Path) -> tuple[dict[str, Any], str | None]:
    """(compile's optimizer {"class_name", "config"}, the Keras class it stands for or None when
    convscope has no equivalent) from a file's optimizer entry; warns for what is dropped."""
    if isinstance(entry, str):
        entry = {"class_name": entry, "config": {}}
    class_name = str(entry.get("class_name")) if isinstance(entry, dict) else repr(entry)
    config = dict(entry.get("config") or {}) if isinstance(entry, dict) else {}
    rate = learning_rate_of(config, class_name, path)
    registered = class_name.lower()
    if registered not in optimizers.OPTIMIZERS:
        warnings.warn(f"{path}: Keras optimizer {class_name} has no convscope equivalent; the model is compiled "
                      f"with RMSprop(learning_rate={described(rate)}) and the {class_name} settings and state in the file "
                      "are dropped. Compile again with the optimizer you want.", stacklevel=caller_stacklevel())
        return {"class_name": "rmsprop", "config": {"learning_rate": rate}}, None
    accepted = set(inspect.signature(optimizers.OPTIMIZERS[registered].__init__).parameters) | \
        set(optimizer_base.CLIPPING)
    arguments: dict[str, Any] = {"learning_rate": rate}
    dropped = []
    for key, value in config.items():
        if key in ("learning_rate", "lr") or without_effect(key, value):
            continue
        if key in accepted and key not in ("self", "kwargs"):
            arguments[key] = value
        else:
            dropped.append(f"{key}={value!r}")
    if dropped:
        warnings.warn(f"{path}: Keras optimizer {class_name}: convscope does not implement {', '.join(dropped)}; "
                      "training continues without it.", stacklevel=caller_stacklevel())
    return {"class_name": registered, "config": arguments}, KERAS_CLASS.get(registered)


def described(rate: float | schedules.LearningRateSchedule) -> str:
    return f"{rate:g}" if isinstance(rate, float) else type(rate).__name__


def without_effect(key: str, value: Any) -> bool:
    """A Keras optimizer argument that changes nothing: at Keras's default, tf.keras 2's
    bookkeeping, or Keras 2's decay of 0."""
    return (key in BASE_CONFIG and value == BASE_CONFIG[key]) or key in IGNORED_ARGUMENTS or \
        (key == "decay" and not value)


def caller_stacklevel() -> int:
    """The warnings stack level of the first caller outside convscope (the user's load_model)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(PACKAGE_FOLDER):
        frame, level = frame.f_back, level + 1
    return level


def learning_rate_of(config: dict[str, Any], class_name: str, path: Path) -> float | schedules.LearningRateSchedule:
    """The config's learning rate (Keras 2's `lr`), or its schedule (a user's class found as
    Keras finds it: custom_objects, a custom_object_scope, registered objects).

    Raises:
        ValueError: naming the file, for a schedule convscope cannot find.
    """
    rate = config.get("learning_rate", config.get("lr", 0.001))
    if isinstance(rate, dict):
        try:
            return schedules.deserialize(rate)
        except (ValueError, TypeError) as error:
            raise ValueError(f"{path}: Keras optimizer {class_name}'s learning rate: {error}") from error
    return float(rate) if isinstance(rate, (int, float)) and rate > 0 else 0.001


# -- writing the state ------------------------------------------------------------------------------
def keras_variables(model: LayeredModel) -> Variables | None:
    """The compiled optimizer's state as Keras's `optimizer.variables` (names and values); None
    when the model has no optimizer Keras knows."""
    compiled = model.compiled
    recipe = None if compiled is None else compiled.optimizer_recipe
    entry = None if recipe is None else keras_optimizer_entry(recipe)
    if compiled is None or recipe is None or entry is None:
        return None
    class_name, config = entry["class_name"], entry["config"]
    prefix, rate = config["name"], recipe.current_learning_rate()
    variables: Variables = [(f"{prefix}/iteration", np.asarray(recipe.iterations, dtype=np.int64))]
    if recipe.schedule is None:  # a schedule is no variable in Keras
        variables.append((f"{prefix}/learning_rate", np.asarray(rate, dtype=np.float32)))
    weights = trainable_weights(model)
    if class_name == "SGD":
        optimizer_base.rescale_momentum(compiled.optimizer)  # torch's buffers at the rate written
        rate = float(compiled.optimizer.param_groups[0]["lr"])  # with a schedule, the last update's
    for block in slot_blocks(class_name, config):
        for path, tensor, order in weights:
            state = compiled.optimizer.state.get(tensor, {})
            for slot in block:
                value = state.get(SLOT_STATE[class_name][slot])
                shape = slot_shape(slot, keras_shape(tensor, order))
                if value is None:
                    array = initial_slot(class_name, config, shape)
                else:
                    value = value.detach() if slot in FACTORED_SLOTS else value.detach().permute(*order)
                    array = to_keras(class_name, slot, value.cpu().numpy(), rate, config)
                dtype = np.int32 if slot in FACTORED_SLOTS and not shape else np.float32  # Keras's placeholder 0
                variables.append((f"{prefix}/{path.replace('/', '_')}_{slot}", array.astype(dtype)))
    if class_name == "Nadam":
        products = [float(state["mu_product"]) for state in compiled.optimizer.state.values() if "mu_product" in state]
        variables.append((f"{prefix}/u_product", np.asarray(products[0] if products else 1.0, dtype=np.float32)))
    return variables


def slot_shape(slot: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a slot of a weight of Keras shape `shape`: Adafactor's row moments drop the
    last axis, its column moments the second last; a scalar under rank 2."""
    if slot not in FACTORED_SLOTS:
        return shape
    if len(shape) < 2:
        return ()
    return shape[:-1] if slot == "r" else (*shape[:-2], shape[-1])


def initial_slot(class_name: str, config: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray:
    """A slot before the first update: Keras's initial value."""
    fill = config.get("initial_accumulator_value", 0.1) if class_name in ("Adagrad", "Ftrl") else 0.0
    return np.full(shape, fill, dtype=np.float32)


def to_keras(class_name: str, slot: str, value: np.ndarray, rate: float, config: dict[str, Any]) -> np.ndarray:
    """A torch state entry (already in Keras's layout) as Keras's slot: SGD's Keras momentum is
    the step taken, -lr x torch's buffer (kept at the current rate by
    `optimizer_base.rescale_momentum`); the other slots are the same."""
    if slot == "momentum" and class_name == "SGD":
        return -rate * value
    return value


def to_torch(class_name: str, slot: str, value: np.ndarray, rate: float, config: dict[str, Any]) -> np.ndarray:
    """The inverse of `to_keras`."""
    if slot == "momentum" and class_name == "SGD":
        return -value / rate
    return value


def write_keras3_variables(variables: Variables, store: Any) -> None:
    """optimizer/vars/<index> in a .keras archive's weights file; the group is named after the
    optimizer, as its variables' names start."""
    group = store.create_group("optimizer").create_group("vars")
    group.attrs["name"] = variables[0][0].split("/")[0]
    for index, (_, value) in enumerate(variables):
        group.create_dataset(str(index), data=value)


def write_legacy_variables(variables: Variables, file: Any) -> None:
    """optimizer_weights in a legacy .h5 file: attrs weight_names, a dataset per name."""
    group = file.create_group("optimizer_weights")
    group.attrs["weight_names"] = [name.encode("utf8") for name, _ in variables]
    for name, value in variables:
        group.create_dataset(name, data=value)


# -- reading the state ------------------------------------------------------------------------------
class KerasState:
    """A file's optimizer variables sorted out: iterations, learning rate, each slot's arrays in
    trainable-variable order, Nadam's momentum product."""

    def __init__(self) -> None:
        self.iterations = 0
        self.learning_rate: float | None = None
        self.slots: dict[str, list[np.ndarray]] = {}
        self.product: float | None = None


def positional_state(arrays: list[np.ndarray], class_name: str, config: dict[str, Any], count: int,
                     has_rate: bool) -> KerasState | str:
    """Keras 3's list (`optimizer.variables` order) sorted out; a reason when it does not fit."""
    state = KerasState()
    blocks = slot_blocks(class_name, config)
    expected = 1 + has_rate + sum(len(block) for block in blocks) * count + (class_name == "Nadam")
    if len(arrays) <= 1 + has_rate:  # an optimizer that never took a step, as Keras saves it
        if arrays:
            state.iterations = int(arrays[0])
        return state
    if len(arrays) != expected:
        return f"the file holds {len(arrays)} optimizer variables where {class_name} over {count} trainable " \
               f"weights has {expected}"
    state.iterations = int(arrays[0])
    state.learning_rate = float(arrays[1]) if has_rate else None
    position = 1 + has_rate
    for block in blocks:
        for slot in block:
            state.slots[slot] = arrays[position + block.index(slot):position + len(block) * count:len(block)]
        position += len(block) * count
    if class_name == "Nadam":
        state.product = float(arrays[position])
    return state


def named_state(names: list[str], arrays: list[np.ndarray], class_name: str) -> tuple[KerasState, list[str]]:
    """tf.keras 2's optimizer weights sorted out by name; and the names it could not place."""
    state, unknown = KerasState(), []
    for name, array in zip(names, arrays):
        parts = re.sub(r":\d+$", "", name).split("/")
        token = next((part for part in (parts[-1], *parts[:2]) if part in LEGACY_SLOTS), None) \
            if len(parts) > 1 else None
        if parts[-1] in ITERATION_NAMES:
            state.iterations = int(array)
        elif parts[-1] in RATE_NAMES:
            state.learning_rate = float(array)
        elif parts[-1] in PRODUCT_NAMES:
            state.product = float(array)
        elif token is not None:
            slot = "norm" if class_name == "Adamax" and token == "v" else LEGACY_SLOTS[token]
            state.slots.setdefault(slot, []).append(np.asarray(array))
        else:
            unknown.append(name)
    return state, unknown


def restore_state(model: LayeredModel, keras_class: str, keras_config: dict[str, Any], names: list[str] | None,
                  arrays: list[np.ndarray], path: Path) -> None:
    """Set the compiled model's optimizer from a file's optimizer variables (`names` None for a
    .keras archive, whose variables have only positions). What cannot be mapped is dropped with a
    warning naming the optimizer; the rest of the model loads either way."""
    compiled = model.compiled
    recipe = None if compiled is None else compiled.optimizer_recipe
    if compiled is None or recipe is None or not arrays:
        return
    weights = trainable_weights(model)
    has_rate = not isinstance(keras_config.get("learning_rate"), dict)  # a schedule is no variable
    legacy = names is not None and any(re.search(r":\d+$", name) for name in names)
    unknown: list[str] = []
    if legacy:
        assert names is not None
        state, unknown = named_state(names, arrays, keras_class)
    else:
        found = positional_state(arrays, keras_class, keras_config, len(weights), has_rate)
        if isinstance(found, str):
            dropped_warning(path, keras_class, found)
            return
        state = found
    problem = slot_problem(state, keras_class, keras_config, weights)
    if problem:
        dropped_warning(path, keras_class, problem)
        return
    if unknown:
        warnings.warn(f"{path}: Keras optimizer {keras_class}: the variables {', '.join(unknown)} have no "
                      "convscope counterpart and are dropped.", stacklevel=caller_stacklevel())
    if state.learning_rate is not None and state.learning_rate > 0:
        recipe.set_learning_rate(state.learning_rate)
    recipe.steps_counted = state.iterations
    if state.iterations > 0 and (state.slots or not slot_blocks(keras_class, keras_config)):
        load_torch_state(compiled.optimizer, state, keras_class, keras_config, weights, recipe.current_learning_rate())
    elif state.iterations > 0 and slot_blocks(keras_class, keras_config):
        warnings.warn(f"{path}: Keras optimizer {keras_class} was saved after {state.iterations} steps without "
                      "its slot variables; they start again from zero.", stacklevel=caller_stacklevel())


def dropped_warning(path: Path, keras_class: str, reason: str) -> None:
    warnings.warn(f"{path}: Keras optimizer {keras_class}: {reason}, so its saved state (iterations and slots) is "
                  "dropped and training continues from a fresh optimizer state.", stacklevel=caller_stacklevel())


def slot_problem(state: KerasState, keras_class: str, keras_config: dict[str, Any],
                 weights: list[tuple[str, torch.Tensor, tuple[int, ...]]]) -> str | None:
    """Why `state`'s slots do not fit the model's trainable weights, or None."""
    if not state.slots:
        return None
    expected = [slot for block in slot_blocks(keras_class, keras_config) for slot in block]
    missing, extra = [slot for slot in expected if slot not in state.slots], \
        [slot for slot in state.slots if slot not in expected]
    if missing or extra:
        return f"the file's slots {sorted(state.slots)} are not those of {keras_class} with these settings " \
               f"({expected})"
    for slot, values in state.slots.items():
        shapes = [slot_shape(slot, keras_shape(tensor, order)) for _, tensor, order in weights]
        found = [tuple(np.shape(value)) for value in values]
        if found != shapes:
            return f"its {slot} slots have shapes {found}, the model's trainable weights {shapes}"
    return None


def load_torch_state(optimizer: torch.optim.Optimizer, state: KerasState, keras_class: str,
                     keras_config: dict[str, Any], weights: list[tuple[str, torch.Tensor, tuple[int, ...]]],
                     rate: float) -> None:
    """Give each parameter its torch state from Keras's slots (PyTorch's layout, its memory layout)."""
    index = {id(param): position for position, param in
             enumerate(param for group in optimizer.param_groups for param in group["params"])}
    entries: dict[int, dict[str, Any]] = {}
    for number, (_, tensor, order) in enumerate(weights):
        entry: dict[str, Any] = {} if keras_class == "SGD" else {"step": torch.tensor(float(state.iterations))}
        inverse = tuple(int(axis) for axis in np.argsort(order))
        for slot, values in state.slots.items():
            array = to_torch(keras_class, slot, np.asarray(values[number], dtype=np.float32), rate, keras_config)
            if slot in FACTORED_SLOTS:  # Keras's layout; none for a weight of rank < 2
                if tensor.dim() >= 2:
                    entry[SLOT_STATE[keras_class][slot]] = torch.from_numpy(np.ascontiguousarray(array))
                continue
            entry[SLOT_STATE[keras_class][slot]] = torch.from_numpy(np.ascontiguousarray(array)).permute(*inverse)
        if keras_class == "Nadam":
            entry["mu_product"] = torch.tensor(1.0 if state.product is None else state.product)
        entries[index[id(tensor)]] = entry
    # The buffers now follow the current rate (`optimizer_base.rescale_momentum`).
    groups = [{key: value for key, value in group.items() if key != "momentum_lr"}
              for group in optimizer.state_dict()["param_groups"]]
    optimizer.load_state_dict({"state": entries, "param_groups": groups})
    optimizer_base.follow_parameter_layout(optimizer)
