"""Keras's `keras.preprocessing`: `image` (ImageDataGenerator, load_img, ...) and
`image_dataset_from_directory`."""

from convscope.data.directory_dataset import image_dataset_from_directory
from convscope.data.timeseries import timeseries_dataset_from_array
from convscope.keras.preprocessing import image, sequence

__all__ = ["image", "image_dataset_from_directory", "sequence", "timeseries_dataset_from_array"]
