"""Keras's `keras.preprocessing.image` (tf.keras's spelling of it included): `ImageDataGenerator`
and its iterators, and image files to arrays and back.

    from convscope.keras.preprocessing.image import ImageDataGenerator
    generator = ImageDataGenerator(rescale=1 / 255, zoom_range=0.1)
    model.fit(generator.flow(x_train, y_train, batch_size=32), epochs=2)
"""

from convscope.data.image_generators import (
           DirectoryIterator,
           ImageDataGenerator,
           NumpyArrayIterator,
)
from convscope.data.image_generators import ImageIterator as Iterator
from convscope.data.images import array_to_img, img_to_array, load_img, save_img

__all__ = ["DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator", "array_to_img",
           "img_to_array", "load_img", "save_img"]
