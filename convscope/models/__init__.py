"""Models: Sequential, and loading saved ones."""

from convscope.models.saving import load_model, model_from_config
from convscope.models.sequential import Sequential

__all__ = ["Sequential", "load_model", "model_from_config"]
