"""Single-file datasets Keras downloads (`boston_housing.npz`, `imdb.npz`, the word indexes...):
found locally, or downloaded from Keras's URL, checked against Keras's hash, then used.

Where a file is looked for follows `convscope.data.sources`: a `path` naming an existing file or a
folder holding it -> ``$CONVSCOPE_DATA_DIR/<dataset>/`` -> the user cache
(``~/.cache/convscope/<dataset>/``) -> download into the cache. A `path` with a folder part that
does not exist yet is where the download goes, as Keras's ``path=`` does. A local copy whose hash
differs is refused (never silently replaced); a download whose hash differs never enters the cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from convscope.data.download import DownloadError
from convscope.data.download import download as fetch_file
from convscope.data.integrity import IntegrityError, file_digest
from convscope.data.registry import DatasetSpec
from convscope.data.sources import DatasetNotFoundError, dataset_cache_dir, search_locations

KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its default name, where Keras downloads it from, and Keras's hash."""

    dataset: str
    name: str
    base_url: str
    digest: str
    algorithm: str = "sha256"

    @property
    def spec(self) -> DatasetSpec:
        return DatasetSpec(self.dataset, "file", (), ())


# Keras 3's URLs and hashes (keras/src/datasets/*.py).
REMOTE_FILES = {
    remote.name: remote for remote in (
        RemoteFile("boston_housing", "boston_housing.npz", KERAS_DATASETS_URL,
                   "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"),
        RemoteFile("california_housing", "california_housing.npz", KERAS_DATASETS_URL,
                   "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"),
        RemoteFile("imdb", "imdb.npz", KERAS_DATASETS_URL,
                   "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"),
        RemoteFile("imdb", "imdb_word_index.json", KERAS_DATASETS_URL, "bfafd718b763782e994055a2d397834f", "md5"),
        RemoteFile("reuters", "reuters.npz", KERAS_DATASETS_URL,
                   "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"),
        RemoteFile("reuters", "reuters_word_index.json", KERAS_DATASETS_URL,
                   "4d44cc38712099c9e383dc6e5f11a921", "md5"),
    )
}


def verify(remote: RemoteFile, path: Path) -> None:
    """Raise `IntegrityError` when `path`'s hash is not Keras's hash of `remote`."""
    actual = file_digest(path, remote.algorithm)
    if actual != remote.digest:
        raise IntegrityError(path, remote.digest, actual, algorithm=remote.algorithm,
                             hint=f"Delete it and load again to download {remote.base_url}{remote.name}, "
                                  "or replace it with an intact copy.")


def _candidates(remote: RemoteFile, path: str | os.PathLike[str] | None) -> tuple[list[Path], Path, str]:
    """Files to try in order, where a download goes, and the file name asked for."""
    given = Path(path).expanduser() if path is not None else Path(remote.name)
    if given.is_dir():
        return [given / remote.name], dataset_cache_dir(remote.dataset) / remote.name, remote.name
    if given.is_absolute() or given.parent != Path("."):  # a file location, as Keras's path= is
        return [given], given, given.name
    spec = remote.spec
    folders = [location.folder for location in search_locations(spec, None)]
    return [folder / given.name for folder in folders], dataset_cache_dir(remote.dataset) / given.name, given.name


def resolve(remote: RemoteFile, path: str | os.PathLike[str] | None = None, *, download: bool = True,
            progress: bool = True, base_url: str | None = None) -> Path:
    """The verified local copy of `remote`, downloading it into the cache when none is found.

    Args:
        remote: the file (see `REMOTE_FILES`).
        path: a file, a folder holding ``remote.name``, or a file name looked for in the usual
            folders (Keras's ``path=``); None for ``remote.name``.
        download: fetch the file when no local copy exists.
        progress: print download progress on stderr.
        base_url: download from this folder URL instead of Keras's.

    Raises:
        IntegrityError: the local copy or the download has another hash than Keras's.
        DatasetNotFoundError: no local copy and no download possible; lists every place looked.
    """
    candidates, destination, file_name = _candidates(remote, path)
    for candidate in candidates:
        if candidate.is_file():
            verify(remote, candidate)
            return candidate
    looked = [f"{candidate} (no such file)" for candidate in candidates]
    howto = (f"Put {file_name} in one of these places, pass path='/folder/or/{file_name}', or connect to the "
             f"network and load with download=True (it comes from {remote.base_url}{remote.name}).")
    if not download:
        raise DatasetNotFoundError(remote.spec, [*looked, "download: skipped (download=False)"], howto)
    try:
        return fetch_file(remote.name, [base_url or remote.base_url], destination,
                          lambda temp: verify(remote, temp), progress=progress)
    except DownloadError as error:
        looked.extend(f"download {attempt}" for attempt in error.attempts)
        raise DatasetNotFoundError(remote.spec, looked, howto) from error
