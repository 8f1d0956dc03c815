"""Keras's `keras.datasets`: `mnist.load_data()` returns uint8 arrays shaped as Keras's."""

from convscope.keras.datasets import cifar10, fashion_mnist, mnist

__all__ = ["cifar10", "fashion_mnist", "mnist"]
