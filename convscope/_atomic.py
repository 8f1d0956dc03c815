"""Durable writes of files and folders.

Every write goes to a temporary beside its target, is flushed to disk, gets the usual
permissions, is renamed into place, and the rename itself is made durable by flushing the
parent folder. A crash (even SIGKILL or a power cut) leaves the old file or folder or the new
one, never half of either.

    >>> write_text_atomic("runs/mnist/summary.txt", text)
    >>> with atomic_path("model.onnx", suffix=".onnx") as temporary:
    ...     temporary.write_bytes(onnx_bytes)
    >>> write_folder(Path("runs/mnist/model"), lambda staging: (staging / "config.json").write_text("{}"))
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def give_usual_permissions(path: Path) -> None:
    """The mode a plain `open`/`mkdir` would have given under the current umask: temporary
    files and folders are created private (0600/0700), and safetensors writes files 0600."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


def fsync_file(path: Path) -> None:
    """Flush a written file's content to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (a no-op where folders cannot be opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `target`, on error it is removed.

    >>> with atomic_path("model.onnx", suffix=".onnx") as temporary:
    ...     temporary.write_bytes(b"...")
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".part", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        fsync_file(temporary)
        give_usual_permissions(temporary)
        os.replace(temporary, target)
        fsync_folder(target.parent)
    finally:
        if temporary.exists():
            temporary.unlink()


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` durably (see the module text); returns the path."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write `text` as UTF-8 to `path` durably; returns the path."""
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: str | os.PathLike[str], document: Any) -> Path:
    """Write `document` as indented JSON to `path` durably; NumPy scalars and arrays become
    numbers and lists, paths strings. Returns the path."""
    return write_text_atomic(path, json.dumps(document, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy scalars and arrays, without importing NumPy here
        return value.tolist()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def discard_folder(path: Path) -> None:
    """Remove the folder `path` so that no reader ever sees part of it: it is first renamed to a
    hidden sibling (`.<name>.discarded`), then deleted. A process killed meanwhile leaves only
    that hidden folder, which whoever cleans the parent's hidden staging folders removes."""
    path = Path(path)
    hidden = path.with_name(f".{path.name}.discarded")
    try:
        os.rename(path, hidden)
    except FileNotFoundError:
        return
    except OSError:  # a leftover of the same name: clear it, then try once more
        shutil.rmtree(hidden, ignore_errors=True)
        os.rename(path, hidden)
    shutil.rmtree(hidden, ignore_errors=True)


def write_folder(path: Path, writer: Callable[[Path], object]) -> None:
    """Run `writer(staging_folder)`, then swap the finished folder into `path` durably.

    Every file `writer` leaves in the staging folder is flushed to disk before the rename; an
    existing folder at `path` is replaced whole.

    Raises:
        ValueError: when `path` exists and is not a folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        writer(staging)
        for file in staging.iterdir():
            fsync_file(file)
            give_usual_permissions(file)
        give_usual_permissions(staging)
        fsync_folder(staging)
        if path.exists():
            if not path.is_dir():
                raise ValueError(f"cannot write a folder to {path}: it exists and is not a folder.")
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=path.parent))
            os.rename(path, retired / path.name)
            os.rename(staging, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.rename(staging, path)
        fsync_folder(path.parent)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
