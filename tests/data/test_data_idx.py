"""IDX reading: round trips, header validation, truncated and corrupted files, hash checks."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convscope.data.idx import CorruptArchiveError, parse_idx, read_idx, write_idx
from convscope.data.integrity import IntegrityError


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_keeps_values_shape_and_dtype(tmp_path: Path, dtype: type, suffix: str) -> None:
    array = (np.arange(2 * 3 * 4) - 7).astype(dtype).reshape(2, 3, 4)
    path = write_idx(tmp_path / f"values-idx3{suffix}", array)
    loaded = read_idx(path)
    assert loaded.shape == (2, 3, 4) and loaded.dtype == np.dtype(dtype).newbyteorder("=")
    np.testing.assert_array_equal(loaded, array)
    loaded[0, 0, 0] = 1  # arrays are writable, as Keras returns them


def test_gzip_is_detected_by_content_not_name(tmp_path: Path) -> None:
    array = np.arange(10, dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte"  # no .gz suffix, but gzip content
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + array.tobytes()))
    np.testing.assert_array_equal(read_idx(path), array)


def test_bad_magic_is_refused_with_the_file_named() -> None:
    with pytest.raises(ValueError, match=r"images\.bin: not an IDX file.*89504e47"):
        parse_idx(b"\x89PNG\r\n\x1a\n....", "images.bin")


def test_unknown_type_code_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown IDX type code 0x07"):
        parse_idx(bytes([0, 0, 7, 1, 0, 0, 0, 1, 5]), "f")


def test_header_shorter_than_its_dimensions_is_refused() -> None:
    with pytest.raises(ValueError, match="declares 3 dimensions but the file has only 8 bytes"):
        parse_idx(bytes([0, 0, 8, 3, 0, 0, 0, 1]), "f")


@pytest.mark.parametrize("extra, got", [(-1, 11), (1, 13)])
def test_payload_length_must_match_the_header(extra: int, got: int) -> None:
    header = bytes([0, 0, 8, 2]) + struct.pack(">II", 3, 4)
    data = header + bytes(12 + extra)
    with pytest.raises(ValueError, match=rf"shape \(3, 4\) of uint8 \(12 payload bytes\) but the payload has {got} bytes"):
        parse_idx(data, "f")


def test_truncated_gzip_is_refused_with_path_and_expected_hash(tmp_path: Path) -> None:
    good = write_idx(tmp_path / "x.gz", np.zeros((50, 8, 8), np.uint8) + 3)
    broken = tmp_path / "broken.gz"
    broken.write_bytes(good.read_bytes()[:-20])
    with pytest.raises(CorruptArchiveError) as caught:
        read_idx(broken, "ab" * 32)
    message = str(caught.value)
    assert str(broken) in message and "ab" * 32 in message and "cannot be decompressed" in message


def test_corrupted_gzip_bytes_are_refused(tmp_path: Path) -> None:
    good = write_idx(tmp_path / "x.gz", np.arange(4000, dtype=np.int32))
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken = tmp_path / "flipped.gz"
    broken.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="flipped.gz"):
        read_idx(broken)


def test_wrong_content_reports_expected_and_actual_sha256(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x.gz", np.ones((2, 2), np.uint8))
    actual = hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
    expected = "0" * 64
    with pytest.raises(IntegrityError) as caught:
        read_idx(path, expected)
    assert caught.value.expected == expected and caught.value.actual == actual
    assert f"expected {expected}, got {actual}" in str(caught.value) and str(path) in str(caught.value)
    assert read_idx(path, actual).sum() == 4  # the right hash is accepted


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_give_an_array_or_a_value_error(data: bytes) -> None:
    try:
        array = parse_idx(data, "random")
    except ValueError as error:
        assert str(error).startswith("random: ")
    else:  # only a self-consistent header and payload get here
        assert data[:2] == b"\0\0" and array.size * array.dtype.itemsize == len(data) - 4 - 4 * data[3]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 255), min_size=1, max_size=40), st.integers(1, 3))
def test_round_trip_property(values: list[int], rows: int) -> None:
    array = np.array(values * rows, dtype=np.uint8).reshape(rows, len(values))
    header_and_payload = bytes([0, 0, 8, 2]) + struct.pack(">II", *array.shape) + array.tobytes()
    np.testing.assert_array_equal(parse_idx(header_and_payload), array)
