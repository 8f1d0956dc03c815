"""Keras's `keras.models`."""

from convscope.models import Sequential, clone_model, load_model, model_from_config, model_from_json

__all__ = ["Sequential", "clone_model", "load_model", "model_from_config", "model_from_json"]
