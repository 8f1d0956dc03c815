"""Keras's `keras.regularizers`, served by convscope."""

from convscope.regularizers import *  # noqa: F403
