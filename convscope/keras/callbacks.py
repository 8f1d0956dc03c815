"""Keras's `keras.callbacks`, served by convscope."""

from convscope.callbacks import *  # noqa: F403
