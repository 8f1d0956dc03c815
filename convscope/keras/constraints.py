"""Keras's `keras.constraints`, served by convscope."""

from convscope.constraints import *  # noqa: F403
