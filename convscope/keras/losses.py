"""Keras's `keras.losses`, served by convscope."""

from convscope.losses import *  # noqa: F403
