"""Keras's `keras.activations`, served by convscope."""

from convscope.activations import *  # noqa: F403
