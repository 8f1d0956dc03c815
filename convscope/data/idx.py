"""Reading IDX files (the MNIST and Fashion-MNIST format), raw or gzip-compressed.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order. The header is validated
against the payload before any array is built, so a truncated or foreign file fails with a
message instead of a garbled array.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from convscope.data.integrity import IntegrityError, verify_bytes

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> big-endian NumPy dtype.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class CorruptArchiveError(IntegrityError):
    """A compressed file that cannot be decompressed (truncated download, damaged bytes)."""

    def __init__(self, path: Path | str, expected: str, reason: str) -> None:
        self.reason = reason
        ValueError.__init__(
            self,
            f"{path}: cannot be decompressed ({reason}), so its content cannot match the "
            f"expected SHA-256 {expected}. The file is truncated or corrupted.\n"
            "Delete it and load again (or copy an intact file there).",
        )
        self.path, self.expected, self.actual, self.algorithm = Path(path), expected, "", "sha256"


def read_content(path: Path, expected_sha256: str | None = None) -> bytes:
    """The decompressed bytes of `path` (gzip detected by its magic bytes, not its name).

    Raises:
        CorruptArchiveError: the gzip stream is truncated or damaged.
        IntegrityError: the decompressed content does not have `expected_sha256`.
    """
    data = Path(path).read_bytes()
    if data[:2] == GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as error:
            raise CorruptArchiveError(path, expected_sha256 or "(none recorded)", str(error)) from error
    verify_bytes(data, expected_sha256, path)
    return data


def parse_idx(data: bytes, source: Path | str = "<bytes>") -> np.ndarray:
    """Build an array from the bytes of an IDX file.

    Args:
        data: the whole (decompressed) file.
        source: the file the bytes came from, named in errors.

    Returns:
        A writable array of the header's shape, in native byte order
        (e.g. (60000, 28, 28) uint8 for MNIST training images, (60000,) for its labels).

    Raises:
        ValueError: bad magic number, unknown type code, or a payload whose length does not
            match the dimensions in the header.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{source}: not an IDX file: the magic number must start with two zero bytes, got "
            f"{data[:4].hex() or 'an empty file'}. Expected an MNIST-style file such as "
            "train-images-idx3-ubyte(.gz)."
        )
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in IDX_DTYPES)
        raise ValueError(f"{source}: unknown IDX type code 0x{type_code:02X}; expected one of {known}.")
    if ndim == 0 or len(data) < 4 + 4 * ndim:
        raise ValueError(
            f"{source}: IDX header declares {ndim} dimensions but the file has only {len(data)} "
            "bytes; the header is missing or the file is truncated."
        )
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = IDX_DTYPES[type_code]
    offset = 4 + 4 * ndim
    expected_bytes = math.prod(shape) * dtype.itemsize  # exact: no int64 overflow on a forged header
    if len(data) - offset != expected_bytes:
        raise ValueError(
            f"{source}: IDX header declares shape {tuple(shape)} of {dtype.name} "
            f"({expected_bytes} payload bytes) but the payload has {len(data) - offset} bytes; "
            "the file is truncated or has trailing data. Replace it with an intact copy."
        )
    array = np.frombuffer(data, dtype=dtype, count=expected_bytes // dtype.itemsize, offset=offset)
    return array.reshape(shape).astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: Path | str, expected_sha256: str | None = None) -> np.ndarray:
    """Read an IDX file, raw or gzip-compressed, optionally checking its decompressed SHA-256.

    Example:
        >>> images = read_idx("mnist/train-images-idx3-ubyte.gz")  # (60000, 28, 28) uint8
    """
    path = Path(path)
    return parse_idx(read_content(path, expected_sha256), path)


def write_idx(path: Path | str, array: np.ndarray, compress: bool | None = None) -> Path:
    """Write `array` as an IDX file (gzip when `compress`, or when the name ends in .gz).

    Used to build small fixtures and to export arrays to tools that read MNIST files.
    """
    path = Path(path)
    codes = {dtype: code for code, dtype in IDX_DTYPES.items()}
    big_endian = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if big_endian not in codes:
        raise ValueError(f"write_idx: dtype {array.dtype} has no IDX type code; use uint8, "
                         "int8, int16, int32, float32 or float64.")
    header = bytes([0, 0, codes[big_endian], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    content = header + np.ascontiguousarray(array, dtype=big_endian).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        content = gzip.compress(content, compresslevel=6, mtime=0)
    path.write_bytes(content)
    return path
