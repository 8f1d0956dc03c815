"""Keras's `keras.layers`, served by convscope."""

from convscope.layers import *  # noqa: F403
from convscope.layers import Layer, Wrapper  # noqa: F401
