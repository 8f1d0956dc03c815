"""Checks and conversions of user arrays before they reach the engine.

Everything is checked once, up front, with messages that name the argument, what the model
expects and what came; then the whole dataset becomes tensors on the device, so batches are
slices of them rather than per-sample Python work.

A model with one input takes `x` as one array; with several, a list in the order of
`model.inputs` or a dict keyed by input name (`y` likewise, per output). Inside the engine the
data are one tensor (one input or output) or a list of them (`Data`); sample weights are one
tensor per output that has them, (N,) or one weight per loss element (N, ...), or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import torch

if TYPE_CHECKING:
    from convscope.engine.compiled import Compiled, OutputHead
    from convscope.engine.protocol import TrainableModel

Data: TypeAlias = "torch.Tensor | list[torch.Tensor]"  # one tensor, or one per model input
Targets: TypeAlias = "torch.Tensor | list[torch.Tensor | None]"  # one tensor, or one per output (None: unused)
Weights: TypeAlias = "torch.Tensor | list[torch.Tensor | None] | None"  # (N,) or (N, ...) per output, or None
Prepared: TypeAlias = "tuple[Data, Targets, Weights]"


def as_array(value: Any, argument: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    if not array_like(value):
        # np.asarray would iterate such an object through __getitem__ until IndexError, which a
        # batch-returning __getitem__ never raises: refuse it instead of hanging.
        raise ValueError(f"{argument} must be an array (NumPy or torch), a list of numbers, a "
                         "keras.utils.PyDataset or a generator of (x_batch, y_batch); got "
                         f"{type(value).__name__}, which is none of these.")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{argument} must be an array (NumPy or torch); got {type(value).__name__}.") from error
    if array.dtype == object:
        raise ValueError(f"{argument} must be a numeric array; got an object array (ragged lists?) of shape "
                         f"{array.shape}.")
    return array


def array_like(value: Any) -> bool:
    """Whether np.asarray can read `value` without iterating an arbitrary object."""
    return isinstance(value, (np.ndarray, np.generic, list, tuple, int, float, bool, complex)) \
        or hasattr(value, "__array__") or hasattr(value, "__array_interface__")


def check_finite(array: np.ndarray, argument: str) -> None:
    if not np.issubdtype(array.dtype, np.floating):
        return
    finite = np.isfinite(array)
    if finite.all():
        return
    nan, inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    first = tuple(int(i) for i in np.argwhere(~finite)[0])
    raise ValueError(f"{argument} contains {nan} NaN and {inf} infinite values (first at index {first}); "
                     "replace or drop them before training, e.g. np.nan_to_num(x) or x[np.isfinite(x).all(...)].")


def check_lengths(x: Any, y: Any, x_name: str = "x", y_name: str = "y", meaning: str = "one label per sample") -> None:
    if len(x) != len(y):
        raise ValueError(f"{x_name} has {len(x)} samples but {y_name} has {len(y)}; they must have the same "
                         f"length ({meaning}). Check that {x_name} and {y_name} come from the same split.")


def to_tensor(array: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    tensor = torch.as_tensor(np.ascontiguousarray(array))
    return tensor.to(device=device, dtype=dtype if tensor.is_floating_point() or dtype.is_floating_point else tensor.dtype)


# -- several inputs and outputs ------------------------------------------------------------------
def split(value: Any, keys: list[str], argument: str, what: str) -> list[Any] | None:
    """One value per key from a list/tuple (in order) or a dict keyed by `keys`; None when the
    model has one `what` and `value` is that one array.

    Raises:
        ValueError: naming `argument`, for a count or keys that do not fit.
    """
    if isinstance(value, dict):
        unknown = [key for key in value if key not in keys]
        if unknown:
            raise ValueError(f"{argument} has entries {unknown}, which are not {what}s of the model; its {what}s "
                             f"are {keys}.")
        missing = [key for key in keys if key not in value]
        if missing:
            raise ValueError(f"{argument}: no value for {what}(s) {missing}; the model's {what}s are {keys}.")
        return [value[key] for key in keys]
    if len(keys) > 1:
        if not isinstance(value, (list, tuple)) or len(value) != len(keys):
            got = f"a {type(value).__name__} of {len(value)}" if isinstance(value, (list, tuple)) else \
                f"one {type(value).__name__}"
            raise ValueError(f"{argument}: the model has {len(keys)} {what}s ({', '.join(keys)}); got {got}. Pass "
                             f"a list with one array per {what} in that order, or a dict keyed by {what} name.")
        return list(value)
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], (np.ndarray, torch.Tensor)) \
            and np.ndim(value[0]) >= 1:
        return [value[0]]
    return None


def part_names(argument: str, keys: list[str], parts: list[Any] | None) -> list[str]:
    """How errors name each part: "x" for one array, "x['left']" for an input of several."""
    return [argument] if parts is None or len(keys) == 1 else [f"{argument}['{key}']" for key in keys]


def prepare_x(model: TrainableModel, x: Any, argument: str = "x") -> Data:
    """`x` checked against the model's inputs: one float32 tensor on its device, or one per input."""
    keys = model.data_keys()[0]
    parts = split(x, keys, argument, "input")
    names = part_names(argument, keys, parts)
    tensors = []
    for index, (part, name) in enumerate(zip(parts if parts is not None else [x], names)):
        array = as_array(part, name)
        model.check_input_shape(tuple(array.shape), name, index)
        check_finite(array, name)
        tensors.append(to_tensor(array, model.device))
    for tensor, name in zip(tensors[1:], names[1:]):
        check_lengths(tensors[0], tensor, names[0], name, "every input has one entry per sample")
    return tensors[0] if len(tensors) == 1 else tensors


