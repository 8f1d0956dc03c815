"""Keras's `keras.backend`: configuration queries, plus tf.keras 2's `get_value`/`set_value`
for variables such as `model.optimizer.learning_rate`.

    >>> from convscope.keras import backend
    >>> backend.set_value(model.optimizer.learning_rate, 0.01)
    >>> float(backend.get_value(model.optimizer.learning_rate))
    0.01
"""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import torch

from convscope.losses.core import EPSILON


def backend() -> str:
    """The framework underneath: always "torch"."""
    return "torch"


def epsilon() -> float:
    """The fuzz factor the losses clip probabilities with (1e-7, as in Keras)."""
    return EPSILON


def floatx() -> str:
    """The default float type of weights and computations."""
    return "float32"


def image_data_format() -> str:
    """Images are (batch, height, width, channels) everywhere in convscope."""
    return "channels_last"


def clear_session(free_memory: bool = True) -> None:
    """Keras's reset between models: convscope keeps no global graph and names layers per model,
    so this only frees memory: with `free_memory`, collect garbage and release the memory torch
    caches on CUDA devices."""
    if free_memory:
        gc.collect()
        if torch.cuda.is_initialized():
            torch.cuda.empty_cache()


def get_value(x: Any) -> np.ndarray:
    """The value of a variable (`model.optimizer.learning_rate`), tensor or number as NumPy."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    numpy = getattr(x, "numpy", None)
    return np.asarray(numpy() if callable(numpy) else x)


def set_value(x: Any, value: Any) -> None:
    """Assign `value` to a variable such as `model.optimizer.learning_rate`.

    Raises:
        ValueError: when `x` is a plain number, which cannot change in place.
    """
    if isinstance(x, torch.Tensor):
        with torch.no_grad():
            x.copy_(torch.as_tensor(np.asarray(value), dtype=x.dtype))
        return
    if not callable(getattr(x, "assign", None)):
        raise ValueError(f"set_value: {x!r} is a {type(x).__name__}, which cannot be changed in place; pass a "
                         "variable such as model.optimizer.learning_rate.")
    x.assign(value)
