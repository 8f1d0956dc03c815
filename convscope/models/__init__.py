"""Models: Model (the base; `Model(inputs, outputs)` makes a Functional graph), Sequential, and
loading saved ones."""

from convscope.models.functional import Functional
from convscope.models.model import Model
from convscope.models.saving import (
    clone_model,
    load_latest,
    load_model,
    model_from_config,
    model_from_json,
    save_model,
)
from convscope.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_latest", "load_model", "model_from_config",
           "model_from_json", "save_model"]