def needs_targets(head: OutputHead) -> bool:
    return head.loss is not None or bool(head.metrics) or bool(head.weighted_metrics)


def target_parts(compiled: Compiled, keys: list[str], y: Any, argument: str) -> list[Any]:
    """One raw target per output (None for an output with neither loss nor metrics)."""
    if len(keys) == 1:
        single = split(y, keys, argument, "output")
        return [y if single is None else single[0]]
    needed = [index for index, head in enumerate(compiled.heads) if needs_targets(head)]
    if isinstance(y, dict):
        unknown = [key for key in y if key not in keys]
        missing = [keys[index] for index in needed if y.get(keys[index]) is None]
        if unknown or missing:
            raise ValueError(f"{argument}: " + (f"{unknown} are not outputs of the model; " if unknown else "")
                             + (f"no targets for output(s) {missing}; " if missing else "")
                             + f"the outputs are {keys}. Key y by output name.")
        return [y.get(key) for key in keys]
    with_loss = [index for index, head in enumerate(compiled.heads) if head.loss is not None]
    if isinstance(y, (list, tuple)) and len(y) == len(with_loss) < len(keys):  # only the outputs with a loss
        parts: list[Any] = [None] * len(keys)
        for index, value in zip(with_loss, y):
            parts[index] = value
        return parts
    if not isinstance(y, (list, tuple)) or len(y) != len(keys):
        got = f"a {type(y).__name__} of {len(y)}" if isinstance(y, (list, tuple)) else f"one {type(y).__name__}"
        raise ValueError(f"{argument}: the model has {len(keys)} outputs ({', '.join(keys)}); got {got}. Pass a "
                         "list with one array per output in that order, or a dict keyed by output name.")
    return list(y)


def prepare_y(model: TrainableModel, compiled: Compiled, y: Any, argument: str = "y") -> tuple[Targets, list[Any]]:
    """Targets checked through each output's loss (`Loss.prepare_targets`) and moved to the
    device, with the raw arrays (for class weights)."""
    keys = model.data_keys()[1]
    shapes = model.require_output_shapes(argument)
    raws = target_parts(compiled, keys, y, argument)
    names = [argument] if len(keys) == 1 else [f"{argument}['{key}']" for key in keys]
    targets: list[torch.Tensor | None] = []
    arrays: list[Any] = []
    for head, raw, shape, name in zip(compiled.heads, raws, shapes, names):
        if raw is None or not needs_targets(head):
            targets.append(None)
            arrays.append(None)
            continue
        array = as_array(raw, name)
        arrays.append(array)
        if head.loss is not None:
            targets.append(head.loss.prepare_targets(array, shape).to(model.device))
        else:
            targets.append(to_tensor(array, model.device))
    return (targets[0] if len(targets) == 1 else targets), arrays  # type: ignore[return-value]


