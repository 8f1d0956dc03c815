"""Keras's `keras.initializers`, served by convscope."""

from convscope.initializers import *  # noqa: F403
