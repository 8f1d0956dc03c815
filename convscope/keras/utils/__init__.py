"""Keras's `keras.utils`."""

from convscope._registry import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from convscope.data.directory_dataset import image_dataset_from_directory
from convscope.data.file_cache import get_file
from convscope.data.images import array_to_img, img_to_array, load_img, save_img
from convscope.data.progbar import Progbar
from convscope.data.sequences import pad_sequences
from convscope.data.splitting import split_dataset
from convscope.data.timeseries import timeseries_dataset_from_array
from convscope.datasets import to_categorical
from convscope.keras.utils import np_utils
from convscope.keras.utils.numerical_utils import normalize
from convscope.keras.utils.sequence import PyDataset, Sequence
from convscope.plots.model_graph import plot_model
from convscope.utils import set_seed as set_random_seed

__all__ = ["CustomObjectScope", "PyDataset", "Sequence", "array_to_img", "custom_object_scope", "get_custom_objects",
           "get_registered_name", "get_registered_object", "image_dataset_from_directory", "img_to_array", "load_img",
           "np_utils", "register_keras_serializable", "save_img", "set_random_seed", "to_categorical"]
__all__ += ["Progbar", "get_file", "pad_sequences", "split_dataset", "timeseries_dataset_from_array"]
__all__ += ["plot_model"]
__all__ += ["normalize"]
