"""`load(name)`: named datasets as NumPy arrays, found locally or downloaded and verified."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from convscope.data import cifar, cifar100
from convscope.data.download import DownloadError
from convscope.data.download import download as fetch_file
from convscope.data.idx import parse_idx, read_content, read_idx
from convscope.data.integrity import known_checksums
from convscope.data.registry import DatasetSpec, get_spec
from convscope.data.sources import (
    DatasetNotFoundError,
    Location,
    dataset_cache_dir,
    find_file,
    howto_provide,
    search_locations,
)

Split = tuple[np.ndarray, np.ndarray]
PathLike = str | os.PathLike[str]


def load(
    name: str,
    *,
    path: PathLike | None = None,
    channel_axis: bool = True,
    download: bool = True,
    mirrors: Sequence[str] | None = None,
    progress: bool = True,
) -> tuple[Split, Split]:
    """Load a named dataset as ``(x_train, y_train), (x_test, y_test)``.

    Args:
        name: ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``, ``"cifar100"`` (fine labels),
            ``"digits"`` or ``"mnist1d"``.
        path: a folder holding the dataset's files, searched first.
        channel_axis: add the trailing channel axis to grayscale images and 1D signals.
        download: fetch missing files from the mirrors into the cache.
        mirrors: base URLs to download from instead of the standard ones.
        progress: print download progress on stderr.

    Returns:
        Images as uint8, channels-last: MNIST and Fashion-MNIST (N, 28, 28, 1)
        ((N, 28, 28) with ``channel_axis=False``), CIFAR-10 (N, 32, 32, 3), digits (N, 8, 8, 1)
        scaled to 0-255; MNIST-1D float32 (N, 40, 1). Labels are 1-D integer arrays.

    Raises:
        ValueError: unknown name; `IntegrityError` (a ValueError) for a file whose content
            does not match its published hash.
        DatasetNotFoundError: no local copy and no download possible; lists every place looked.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load("mnist")
        >>> x_train.shape, y_train.dtype
        ((60000, 28, 28, 1), dtype('uint8'))
    """
    spec = get_spec(name)
    if spec.kind == "idx":
        (x_train, y_train), (x_test, y_test) = load_idx_dataset(
            spec, path, download=download, mirrors=mirrors, progress=progress)
    elif spec.kind == "cifar10":
        (x_train, y_train), (x_test, y_test) = load_cifar10(
            spec, path, download=download, mirrors=mirrors, progress=progress)
    elif spec.kind == "cifar100":
        (x_train, y_train), (x_test, y_test) = load_cifar100(
            spec, path, download=download, mirrors=mirrors, progress=progress)
    elif spec.kind == "digits":
        (x_train, y_train), (x_test, y_test) = load_digits()
    else:
        from convscope.data.mnist1d import load_mnist1d

        (x_train, y_train), (x_test, y_test) = load_mnist1d()
    if channel_axis and x_train.ndim == len(spec.sample_shape):  # grayscale without channel
        x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]
    return (x_train, y_train), (x_test, y_test)


def class_names(name: str | PathLike) -> list[str]:
    """Class names of a named dataset, index = label; for an image folder, its subfolder names.

    Example:
        >>> class_names("fashion_mnist")[9]
        'Ankle boot'
    """
    if isinstance(name, str) and os.sep not in name and not Path(name).is_dir():
        return list(get_spec(name).class_names)
    from convscope.data.files import folder_class_names

    return folder_class_names(Path(name))


def _locate(spec: DatasetSpec, path: PathLike | None,
            is_complete: Callable[[Path], bool]) -> tuple[Path | None, list[str]]:
    """The first searched folder for which `is_complete(folder)` holds, and what was looked at."""
    looked: list[str] = []
    locations: list[Location] = search_locations(spec, path)
    for location in locations:
        if is_complete(location.folder):
            if path is not None and location.label != "path argument":
                warnings.warn(f"load({spec.name!r}): {path} lacks the dataset's files; using "
                              f"{location}", stacklevel=3)
            return location.folder, looked
        looked.append(f"{location} ({'missing files' if location.folder.is_dir() else 'no such folder'})")
    return None, looked


def load_idx_dataset(spec: DatasetSpec, path: PathLike | None, *, download: bool,
                     mirrors: Sequence[str] | None, progress: bool) -> tuple[Split, Split]:
    """MNIST-format datasets: four IDX files, verified against their decompressed SHA-256."""
    checksums = known_checksums(spec.name)
    folder, looked = _locate(
        spec, path, lambda folder: all(find_file(folder, raw) is not None for raw in spec.files.values()))
    if folder is None:
        folder = _download_idx(spec, looked, checksums, download, mirrors, progress)
    arrays: dict[str, np.ndarray] = {}
    for role, raw_name in spec.files.items():
        file_path = find_file(folder, raw_name)
        assert file_path is not None  # _locate and _download_idx guarantee all four
        arrays[role] = read_idx(file_path, checksums.get(raw_name))
    _check_counts(spec, arrays, folder)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _check_counts(spec: DatasetSpec, arrays: dict[str, np.ndarray], folder: Path) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{folder}: {spec.name} {split} images have shape {images.shape} and labels "
                f"{labels.shape}; expected (N, H, W) images and (N,) labels of equal N."
            )


def _download_idx(spec: DatasetSpec, looked: list[str], checksums: dict[str, str], allowed: bool,
                  mirrors: Sequence[str] | None, progress: bool) -> Path:
    file_names = [f"{raw}.gz" for raw in spec.files.values()]
    if not allowed:
        looked.append("download: skipped (download=False)")
        raise DatasetNotFoundError(spec, looked, howto_provide(spec, file_names))
    target = dataset_cache_dir(spec.name)
    for raw_name in spec.files.values():
        if find_file(target, raw_name):
            continue  # a partial cache from an interrupted run: keep the files already there

        def validate(temp_path: Path, raw_name: str = raw_name) -> None:
            parse_idx(read_content(temp_path, checksums.get(raw_name)), temp_path)

        try:
            fetch_file(f"{raw_name}.gz", mirrors or spec.mirrors, target / f"{raw_name}.gz",
                       validate, progress=progress)
        except DownloadError as error:
            looked.extend(f"download {attempt}" for attempt in error.attempts)
            raise DatasetNotFoundError(spec, looked, howto_provide(spec, file_names)) from error
    return target


def load_cifar10(spec: DatasetSpec, path: PathLike | None, *, download: bool,
                 mirrors: Sequence[str] | None, progress: bool) -> tuple[Split, Split]:
    """CIFAR-10 from batch files, or from the official binary tarball (verified, then extracted)."""
    folder, looked = _locate(
        spec, path, lambda f: cifar.batch_folder(f) is not None or (f / cifar.TARBALL).is_file())
    cache = dataset_cache_dir(spec.name)
    if folder is None:
        if not download:
            looked.append("download: skipped (download=False)")
            raise DatasetNotFoundError(spec, looked, howto_provide(spec, [cifar.TARBALL]))
        try:
            tarball = fetch_file(cifar.TARBALL, mirrors or spec.mirrors, cache / cifar.TARBALL,
                                 cifar.verify_tarball, progress=progress)
        except DownloadError as error:
            looked.extend(f"download {attempt}" for attempt in error.attempts)
            raise DatasetNotFoundError(spec, looked, howto_provide(spec, [cifar.TARBALL])) from error
        folder = cifar.extract_tarball(tarball, cache).parent
        tarball.unlink()  # the verified batches and their manifest now stand for it
    batches = cifar.batch_folder(folder)
    if batches is None:  # only the tarball is there
        batches = cifar.extract_tarball(folder / cifar.TARBALL, cache)
    return cifar.read_batches(batches)


def load_cifar100(spec: DatasetSpec, path: PathLike | None, *, download: bool, mirrors: Sequence[str] | None,
                  progress: bool, label_mode: str = "fine") -> tuple[Split, Split]:
    """CIFAR-100 from an extracted cifar-100-python/ folder, or read from the python tarball
    (verified against Keras's SHA-256); `label_mode` "fine" (0-99) or "coarse" (0-19)."""
    cifar100.check_label_mode(label_mode)
    folder, looked = _locate(
        spec, path, lambda f: cifar100.batch_folder(f) is not None or (f / cifar100.TARBALL).is_file())
    if folder is None:
        if not download:
            looked.append("download: skipped (download=False)")
            raise DatasetNotFoundError(spec, looked, howto_provide(spec, [cifar100.TARBALL]))
        try:
            tarball = fetch_file(cifar100.TARBALL, mirrors or spec.mirrors, dataset_cache_dir(spec.name) /
                                 cifar100.TARBALL, cifar100.verify_tarball, progress=progress)
        except DownloadError as error:
            looked.extend(f"download {attempt}" for attempt in error.attempts)
            raise DatasetNotFoundError(spec, looked, howto_provide(spec, [cifar100.TARBALL])) from error
        return cifar100.read_tarball(tarball, label_mode)
    batches = cifar100.batch_folder(folder)
    if batches is not None:
        return cifar100.read_folder(batches, label_mode)
    return cifar100.read_tarball(folder / cifar100.TARBALL, label_mode)


def _bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    """(1797, 64) float pixels 0-16 and (1797,) labels from scikit-learn's bundled CSV.

    The file is read directly: importing scikit-learn takes seconds, reading 1797 rows does not.
    """
    import importlib.util

    found = importlib.util.find_spec("sklearn")
    if found is None or not found.submodule_search_locations:
        raise FileNotFoundError("load('digits') needs scikit-learn's bundled copy: pip install scikit-learn")
    csv = Path(next(iter(found.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    if not csv.is_file():  # a future layout: let scikit-learn find its own file
        from sklearn.datasets import load_digits as sklearn_digits

        bunch = sklearn_digits()
        return bunch.data, bunch.target
    table = np.loadtxt(csv, delimiter=",", dtype=np.float64)  # 64 pixels, then the label
    return table[:, :-1], table[:, -1]


def load_digits() -> tuple[Split, Split]:
    """scikit-learn's bundled 8x8 digits (1797 images), values 0-16 rescaled to uint8 0-255,
    split 80/20 with a fixed seed and stratified by class (no network needed)."""
    from convscope.data.preprocessing import train_validation_split

    pixels, target = _bundled_digits()
    images = np.rint(pixels.reshape(-1, 8, 8) * (255.0 / 16.0)).astype(np.uint8)  # (1797, 8, 8)
    labels = target.astype(np.int64)
    return train_validation_split(images, labels, validation_fraction=0.2, stratify=True, seed=0)
