"""The tutorial layers compared with real Keras (Lambda's neighbours in image and text
tutorials: Identity, Permute, RepeatVector, GaussianNoise, GaussianDropout, Embedding,
Normalization, CenterCrop, RandomCrop, RandomContrast, RandomBrightness): one table read by the
fixture writer (under real Keras, tests/keras/make_keras_tutorial_fixtures.py) and by the tests
(under convscope, tests/keras/test_keras_tutorial_layers.py). Plain data.

Each case: (class name, constructor arguments, input shape with batch axis, options), options:
    "training": call the layer in training mode (random layers with a fixed draw)
    "pixels":   inputs are 0-255 values instead of standard normal ones
    "ids":      inputs are whole-number ids below this bound (as float32, a model's input type)
"""

from __future__ import annotations

from typing import Any

Case = tuple[str, dict[str, Any], tuple[int, ...], dict[str, Any]]

IMAGES = (2, 7, 9, 3)  # a batch of small non-square RGB images
TRAIN_PIXELS = {"training": True, "pixels": True}

CASES: dict[str, Case] = {
    "identity": ("Identity", {}, (2, 4, 5, 3), {}),
    "permute": ("Permute", {"dims": [2, 1]}, (2, 6, 3), {}),
    "permute_image": ("Permute", {"dims": [3, 1, 2]}, IMAGES, {}),
    "repeat_vector": ("RepeatVector", {"n": 3}, (2, 5), {}),
    "gaussian_noise_inference": ("GaussianNoise", {"stddev": 0.3}, (2, 6, 3), {}),
    "gaussian_dropout_inference": ("GaussianDropout", {"rate": 0.4}, (2, 6, 3), {}),
    "embedding": ("Embedding", {"input_dim": 11, "output_dim": 4}, (2, 7), {"ids": 11}),
    "embedding_2d_ids": ("Embedding", {"input_dim": 6, "output_dim": 3}, (2, 3, 4), {"ids": 6}),
    "normalization": ("Normalization", {}, (2, 5, 3), {}),
    "normalization_two_axes": ("Normalization", {"axis": [1, 2]}, (2, 5, 3), {}),
    "normalization_all": ("Normalization", {"axis": None}, (2, 5, 3), {}),
    "normalization_invert": ("Normalization", {"invert": True}, (2, 4), {}),
    "normalization_given": ("Normalization", {"mean": [1.0, -2.0, 0.5], "variance": [4.0, 0.25, 1e-16]},
                            (2, 5, 3), {}),
    "normalization_given_scalar": ("Normalization", {"mean": 3.0, "variance": 9.0, "invert": True}, (2, 4), {}),
    "center_crop": ("CenterCrop", {"height": 4, "width": 5}, IMAGES, {"pixels": True}),
    "center_crop_odd": ("CenterCrop", {"height": 4, "width": 4}, IMAGES, {}),
    "center_crop_upscale": ("CenterCrop", {"height": 10, "width": 12}, IMAGES, {"pixels": True}),
    "center_crop_mixed": ("CenterCrop", {"height": 5, "width": 12}, IMAGES, {}),
    "center_crop_channels_first": ("CenterCrop", {"height": 3, "width": 4, "data_format": "channels_first"},
                                   (2, 3, 7, 9), {}),
    "random_crop_same_size": ("RandomCrop", {"height": 7, "width": 9, "seed": 1}, IMAGES, TRAIN_PIXELS),
    "random_crop_small_image": ("RandomCrop", {"height": 10, "width": 12, "seed": 1}, IMAGES, TRAIN_PIXELS),
    "random_contrast": ("RandomContrast", {"factor": [-0.3, 0.3]}, IMAGES, TRAIN_PIXELS),
    "random_contrast_unit_range": ("RandomContrast", {"factor": [-0.8, 0.8], "value_range": [0, 1]}, IMAGES,
                                   {"training": True}),
    "random_contrast_inference": ("RandomContrast", {"factor": 0.5}, IMAGES, {"pixels": True}),
    "random_brightness": ("RandomBrightness", {"factor": [0.1, 0.1]}, IMAGES, TRAIN_PIXELS),
    "random_brightness_darker": ("RandomBrightness", {"factor": [-0.3, -0.3], "value_range": [1, 0]}, IMAGES,
                                 {"training": True}),
    "random_brightness_inference": ("RandomBrightness", {"factor": 0.2}, IMAGES, {"pixels": True}),
}

# Normalization.adapt on the same data in both libraries: one array, and a list of batches.
ADAPT_CASES: dict[str, tuple[dict[str, Any], tuple[int, ...]]] = {
    "features": ({}, (40, 6)),
    "spectra_per_channel": ({"axis": -1}, (12, 30, 2)),
    "per_position": ({"axis": [1, 2]}, (9, 4, 3)),
    "everything": ({"axis": None}, (10, 5)),
}
