"""Keras's `keras.utils.get_file`: download a file once into the Keras cache
(`$KERAS_HOME` or `~/.keras`, folder `datasets`), check its hash, extract tar and zip archives.

>>> folder = get_file(origin="https://example.org/flower_photos.tgz", extract=True)

A download is written to a temporary file and enters the cache only once it is complete and
its hash (when given) matches. Archive members that would land outside the extraction folder
(absolute paths, "..", links pointing out) are skipped with a warning, as Keras does.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import urllib.parse
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from convscope.data.download import DownloadError, fetch_to_temp, publish
from convscope.data.integrity import IntegrityError, file_digest
from convscope.data.progbar import Progbar


def keras_home() -> str:
    """`$KERAS_HOME`, else `~/.keras` (`/tmp/.keras` when the home folder is not writable)."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.expanduser("~")
    return os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")


def resolve_algorithm(algorithm: str, file_hash: str) -> str:
    """Keras's choice: "sha256" when asked or when "auto" meets a 64-digit hash, else "md5"."""
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"get_file: `hash_algorithm` must be 'auto', 'sha256' or 'md5'; got {algorithm!r}.")
    return "sha256" if algorithm == "sha256" or (algorithm == "auto" and len(file_hash) == 64) else "md5"


def _inside(folder: str, member: str) -> bool:
    path = os.path.realpath(os.path.join(folder, member))
    return os.path.commonpath([path, folder]) == folder


def _safe_tar_members(archive: tarfile.TarFile, folder: str) -> Iterator[tarfile.TarInfo]:
    for member in archive:
        target = member.linkname if member.islnk() else \
            os.path.join(os.path.dirname(member.name), member.linkname) if member.issym() else member.name
        if _inside(folder, member.name) and _inside(folder, target):
            yield member
        else:
            warnings.warn(f"Skipping invalid path during archive extraction: '{member.name}'.", stacklevel=3)


def _safe_zip_members(archive: zipfile.ZipFile, folder: str) -> Iterator[zipfile.ZipInfo]:
    for member in archive.infolist():
        if _inside(folder, member.filename):
            yield member
        else:
            warnings.warn(f"Skipping invalid path during archive extraction: '{member.filename}'.", stacklevel=3)


def extract_archive(file_path: str | os.PathLike[str], path: str | os.PathLike[str] = ".",
                    archive_format: str | Sequence[str] | None = "auto") -> bool:
    """Extract a tar (.tar, .tar.gz, .tar.bz2) or zip archive into `path`; False when the file
    is none of `archive_format` ("auto": tar then zip). Members escaping `path` are skipped."""
    formats = [] if archive_format is None else ["tar", "zip"] if archive_format == "auto" else \
        [archive_format] if isinstance(archive_format, str) else list(archive_format)
    folder = os.path.realpath(path)
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"get_file: `archive_format` must be 'auto', 'tar', 'zip', a list of them or None; "
                             f"got {archive_format!r}.")
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                _extract(lambda: archive.extractall(folder, members=_safe_tar_members(archive, folder),
                                                    filter="data"), folder)
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                _extract(lambda: archive.extractall(folder, members=_safe_zip_members(archive, folder)), folder)
            return True
    return False


def _extract(run: Any, folder: str) -> None:
    """Run an extraction; a broken archive leaves no half-extracted folder behind."""
    try:
        run()
    except (tarfile.TarError, zipfile.BadZipFile, RuntimeError, KeyboardInterrupt):
        if os.path.isfile(folder):
            os.remove(folder)
        elif os.path.exists(folder):
            shutil.rmtree(folder)
        raise


class _DownloadBar:
    """Bytes received shown on a Keras `Progbar`, as Keras's own download does."""

    def __init__(self, total: int | None) -> None:
        self.done, self.bar, self.finished = 0, Progbar(total), False

    def update(self, count: int) -> None:
        self.done += count
        target = self.bar.target
        if target is None or self.done < target:
            self.bar.update(self.done)
        elif not self.finished:
            self.bar.update(target)
            self.finished = True

    def close(self) -> None:
        """Nothing to do: the bar ends itself when it reaches the file's size."""


def _cache_folder(cache_dir: str | os.PathLike[str] | None, cache_subdir: str) -> str:
    base = os.path.expanduser(os.fspath(cache_dir) if cache_dir is not None else keras_home())
    try:
        os.makedirs(base, exist_ok=True)
    except OSError:
        pass
    if not os.access(base, os.W_OK):  # as Keras: a read-only cache falls back to a temporary one
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")
    folder = os.path.join(base, cache_subdir)
    os.makedirs(folder, exist_ok=True)
    return folder


