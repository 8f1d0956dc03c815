"""Your own data: an image folder (one subfolder per class) or arrays of 1D signals and spectra."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

import numpy as np

from convscope.data.preprocessing import train_validation_split

Split = tuple[np.ndarray, np.ndarray]
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
LABEL_COLUMN_NAMES = ("label", "labels", "class", "target", "y")
MAX_NPY_BYTES = 4 * 1024**3  # larger .npy arrays are refused before any memory is taken for them


def _read_npy_header(handle: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    from numpy.lib import format as npy_format

    try:
        version = npy_format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = npy_format.read_array_header_1_0(handle)
        else:  # 2.0 and 3.0 differ from 1.0 only in the header length's size
            shape, _, dtype = npy_format.read_array_header_2_0(handle)
    except ValueError as error:
        raise ValueError(f"{where}: not a readable .npy file ({error}).") from error
    return tuple(int(n) for n in shape), dtype


def npy_header(path: str | os.PathLike[str]) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, bytes of data present) of a .npy file, read from its header alone.

    Raises:
        ValueError: not a .npy file, or a header NumPy cannot read.
    """
    with open(path, "rb") as handle:
        shape, dtype = _read_npy_header(handle, str(path))
        present = os.fstat(handle.fileno()).st_size - handle.tell()
    return shape, dtype, present


def check_declared_size(where: str, shape: tuple[int, ...], dtype: np.dtype, present: int, max_bytes: int) -> None:
    """Refuse an array whose header declares more than `max_bytes`, or more bytes than are there."""
    size = int(np.prod(shape, dtype=object)) * dtype.itemsize  # Python ints: no overflow
    declared = f"{where}: its header declares a {'x'.join(map(str, shape))} {dtype} array"
    if size > max_bytes:
        raise ValueError(f"{declared} ({_bytes(size)}); the limit is {_bytes(max_bytes)}. Pass a smaller "
                         "array (one input, or a slice of the data).")
    if not dtype.hasobject and present < size:
        raise ValueError(f"{declared} ({size:,} bytes) but the file holds only {present:,} bytes of data; "
                         "it is truncated or its header is wrong.")


