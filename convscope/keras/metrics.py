"""Keras's `keras.metrics`, served by convscope."""

from convscope.metrics import *  # noqa: F403