def _targets(fname: str | os.PathLike[str] | None, origin: str, folder: str,
             extract: bool) -> tuple[str, str | None]:
    """Where the download goes and, when extracting, the folder it is extracted into (Keras's names)."""
    name = os.fspath(fname) if fname else ""
    if not name:
        name = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not name:
            raise ValueError(f"get_file: cannot take a file name from the origin {origin!r}; pass `fname`.")
    elif os.sep in name:
        raise ValueError(f"get_file: `fname` must be a file name, not a path; got fname={name!r}. Give the "
                         "folder as `cache_dir`.")
    if not extract:
        return os.path.join(folder, name), None
    if fname and "." in name:  # "data.tar.gz" -> data.tar.gz, extracted into data_extracted/
        return os.path.join(folder, name), os.path.join(folder, name[:name.find(".")] + "_extracted")
    return os.path.join(folder, f"{name}_archive"), os.path.join(folder, name)


def _download(origin: str, target: str, file_hash: str | None, algorithm: str) -> None:
    """Fetch `origin` into a temporary file, check its hash, then move it to `target`."""
    print(f"Downloading data from {origin}", flush=True)
    folder = Path(target).parent
    try:
        temp_path = fetch_to_temp(origin, folder, timeout=60.0, stream=None, report=_DownloadBar)
    except (OSError, ValueError) as error:
        raise DownloadError(os.path.basename(target), [f"{origin}: {error}"]) from error
    if file_hash is not None:
        actual = file_digest(Path(temp_path), algorithm)
        if actual != file_hash:
            temp_path.unlink(missing_ok=True)
            raise IntegrityError(origin, file_hash, actual, algorithm,
                                 hint="The file is incomplete or corrupted, or `file_hash` is not its hash.")
    publish(temp_path, Path(target))


def get_file(fname: str | os.PathLike[str] | None = None, origin: str | None = None, untar: bool = False,
             md5_hash: str | None = None, file_hash: str | None = None, cache_subdir: str = "datasets",
             hash_algorithm: str = "auto", extract: bool = False, archive_format: str | Sequence[str] | None = "auto",
             cache_dir: str | os.PathLike[str] | None = None, force_download: bool = False) -> str:
    """Download `origin` into the cache unless it is already there, and return its path.

    Args:
        fname: the file's name in the cache (the URL's last part when None); with `extract`,
            a name without a dot names the extraction folder.
        origin: the URL (http, https, ftp or file).
        untar: Keras's older `extract` for tar archives.
        md5_hash: Keras's older `file_hash` for an MD5.
        file_hash: the expected SHA-256 or MD5 (hex) of the file.
        cache_subdir: the folder under the cache ("datasets"); an absolute path is used as is.
        hash_algorithm: "auto" (SHA-256 for a 64-digit hash, else MD5), "sha256" or "md5".
        extract: extract a tar or zip archive and return the folder it was extracted into.
        archive_format: "auto" (tar then zip), "tar", "zip", a list of them, or None.
        cache_dir: the cache (default `$KERAS_HOME`, else `~/.keras`).
        force_download: download again even when the file is cached.

    Returns:
        The path of the file, or of the extraction folder with `extract` or `untar`.

    Raises:
        ValueError: no `origin`, a path as `fname`, an unknown `hash_algorithm`.
        IntegrityError (a ValueError): the download's hash differs from `file_hash`; nothing
            enters the cache.
        DownloadError (an OSError): the URL could not be read.
    """
    if origin is None:
        raise ValueError("get_file: pass `origin`, the URL of the file to download.")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    algorithm = resolve_algorithm(hash_algorithm, file_hash or "")
    file_hash = file_hash.lower() if file_hash is not None else None
    target, extraction_folder = _targets(fname, origin, _cache_folder(cache_dir, cache_subdir), extract or untar)
    needed = force_download or not os.path.exists(target)
    if not needed and file_hash is not None and file_digest(Path(target), algorithm) != file_hash:
        print(f"A local file was found, but it seems to be incomplete or outdated because the {algorithm} file "
              f"hash does not match the original value of {file_hash} so we will re-download the data.")
        needed = True
    if needed:
        _download(origin, target, file_hash, algorithm)
    if extraction_folder is None:
        return target
    if not extract_archive(target, extraction_folder, "tar" if untar else archive_format):
        warnings.warn("Could not extract archive.", stacklevel=2)
    return extraction_folder