def prepare_xy(model: TrainableModel, compiled: Compiled, x: Any, y: Any,
               names: tuple[str, ...] = ("x", "y", "sample_weight"), sample_weight: Any = None,
               class_weight: Any = None) -> Prepared:
    """Inputs, targets and sample weights checked (lengths, input shapes, finiteness, labels
    through the loss) and moved to the model's device. `names` name x, y and the sample weights
    in errors.

    Raises:
        ValueError: naming the argument at fault.
    """
    x_name, y_name = names[0], names[1]
    weight_name = names[2] if len(names) > 2 else f"{y_name} sample_weight"
    inputs = prepare_x(model, x, x_name)
    targets, raw_targets = prepare_y(model, compiled, y, y_name)
    input_keys, output_keys = model.data_keys()
    first = inputs if isinstance(inputs, torch.Tensor) else inputs[0]
    first_name = part_names(x_name, input_keys, None if isinstance(inputs, torch.Tensor) else inputs)[0]
    target_names = part_names(y_name, output_keys, None if isinstance(targets, torch.Tensor) else targets)
    for target, name in zip(as_list(targets, 1), target_names):
        if target is not None:
            check_lengths(first, target, first_name, name)
    weights = prepare_weights(model, compiled, sample_weight, class_weight, raw_targets, len(first), weight_name)
    return inputs, targets, weights


# -- sample and class weights --------------------------------------------------------------------
def prepare_weights(model: TrainableModel, compiled: Compiled, sample_weight: Any, class_weight: Any,
                    raw_targets: list[Any], samples: int, argument: str = "sample_weight") -> Weights:
    """Sample weights as float32 tensors, Keras's way: `sample_weight` one array (every output),
    or a list/dict with one per output, each (N,) one weight per sample or (N, ...) one per
    element of the output's loss (see `weight_array`); `class_weight` {class: weight} for a
    one-output model, each sample weighted by its label's class (argmax of one-hot targets).

    Raises:
        ValueError: for both at once, class weights on several outputs, or weights that do not fit.
    """
    if sample_weight is None and class_weight is None:
        return None
    if sample_weight is not None and class_weight is not None:
        raise ValueError("You cannot use class_weight and sample_weight at the same time; fold the class weights "
                         "into sample_weight instead.")
    keys = model.data_keys()[1]
    shapes = model.require_output_shapes(argument)
    if class_weight is not None:
        if len(keys) > 1:
            raise ValueError(f"class_weight is only supported for models with a single output; this one has "
                             f"{len(keys)} ({', '.join(keys)}). Pass sample_weight with one array per output.")
        if raw_targets[0] is None:
            raise ValueError("class_weight needs the targets y.")
        if len(shapes[0]) > 2:
            raise ValueError(f"class_weight takes one class per sample, but the model outputs {tuple(shapes[0])}, "
                             "one prediction per element; pass sample_weight with one weight per element instead, "
                             "e.g. np.vectorize(lambda label: class_weight.get(label, 1.0))(y).")
        weight = class_weights(raw_targets[0], class_weight)
        return to_tensor(weight, model.device)
    parts = split(sample_weight, keys, argument, "output") if isinstance(sample_weight, (list, tuple, dict)) \
        and len(keys) > 1 else None
    if parts is None:
        checked = [weight_array(sample_weight, samples, argument, shape) for shape, head in zip(shapes, compiled.heads)
                   if head.loss is not None or head.weighted_metrics]
        tensor = to_tensor(checked[0], model.device)
        return tensor if len(keys) == 1 else [tensor] * len(keys)
    names = [f"{argument}['{key}']" for key in keys]
    return [None if part is None else to_tensor(weight_array(part, samples, name, shape), model.device)
            for part, name, shape in zip(parts, names, shapes)]


