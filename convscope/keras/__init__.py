"""Keras compatibility: `import convscope.keras as keras` and Keras-style scripts run unchanged.

    from convscope.keras.models import Sequential
    from convscope.keras.layers import Conv2D, MaxPooling2D, Flatten, Dense
    from convscope.keras.utils.np_utils import to_categorical
"""

from convscope.keras import (
    activations,
    backend,
    callbacks,
    constraints,
    datasets,
    initializers,
    layers,
    losses,
    metrics,
    models,
    optimizers,
    preprocessing,
    regularizers,
    saving,
    utils,
)
from convscope.layers import Input, Layer
from convscope.losses import Loss
from convscope.metrics import Metric
from convscope.models import Model, Sequential, load_model
from convscope.optimizers import Optimizer

__all__ = ["Input", "Layer", "Loss", "Metric", "Model", "Optimizer", "Sequential", "load_model", "activations", "backend", "callbacks", "constraints", "datasets",
           "initializers", "layers", "losses", "metrics", "models", "optimizers", "preprocessing", "regularizers", "saving", "utils"]
