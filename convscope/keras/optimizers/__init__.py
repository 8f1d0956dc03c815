"""Keras's `keras.optimizers`, served by convscope; `keras.optimizers.schedules` too."""

from convscope.keras.optimizers import schedules as schedules
from convscope.optimizers import *  # noqa: F403
