"""Checksums of dataset files, and the error raised when one does not match.

Hashes are taken over the *decompressed* content: the same IDX file is served gzip-compressed
with different compression settings by different mirrors and distributions (Debian recompresses
Fashion-MNIST, for instance), so the .gz bytes differ while the data is identical.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import resources
from pathlib import Path


class IntegrityError(ValueError):
    """A dataset file whose content is not the expected one (truncated, corrupted or wrong)."""

    def __init__(self, path: Path | str, expected: str, actual: str, algorithm: str = "sha256",
                 hint: str = "") -> None:
        self.path = Path(path)
        self.expected = expected
        self.actual = actual
        self.algorithm = algorithm
        fix = hint or "Delete the file and load again, or replace it with an intact copy."
        super().__init__(
            f"{self.path}: content does not match the published {algorithm.upper()}: expected "
            f"{expected}, got {actual}. The file is truncated, corrupted or not the dataset "
            f"file it is named after.\n{fix}"
        )


def sha256_hex(data: bytes | memoryview) -> str:
    """SHA-256 of `data` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path, algorithm: str = "sha256", chunk_size: int = 1 << 20) -> str:
    """Hex digest of a file's bytes, read in chunks so large archives need little memory."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def verify_bytes(data: bytes | memoryview, expected: str | None, path: Path | str) -> None:
    """Raise `IntegrityError` when the SHA-256 of `data` differs from `expected`.

    `expected=None` means no published hash is known; the content is then accepted as is.
    """
    if expected is None:
        return
    actual = sha256_hex(data)
    if actual != expected.lower():
        raise IntegrityError(path, expected.lower(), actual)


@cache
def known_checksums(dataset: str) -> dict[str, str]:
    """Published SHA-256 of each decompressed file of `dataset`, keyed by the file's raw name.

    Read from `convscope/data/checksums/<dataset>.json`; an empty dict when none is recorded.
    """
    resource = resources.files("convscope.data").joinpath("checksums", f"{dataset}.json")
    if not resource.is_file():
        return {}
    table = json.loads(resource.read_text(encoding="utf-8"))
    return {name: value.lower() for name, value in table["sha256_decompressed"].items()}
