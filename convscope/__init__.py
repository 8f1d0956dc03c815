"""convscope: build, train, explain and ship convolutional neural networks.

    from convscope import Sequential, layers
    model = Sequential([layers.Conv2D(64, 3, activation="relu", input_shape=(28, 28, 1)), ...])

Attributes are imported on first use, so `import convscope` (and the CLI) start fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_ATTRIBUTES = {
    "Sequential": "convscope.models.sequential",
    "Model": "convscope.models",
    "Input": "convscope.layers",
    "load_model": "convscope.models.saving",
    "model_from_config": "convscope.models.saving",
    "set_seed": "convscope.utils",
    "History": "convscope.engine.callbacks",
}
_MODULES = (
    "layers", "models", "optimizers", "losses", "metrics", "callbacks", "activations",
    "initializers", "regularizers", "constraints", "datasets", "explain", "keras", "utils",
    "export", "distributed", "plots", "data", "engine", "random",
)

__all__ = [*_ATTRIBUTES, *_MODULES]


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    if name in _MODULES:
        return importlib.import_module(f"convscope.{name}")
    raise AttributeError(f"module 'convscope' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
