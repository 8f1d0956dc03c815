"""Keras's `keras.optimizers`, served by convscope."""

from convscope.optimizers import *  # noqa: F403
