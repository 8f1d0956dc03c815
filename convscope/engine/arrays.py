"""Checks and conversions of user arrays before they reach the engine.

Everything is checked once, up front, with messages that name the argument, what the model
expects and what came; then the whole dataset becomes one tensor on the device, so batches are
slices of it rather than per-sample Python work.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from convscope.engine.compiled import Compiled
    from convscope.engine.protocol import TrainableModel


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


def check_lengths(x: np.ndarray, y: np.ndarray, x_name: str = "x", y_name: str = "y") -> None:
    if len(x) != len(y):
        raise ValueError(f"{x_name} has {len(x)} samples but {y_name} has {len(y)}; they must have the same "
                         f"length (one label per sample). Check that {x_name} and {y_name} come from the same split.")


def to_tensor(array: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    tensor = torch.as_tensor(np.ascontiguousarray(array))
    return tensor.to(device=device, dtype=dtype if tensor.is_floating_point() or dtype.is_floating_point else tensor.dtype)


def prepare_x(model: TrainableModel, x: Any, argument: str = "x") -> torch.Tensor:
    """`x` checked against the model's input and as one float32 tensor on its device."""
    array = as_array(x, argument)
    model.check_input_shape(tuple(array.shape), argument)
    check_finite(array, argument)
    return to_tensor(array, model.device)


def prepare_xy(model: TrainableModel, compiled: Compiled, x: Any, y: Any,
               names: tuple[str, str] = ("x", "y")) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets checked (lengths, input shape, finiteness, labels through the loss)
    and moved to the model's device."""
    x_array, y_array = as_array(x, names[0]), as_array(y, names[1])
    check_lengths(x_array, y_array, *names)
    model.check_input_shape(tuple(x_array.shape), names[0])
    check_finite(x_array, names[0])
    targets = compiled.loss.prepare_targets(y_array, model.require_output_shape(names[1])).to(model.device)
    return to_tensor(x_array, model.device), targets
