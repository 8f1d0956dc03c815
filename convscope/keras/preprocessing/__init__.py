"""Keras's `keras.preprocessing`: `image` (ImageDataGenerator, load_img, ...) and
`image_dataset_from_directory`."""

from convscope.data.directory_dataset import image_dataset_from_directory
from convscope.keras.preprocessing import image

__all__ = ["image", "image_dataset_from_directory"]
