"""Public datasets API: `load`, your own files, preparation, description and plots.

    >>> from convscope import datasets
    >>> (x_train, y_train), (x_test, y_test) = datasets.load("fashion_mnist")
    >>> x_train.shape                       # (60000, 28, 28, 1) uint8
    >>> y_onehot = datasets.to_categorical(y_train, 10)
    >>> print(datasets.describe("fashion_mnist"))
    >>> datasets.plot_samples(x_train, y_train, class_names=datasets.class_names("fashion_mnist"),
    ...                       path="samples.png")
"""

from __future__ import annotations

from typing import Any

from convscope.data import (
    DATASETS,
    CorruptArchiveError,
    DatasetDescription,
    DatasetNotFoundError,
    DownloadError,
    IntegrityError,
    add_channel_axis,
    arrays,
    cache_dir,
    class_names,
    describe,
    image_folder,
    load,
    normalize,
    read_idx,
    remove_channel_axis,
    to_categorical,
    train_validation_split,
    write_idx,
)


def load_data(name: str, **options: Any) -> Any:
    """Keras-style: `load(name, channel_axis=False, ...)`, images as (N, 28, 28) for MNIST."""
    return load(name, channel_axis=False, **options)


def plot_samples(*args: Any, **kwargs: Any) -> Any:
    """A grid of samples per class; see `convscope.plots.data.plot_samples`."""
    from convscope.plots.data import plot_samples as plot

    return plot(*args, **kwargs)


def plot_class_distribution(*args: Any, **kwargs: Any) -> Any:
    """Bar chart of samples per class; see `convscope.plots.data.plot_class_distribution`."""
    from convscope.plots.data import plot_class_distribution as plot

    return plot(*args, **kwargs)


def plot_signals(*args: Any, **kwargs: Any) -> Any:
    """A few 1D signals per class; see `convscope.plots.data.plot_signals`."""
    from convscope.plots.data import plot_signals as plot

    return plot(*args, **kwargs)


__all__ = [
    "DATASETS", "CorruptArchiveError", "DatasetDescription", "DatasetNotFoundError", "DownloadError",
    "IntegrityError", "add_channel_axis", "arrays", "cache_dir", "class_names", "describe",
    "image_folder", "load", "load_data", "normalize", "plot_class_distribution", "plot_samples",
    "plot_signals", "read_idx", "remove_channel_axis", "to_categorical", "train_validation_split",
    "write_idx",
]
