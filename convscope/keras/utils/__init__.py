"""Keras's `keras.utils`."""

from convscope.data.directory_dataset import image_dataset_from_directory
from convscope.data.images import array_to_img, img_to_array, load_img, save_img
from convscope.datasets import to_categorical
from convscope.keras.utils import np_utils
from convscope.keras.utils.sequence import PyDataset, Sequence
from convscope.utils import set_seed as set_random_seed

__all__ = ["PyDataset", "Sequence", "array_to_img", "image_dataset_from_directory", "img_to_array", "load_img",
           "np_utils", "save_img", "set_random_seed", "to_categorical"]
