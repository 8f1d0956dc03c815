"""Datasets as NumPy arrays: named datasets, image folders, signal files; preparation; checks.

NumPy only (no torch import), so loading and exploring data stays fast and usable on its own.
The public names are re-exported by `convscope.datasets`.
"""

from convscope.data.describe import DatasetDescription, describe
from convscope.data.download import DownloadError
from convscope.data.files import arrays, image_folder
from convscope.data.idx import CorruptArchiveError, read_idx, write_idx
from convscope.data.integrity import IntegrityError
from convscope.data.loaders import class_names, load
from convscope.data.pipeline import AUTOTUNE, Dataset
from convscope.data.preprocessing import (
    add_channel_axis,
    normalize,
    remove_channel_axis,
    to_categorical,
    train_validation_split,
)
from convscope.data.registry import DATASETS
from convscope.data.sources import DatasetNotFoundError, cache_dir

__all__ = [
    "AUTOTUNE", "DATASETS", "Dataset", "CorruptArchiveError", "DatasetDescription", "DatasetNotFoundError", "DownloadError",
    "IntegrityError", "add_channel_axis", "arrays", "cache_dir", "class_names", "describe",
    "image_folder", "load", "normalize", "read_idx", "remove_channel_axis", "to_categorical",
    "train_validation_split", "write_idx",
]
