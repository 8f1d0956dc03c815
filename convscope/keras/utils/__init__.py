"""Keras's `keras.utils`."""

from convscope.datasets import to_categorical
from convscope.keras.utils import np_utils
from convscope.keras.utils.sequence import PyDataset, Sequence
from convscope.utils import set_seed as set_random_seed

__all__ = ["PyDataset", "Sequence", "np_utils", "set_random_seed", "to_categorical"]