def weight_array(value: Any, samples: int, argument: str,
                 output_shape: tuple[int | None, ...] = (None, None)) -> np.ndarray:
    """The weights as float32: one per sample, (N,) ((N, 1) taken too), or one per element of
    the loss, which reduces the output's last axis: (N, timesteps) for an (N, timesteps,
    classes) output, (N, height, width) for (N, height, width, classes) (a trailing size-1 axis
    taken too).

    >>> weight_array(np.ones((2, 5, 1)), 2, "sample_weight", (None, 5, 3)).shape
    (2, 5)
    """
    array = as_array(value, argument)
    elements = tuple(output_shape[1:-1])
    if (array.ndim == 2 and array.shape[1] == 1) or (array.ndim == len(elements) + 2 and array.shape[-1] == 1):
        array = array[..., 0]
    fits = array.ndim == 1 or (array.ndim == len(elements) + 1 and all(
        size is None or size == given for size, given in zip(elements, array.shape[1:])))
    if not fits:
        per_element = "" if not elements else (
            f", or one per element of the loss, shape ({samples}, "
            f"{', '.join('None' if size is None else str(size) for size in elements)}), "
            f"for the output {tuple(output_shape)}")
        raise ValueError(f"{argument} must hold one weight per sample, shape ({samples},){per_element}; "
                         f"got shape {array.shape}.")
    if len(array) != samples:
        raise ValueError(f"{argument} has {len(array)} weights but there are {samples} samples; give one weight "
                         "per sample.")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{argument} must be numbers; got dtype {array.dtype}.")
    check_finite(array.astype(np.float32), argument)
    return array.astype(np.float32)


def class_weights(targets: np.ndarray, class_weight: Any) -> np.ndarray:
    """Keras's class_weight_to_sample_weights: each sample's weight is its class's entry (1.0
    for a class not listed); the class is the argmax of one-hot targets, else the rounded label.

    >>> class_weights(np.array([0, 1, 2, 1]), {1: 2.0})
    array([1., 2., 1., 2.], dtype=float32)
    """
    if not isinstance(class_weight, dict) or not all(
            isinstance(key, (int, np.integer)) and not isinstance(key, bool) for key in class_weight):
        raise ValueError(f"class_weight must be a dict mapping class indices (integers) to weights, e.g. "
                         f"{{0: 1.0, 1: 5.0}}; got {class_weight!r}.")
    labels = np.asarray(targets)
    if labels.ndim > 1:
        labels = labels.argmax(-1) if labels.shape[-1] != 1 else labels.squeeze(-1)
    if labels.ndim != 1:
        raise ValueError(f"class_weight needs one class per sample; the targets have shape {np.shape(targets)}.")
    classes = np.round(labels.astype(np.float64)).astype(np.int64)
    return np.array([float(class_weight.get(int(label), 1.0)) for label in classes], dtype=np.float32)


# -- batches -----------------------------------------------------------------------------------
def take(data: Any, index: Any) -> Any:
    """The samples at `index` (a slice or an index tensor) of a tensor, a list of them (None
    items stay None) or None."""
    if data is None or isinstance(data, torch.Tensor):
        return None if data is None else data[index]
    return [None if part is None else part[index] for part in data]


def samples_in(model: TrainableModel, x: Any) -> int:
    """How many samples user input `x` holds (its first input's length), without converting it."""
    parts = split(x, model.data_keys()[0], "x", "input")
    return len(x if parts is None else parts[0])


def sample_count(data: Data) -> int:
    return len(data) if isinstance(data, torch.Tensor) else len(data[0])


def as_list(data: Any, count: int) -> Sequence[Any]:
    """One item per output: a list as it is, one tensor as [it], None as [None] * count."""
    if data is None:
        return [None] * count
    return [data] if isinstance(data, torch.Tensor) else data
