"""Keras's `keras.saving`: loading models, and the user's own classes and functions that saved
configs name.

    @keras.saving.register_keras_serializable(package="MyLayers")
    class Scale(keras.layers.Layer): ...

    model = keras.saving.load_model("model.keras")                  # Scale is registered
    model = keras.saving.load_model("model.keras", custom_objects={"Scale": Scale, "my_loss": my_loss})
    with keras.saving.custom_object_scope({"Scale": Scale}):
        model = keras.models.load_model("model.keras")
"""

from convscope._registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from convscope.models import load_model, save_model

__all__ = ["CustomObjectScope", "custom_object_scope", "get_custom_objects", "get_registered_name",
           "get_registered_object", "load_model", "register_keras_serializable", "save_model"]
