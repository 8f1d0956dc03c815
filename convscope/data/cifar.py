"""CIFAR-10 from the official *binary* distribution (never the pickled one: no pickle is loaded).

Each batch file holds records of 3073 bytes: one label byte (0-9), then the 32x32 red, green and
blue planes. Five training batches of 10,000 records and one test batch of 10,000.

Integrity: the dataset's site publishes only the MD5 of the tarball ``cifar-10-binary.tar.gz``
(c32a1d4ab5d03f1284b67883e8d87530), not a hash of each batch file, and no per-file SHA-256
could be confirmed from an authoritative source. So the tarball's MD5 is checked before anything
is extracted, and the extraction writes a ``SHA256SUMS`` manifest of the batch files it produced;
later loads of that folder verify the batches against the manifest. Batch files a user provides
without a manifest are checked structurally (record length, label range) only.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np

from convscope._atomic import write_bytes_atomic
from convscope.data.integrity import IntegrityError, file_digest, sha256_hex

TARBALL = "cifar-10-binary.tar.gz"
TARBALL_MD5 = "c32a1d4ab5d03f1284b67883e8d87530"
BATCH_FOLDER = "cifar-10-batches-bin"
TRAIN_BATCHES = tuple(f"data_batch_{index}.bin" for index in range(1, 6))
TEST_BATCH = "test_batch.bin"
EXTRA_FILES = ("batches.meta.txt",)
MANIFEST = "SHA256SUMS"
RECORD_BYTES = 1 + 32 * 32 * 3


def parse_batch(data: bytes, source: Path | str = "<bytes>") -> tuple[np.ndarray, np.ndarray]:
    """Decode one CIFAR-10 binary batch.

    Returns:
        images (N, 32, 32, 3) uint8 channels-last, labels (N,) uint8.

    Raises:
        ValueError: the length is not a whole number of 3073-byte records, or a label is not 0-9.
    """
    if len(data) == 0 or len(data) % RECORD_BYTES:
        raise ValueError(
            f"{source}: a CIFAR-10 binary batch is a whole number of {RECORD_BYTES}-byte records "
            f"(10,000 in the official files); got {len(data)} bytes. The file is truncated or "
            "is not from cifar-10-binary.tar.gz (the python/pickle version is not supported)."
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].copy()
    if labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise ValueError(f"{source}: record {bad} has label {labels[bad]}; CIFAR-10 labels are 0-9. "
                         "Is this a CIFAR-100 file?")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # (N, 32, 32, 3)
    return np.ascontiguousarray(images), labels


def batch_folder(folder: Path) -> Path | None:
    """The folder holding the batch files: `folder/cifar-10-batches-bin/` or `folder` itself."""
    for candidate in (folder / BATCH_FOLDER, folder):
        if all((candidate / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH)):
            return candidate
    return None


def read_manifest(folder: Path) -> dict[str, str]:
    """File name -> SHA-256 from `folder/SHA256SUMS` (``<hex>  <name>`` lines); {} when absent."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return {}
    entries = (line.split() for line in manifest.read_text(encoding="utf-8").splitlines())
    return {parts[1]: parts[0].lower() for parts in entries if len(parts) == 2}


def read_batches(folder: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load the five training batches and the test batch from `folder`, checking the manifest."""
    manifest = read_manifest(folder)
    decoded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        path = folder / name
        data = path.read_bytes()
        if name in manifest and sha256_hex(data) != manifest[name]:
            raise IntegrityError(path, manifest[name], sha256_hex(data))
        decoded[name] = parse_batch(data, path)
    x_train = np.concatenate([decoded[name][0] for name in TRAIN_BATCHES])
    y_train = np.concatenate([decoded[name][1] for name in TRAIN_BATCHES])
    return (x_train, y_train), decoded[TEST_BATCH]


def verify_tarball(path: Path, expected_md5: str = TARBALL_MD5) -> None:
    """Raise `IntegrityError` when the tarball's MD5 is not the published one."""
    actual = file_digest(path, "md5")
    if actual != expected_md5:
        raise IntegrityError(path, expected_md5, actual, algorithm="md5",
                             hint=f"Download {TARBALL} again from https://www.cs.toronto.edu/~kriz/cifar.html.")


def extract_tarball(tarball: Path, destination: Path, expected_md5: str = TARBALL_MD5) -> Path:
    """Verify `tarball`, then write its batch files and a SHA256SUMS manifest into
    `destination/cifar-10-batches-bin/`. Each file goes to a temp name first, then is renamed.

    Returns the batch folder.
    """
    verify_tarball(tarball, expected_md5)
    target = destination / BATCH_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    wanted = {*TRAIN_BATCHES, TEST_BATCH, *EXTRA_FILES}
    hashes: dict[str, str] = {}
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            name = Path(member.name).name  # only the base name: no path from the archive is trusted
            if not member.isfile() or name not in wanted:
                continue
            handle = archive.extractfile(member)
            assert handle is not None  # regular files always have content
            content = handle.read()
            if name.endswith(".bin"):
                parse_batch(content, f"{tarball}:{member.name}")
                hashes[name] = sha256_hex(content)
            write_bytes_atomic(target / name, content)
    missing = sorted({*TRAIN_BATCHES, TEST_BATCH} - set(hashes))
    if missing:
        raise ValueError(f"{tarball}: archive lacks {', '.join(missing)}; expected the official {TARBALL}.")
    lines = "".join(f"{hashes[name]}  {name}\n" for name in sorted(hashes))
    write_bytes_atomic(target / MANIFEST, lines.encode())
    return target


def write_batch(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write images (N, 32, 32, 3) uint8 and labels (N,) as a CIFAR-10 binary batch (for fixtures)."""
    planes = np.asarray(images, dtype=np.uint8).transpose(0, 3, 1, 2).reshape(len(images), -1)
    records = np.concatenate([np.asarray(labels, dtype=np.uint8)[:, None], planes], axis=1)
    path.write_bytes(records.tobytes())
    return path
