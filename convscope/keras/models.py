"""Keras's `keras.models`."""

from convscope.models import Sequential, load_model, model_from_config

__all__ = ["Sequential", "load_model", "model_from_config"]
