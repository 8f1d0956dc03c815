"""Where dataset files are looked for, in order, and the error listing every place looked.

Order: an explicit ``path`` -> ``$CONVSCOPE_DATA_DIR/<name>/`` -> the user cache
(``$CONVSCOPE_CACHE_DIR`` or ``~/.cache/convscope``, then ``<name>/``) -> folders where system
packages install datasets -> download from the dataset's mirrors into the cache.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from convscope.data.registry import DatasetSpec


@dataclass(frozen=True)
class Location:
    """A folder that may hold a dataset, and why it is searched (shown in errors)."""

    label: str
    folder: Path

    def __str__(self) -> str:
        return f"{self.label}: {self.folder}"


def cache_dir() -> Path:
    """The user cache: ``$CONVSCOPE_CACHE_DIR`` when set, else ``~/.cache/convscope``."""
    configured = os.environ.get("CONVSCOPE_CACHE_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "convscope"


def dataset_cache_dir(name: str) -> Path:
    """The cache folder of one dataset (created on demand by the downloader)."""
    return cache_dir() / name


def search_locations(spec: DatasetSpec, path: str | os.PathLike[str] | None) -> list[Location]:
    """Every folder searched for `spec`'s files, in order."""
    locations: list[Location] = []
    if path is not None:
        locations.append(Location("path argument", Path(path).expanduser()))
    data_dir = os.environ.get("CONVSCOPE_DATA_DIR")
    if data_dir:
        for folder in spec.folder_names:
            locations.append(Location("CONVSCOPE_DATA_DIR", Path(data_dir).expanduser() / folder))
    locations.append(Location("user cache", cache_dir() / spec.name))
    for folder in spec.system_dirs:
        locations.append(Location("system location", Path(folder)))
    return locations


def find_file(folder: Path, raw_name: str) -> Path | None:
    """`folder/raw_name.gz` or `folder/raw_name`, whichever exists first; else None."""
    for candidate in (folder / f"{raw_name}.gz", folder / raw_name):
        if candidate.is_file():
            return candidate
    return None


class DatasetNotFoundError(FileNotFoundError):
    """No usable copy of a dataset: lists each place looked and how to provide the files."""

    def __init__(self, spec: DatasetSpec, looked: list[str], howto: str) -> None:
        self.looked = looked
        places = "\n".join(f"  - {entry}" for entry in looked)
        super().__init__(
            f"Dataset {spec.name!r} not found. Looked in, in order:\n{places}\n{howto}"
        )

    def __str__(self) -> str:  # FileNotFoundError would otherwise print its args tuple
        return str(self.args[0])


def howto_provide(spec: DatasetSpec, file_names: list[str]) -> str:
    """The fix printed with `DatasetNotFoundError`."""
    files = ", ".join(file_names)
    if spec.name == "cifar10":
        files += ", or its extracted cifar-10-batches-bin/ folder"
    lines = [
        f"To provide the files ({files}), do one of:",
        f"  - pass path='/folder/with/the/files' to load({spec.name!r}, ...);",
        f"  - put them in $CONVSCOPE_DATA_DIR/{spec.name}/ (set CONVSCOPE_DATA_DIR to a folder);",
        f"  - copy them into the cache, {cache_dir() / spec.name}/;",
    ]
    if spec.name == "fashion_mnist":
        lines.append("  - on Debian or Ubuntu: sudo apt-get install dataset-fashion-mnist;")
    lines.append("  - or connect to the network and call load() with download=True.")
    return "\n".join(lines)
