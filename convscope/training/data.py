"""The data a training run reads: a named dataset, an image folder (one subfolder per class) or
a file of signals, cut to the settings' limits, with its class names.

    >>> data = load_data(TrainSettings(model="seed-cnn", data="fashion_mnist", limit=1000))
    >>> data.x_train.shape, data.class_names[:2]
    ((1000, 28, 28, 1), ['T-shirt/top', 'Trouser'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from convscope.training.recipe import TrainSettings


@dataclass
class Data:
    """Arrays as loaded (uint8 images or float signals) with their class names.

    Attributes:
        x_train, x_test: (N, H, W, C) images or (N, L, C) signals, as stored.
        y_train, y_test: (N,) integer labels.
        class_names: one name per class (the class index as text where none is known).
        source: what was read, e.g. "dataset fashion_mnist" or "image folder photos/".
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    source: str


def load_data(settings: TrainSettings) -> Data:
    """The dataset named or pointed to by `settings.data`, cut to the limits.

    Raises:
        convscope.datasets.DatasetNotFoundError: a named dataset with no usable copy (the
            message lists every place looked and how to provide the files).
        ValueError: an image folder or signals file that cannot be read.
    """
    from convscope import datasets

    source = Path(settings.data).expanduser()
    if source.is_dir():
        (x, y), (xt, yt) = datasets.image_folder(source)
        names, kind = datasets.class_names(source), "image folder"
    elif source.is_file():
        (x, y), (xt, yt) = datasets.arrays(source)
        names, kind = [], "signals file"
    else:
        (x, y), (xt, yt) = datasets.load(settings.data, path=settings.data_path)
        names, kind = datasets.class_names(settings.data), "dataset"
    x, y = x[:settings.limit], y[:settings.limit]
    xt, yt = xt[:settings.test_limit], yt[:settings.test_limit]
    classes = int(max(y.max(), yt.max())) + 1
    names = list(names) if len(names) == classes else [str(i) for i in range(classes)]
    return Data(x, y, xt, yt, names, f"{kind} {settings.data}")


def as_inputs(x: np.ndarray, scale: float) -> np.ndarray:
    """Raw arrays as float32 model inputs (8-bit images multiplied by `scale`, 1/255)."""
    import numpy as np

    return (x.astype(np.float32) * np.float32(scale)) if scale != 1.0 else x.astype(np.float32)


def describe_split(data: Data, settings: TrainSettings) -> str:
    """One line: the model, the data, and how many samples train, validate and test."""
    held = int(len(data.x_train) * settings.validation_split) if settings.validation_split else 0
    return (f"Training {settings.model} on {data.source}: {len(data.x_train) - held} training, {held} validation, "
            f"{len(data.x_test)} test samples, {len(data.class_names)} classes")