def load_npy(path: str | os.PathLike[str], max_bytes: int = MAX_NPY_BYTES) -> np.ndarray:
    """A .npy array, after checking from its header that it is no larger than `max_bytes` and
    that the file holds as many bytes as the header claims (never unpickling objects).

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unreadable header, an array over `max_bytes`, or a truncated file.

    Example:
        >>> x = load_npy("signals.npy", max_bytes=64 * 1024**2)
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file.")
    shape, dtype, present = npy_header(source)
    check_declared_size(str(source), shape, dtype, present, max_bytes)
    return np.load(source, allow_pickle=False)


def load_npz_member(path: str | os.PathLike[str], name: str, max_bytes: int = MAX_NPY_BYTES) -> np.ndarray:
    """Array `name` of an .npz archive, checked as `load_npy` checks a file: its header (read
    from the archive, before anything is decompressed into an array) must declare at most
    `max_bytes`, and the member must hold that many bytes.

    Raises:
        ValueError: not an .npz, no such member, or a member over the limit or truncated.
    """
    import zipfile

    from numpy.lib import format as npy_format

    where = f"{path} (array {name!r})"
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(f"{name}.npy")
            with archive.open(info) as handle:
                shape, dtype = _read_npy_header(handle, where)
                check_declared_size(where, shape, dtype, info.file_size - handle.tell(), max_bytes)
            with archive.open(info) as handle:
                return np.asarray(npy_format.read_array(handle, allow_pickle=False))
    except (zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{where}: not readable from the archive ({error}).") from error


def _bytes(count: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:,.0f} bytes" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count:,.1f} TiB"


def folder_class_names(root: Path) -> list[str]:
    """Sorted subfolder names of `root` (of `root/train` when it has train/ and test/)."""
    if _has_splits(root):
        root = root / "train"
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder; expected one subfolder per class.")
    return sorted(entry.name for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def _has_splits(root: Path) -> bool:
    return (root / "train").is_dir() and (root / "test").is_dir()


def _read_image(path: Path, image_size: tuple[int, int] | None, mode: str | None) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as opened:
            image: Image.Image = opened
            if mode is not None and image.mode != mode:
                image = image.convert(mode)
            elif image.mode not in ("L", "RGB"):
                image = image.convert("RGB")
            if image_size is not None and image.size != (image_size[1], image_size[0]):
                image = image.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
            pixels = np.asarray(image, dtype=np.uint8)
    except OSError as error:  # PIL.UnidentifiedImageError is an OSError
        raise ValueError(f"{path}: cannot be read as an image ({error}). Remove it or replace it "
                         "with a valid PNG or JPEG.") from error
    return pixels[..., np.newaxis] if pixels.ndim == 2 else pixels


def _read_class_folders(root: Path, names: list[str], image_size: tuple[int, int] | None,
                        mode: str | None) -> Split:
    images: list[np.ndarray] = []
    labels: list[int] = []
    for label, name in enumerate(names):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        images.extend(_read_image(path, image_size, mode) for path in files)
        labels.extend([label] * len(files))
    if not images:
        raise ValueError(f"{root}: no .png/.jpg/.jpeg files in its class subfolders {names}.")
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise ValueError(f"{root}: images have different sizes or channels {sorted(shapes)}; pass "
                         "image_size=(height, width) and color_mode='grayscale' or 'rgb'.")
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def image_folder(
    path: str | os.PathLike[str],
    *,
    image_size: tuple[int, int] | None = None,
    color_mode: Literal["grayscale", "rgb"] | None = None,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[Split, Split]:
    """Load images from one subfolder per class (PNG or JPEG, read with Pillow).

    Class names are the sorted subfolder names (see `class_names(path)`); label i is the i-th.
    When `path` has ``train/`` and ``test/`` subfolders, they give the two splits; otherwise a
    stratified `test_fraction` of each class is held out with `seed`.

    Args:
        image_size: (height, width) to resize every image to; required when sizes differ.
        color_mode: ``"grayscale"`` (C=1) or ``"rgb"`` (C=3); default keeps the files' mode.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: uint8 (N, H, W, C) and int64 (N,).

    Example:
        >>> (x, y), (x_test, y_test) = image_folder("flowers/", image_size=(64, 64), color_mode="rgb")
    """
    root = Path(path).expanduser()
    if color_mode not in (None, "grayscale", "rgb"):
        raise ValueError(f"image_folder: color_mode must be 'grayscale', 'rgb' or None; got {color_mode!r}.")
    mode = {"grayscale": "L", "rgb": "RGB", None: None}[color_mode]
    names = folder_class_names(root)
    if not names:
        raise ValueError(f"{root}: no class subfolders; expected e.g. {root}/cats/*.png and {root}/dogs/*.png.")
    if _has_splits(root):
        return (_read_class_folders(root / "train", names, image_size, mode),
                _read_class_folders(root / "test", names, image_size, mode))
    x, y = _read_class_folders(root, names, image_size, mode)
    return train_validation_split(x, y, test_fraction, stratify=True, seed=seed)


def _read_csv(path: Path, label_column: int | str | None) -> tuple[np.ndarray, np.ndarray | None]:
    with open(path, encoding="utf-8") as handle:
        first = handle.readline().strip()
    cells = [cell.strip() for cell in first.split(",")]
    has_header = any(not _is_number(cell) for cell in cells)
    table = np.loadtxt(path, delimiter=",", skiprows=int(has_header), dtype=np.float64, ndmin=2)
    if label_column is None and has_header:
        found = [i for i, cell in enumerate(cells) if cell.lower() in LABEL_COLUMN_NAMES]
        label_column = found[0] if found else None
    if isinstance(label_column, str):
        if not has_header or label_column not in cells:
            raise ValueError(f"{path}: no column named {label_column!r}; header is {cells if has_header else 'absent'}.")
        label_column = cells.index(label_column)
    if label_column is None:
        return table, None
    index = label_column % table.shape[1]
    return np.delete(table, index, axis=1), table[:, index]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _read_signals(path: Path, label_column: int | str | None) -> tuple[np.ndarray, np.ndarray | None]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path, label_column)
    if suffix == ".npy":
        return load_npy(path), None
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as stored:
            keys = set(stored.files)
        x_key = next((k for k in ("x", "X", "signals", "spectra", "data") if k in keys), None)
        if x_key is None:
            raise ValueError(f"{path}: expected an array named 'x' (or 'signals', 'spectra'); "
                             f"found {sorted(keys)}.")
        y_key = next((k for k in ("y", "labels", "label", "target") if k in keys), None)
        return load_npz_member(path, x_key), (load_npz_member(path, y_key) if y_key else None)
    raise ValueError(f"{path}: unsupported file type {suffix!r}; use .npy, .npz or .csv.")


def _read_labels(labels: str | os.PathLike[str] | Sequence[int] | np.ndarray) -> np.ndarray:
    if isinstance(labels, (str, os.PathLike)):
        values, _ = _read_signals(Path(labels), None)
        return np.asarray(values).reshape(-1)
    return np.asarray(labels).reshape(-1)


def arrays(
    path: str | os.PathLike[str],
    *,
    labels: str | os.PathLike[str] | Sequence[int] | np.ndarray | None = None,
    label_column: int | str | None = None,
    channel_axis: bool = True,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[Split, Split]:
    """Load 1D signals or spectra, one per row, from .npy, .npz or .csv.

    Labels come from, in order: `labels` (a file or an array), `label_column` of a CSV
    (an index or a header name; a column named ``label``/``class``/``target`` is found by
    itself), or the ``y``/``labels`` array of an .npz.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: float32 (N, L, 1) ((N, L) without
        `channel_axis`) and int64 (N,); a stratified `test_fraction` is held out with `seed`.

    Example:
        >>> (x, y), (x_test, y_test) = arrays("spectra.csv", label_column="label")
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no such file; expected a .npy, .npz or .csv of signals, one per row.")
    signals, found_labels = _read_signals(source, label_column)
    if labels is not None:
        found_labels = _read_labels(labels)
    if found_labels is None:
        raise ValueError(f"{source}: no labels found. Pass labels='labels.npy' (or an array), "
                         "label_column=<index or name> for a CSV, or store 'y' in the .npz.")
    signals = np.asarray(signals, dtype=np.float32)
    if signals.ndim != 2 or len(signals) != len(found_labels):
        raise ValueError(f"{source}: expected signals (N, L) and N labels; got signals "
                         f"{signals.shape} and {len(found_labels)} labels.")
    target = np.asarray(found_labels)
    if not np.all(np.mod(target, 1) == 0):
        raise ValueError(f"{source}: labels must be integers 0..C-1; got values such as {target[:3].tolist()}.")
    target = target.astype(np.int64)
    if channel_axis:
        signals = signals[..., np.newaxis]
    return train_validation_split(signals, target, test_fraction, stratify=True, seed=seed)
