"""The old `keras.utils.np_utils` path that many tutorials still import from."""

from convscope.datasets import to_categorical

__all__ = ["to_categorical"]
