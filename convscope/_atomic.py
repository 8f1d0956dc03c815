"""Atomic file writes: write to a temporary file beside the target, flush it to disk, give it
the usual permissions, then rename it into place. A crash leaves the old file or nothing,
never half a file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def give_usual_permissions(path: Path) -> None:
    """The mode a plain `open`/`mkdir` would have given under the current umask: temporary
    files and folders are created private (0600/0700), and safetensors writes files 0600."""
    os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~_umask())


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
        with open(temporary, "rb") as stream:
            os.fsync(stream.fileno())
        give_usual_permissions(temporary)
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
