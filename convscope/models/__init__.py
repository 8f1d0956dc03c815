"""Models: Sequential, and loading saved ones."""

from convscope.models.keras_files import clone_model, model_from_json
from convscope.models.saving import load_model, model_from_config
from convscope.models.sequential import Sequential

__all__ = ["Sequential", "clone_model", "load_model", "model_from_config", "model_from_json"]
