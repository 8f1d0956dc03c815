"""Downloading dataset files: several mirrors, progress, temp file then rename.

A file is written to a temporary name beside its destination and renamed only after
`validate` accepted it, so a truncated or wrong download never enters the cache.
"""

from __future__ import annotations

import http.client
import os
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol, TextIO

from convscope._atomic import fsync_file, fsync_folder, give_usual_permissions

CHUNK_SIZE = 1 << 16
USER_AGENT = "convscope-data/0.1 (+https://github.com/convscope)"


def publish(temp_path: Path | str, destination: Path) -> None:
    """Give a finished temp file the usual permissions (mkstemp makes it 0600), flush it to disk
    and rename it into place durably."""
    temp = Path(temp_path)
    give_usual_permissions(temp)
    fsync_file(temp)
    os.replace(temp, destination)
    fsync_folder(destination.parent)


class DownloadError(OSError):
    """Every mirror failed; `attempts` holds one line per URL with the reason."""

    def __init__(self, file_name: str, attempts: list[str]) -> None:
        self.attempts = attempts
        lines = "\n".join(f"  - {attempt}" for attempt in attempts)
        super().__init__(f"Could not download {file_name} from any mirror:\n{lines}")

    def __str__(self) -> str:
        return str(self.args[0])


class ProgressReport(Protocol):
    """What `fetch_to_temp` reports to: bytes as they arrive, then the end."""

    done: int

    def update(self, count: int) -> None: ...

    def close(self) -> None: ...


class Progress:
    """A one-line progress report on a text stream (quiet when `stream` is None)."""

    def __init__(self, label: str, total: int | None, stream: TextIO | None) -> None:
        self.label, self.total, self.stream, self.done = label, total, stream, 0
        self._last_percent = -1

    def update(self, count: int) -> None:
        self.done += count
        if self.stream is None:
            return
        percent = int(100 * self.done / self.total) if self.total else -1
        if percent == self._last_percent and self.total:
            return
        self._last_percent = percent
        size = f"{self.done / 1e6:.1f}" + (f"/{self.total / 1e6:.1f}" if self.total else "")
        shown = f"{percent:3d}% " if self.total else ""
        self.stream.write(f"\r{self.label}: {shown}{size} MB")
        self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def _copy_response(response: BinaryIO, handle: BinaryIO, progress: ProgressReport) -> None:
    while chunk := response.read(CHUNK_SIZE):
        handle.write(chunk)
        progress.update(len(chunk))


def fetch_to_temp(url: str, folder: Path, timeout: float, stream: TextIO | None,
                  report: Callable[[int | None], ProgressReport] | None = None) -> Path:
    """Stream `url` into a new temporary file in `folder` and return its path.

    Progress goes to `report(total_bytes)` when given, else to a `Progress` line on `stream`.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    descriptor, temp_name = tempfile.mkstemp(dir=folder, prefix=".download-", suffix=".part")
    temp_path = Path(temp_name)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, os.fdopen(descriptor, "wb") as handle:
            length = response.headers.get("Content-Length")
            total = int(length) if length else None
            progress = report(total) if report else Progress(f"Downloading {url}", total, stream)
            _copy_response(response, handle, progress)
            progress.close()
            if length is not None and progress.done != int(length):
                raise OSError(f"connection closed after {progress.done} of {length} bytes")
    except BaseException:
        temp_path.unlink(missing_ok=True)
        raise
    return temp_path


def download(
    file_name: str,
    mirrors: Sequence[str],
    destination: Path,
    validate: Callable[[Path], None],
    *,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download `file_name` from the first mirror that serves a valid copy.

    Args:
        file_name: name appended to each mirror's base URL.
        mirrors: base URLs, tried in order.
        destination: final path; its folder is created.
        validate: raises (e.g. `IntegrityError`) when the downloaded temp file is not acceptable.
        progress: print a progress line on stderr.
        timeout: seconds to wait for each connection.

    Raises:
        DownloadError: no mirror gave a valid file; lists each URL and what went wrong.
    """
    destination.parent.mkdir(parents=True, exist_ok=True)
    attempts: list[str] = []
    for base in mirrors:
        url = base.rstrip("/") + "/" + file_name
        try:
            temp_path = fetch_to_temp(url, destination.parent, timeout, sys.stderr if progress else None)
        except (OSError, ValueError, http.client.HTTPException) as error:  # URLError is an OSError
            attempts.append(f"{url}: {error}")
            continue
        try:
            validate(temp_path)
        except ValueError as error:
            temp_path.unlink(missing_ok=True)
            attempts.append(f"{url}: refused: {error}".replace(str(temp_path), "the download"))
            continue
        publish(temp_path, destination)
        return destination
    raise DownloadError(file_name, attempts)
