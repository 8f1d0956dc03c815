"""TensorBoard event files, written without TensorFlow or the tensorboard package.

An event file is a sequence of records (TFRecord framing):
    uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
little-endian, where data is a serialized `tensorflow.Event` protocol buffer. The first event
carries file_version "brain.Event:2"; each later one a Summary of tagged values: a scalar
(`simple_value`) or a histogram (`HistogramProto`). Only the few protobuf fields needed are
encoded here, by hand (field numbers from tensorflow/core/util/event.proto and summary.proto).

    >>> with EventFileWriter("logs/train") as writer:
    ...     writer.add_scalar("epoch_loss", 0.42, step=0)
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path
from types import TracebackType

import numpy as np


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1  # Castagnoli, reflected
        table.append(crc)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: the crc32c rotated right by 15 bits plus a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord: length, its checksum, the data, its checksum."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


# -- protocol buffer encoding ------------------------------------------------------------------
def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64s are encoded as 10-byte two's complement
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _double(number: int, value: float) -> bytes:
    return _field(number, 1) + struct.pack("<d", value)


def _float(number: int, value: float) -> bytes:
    return _field(number, 5) + struct.pack("<f", value)


def _int(number: int, value: int) -> bytes:
    return _field(number, 0) + _varint(value)


def _bytes(number: int, value: bytes) -> bytes:
    return _field(number, 2) + _varint(len(value)) + value


def event(wall_time: float, step: int, *, file_version: str | None = None, summary: bytes | None = None) -> bytes:
    """A serialized Event: wall_time = 1, step = 2, file_version = 3, summary = 5."""
    data = _double(1, wall_time) + _int(2, step)
    if file_version is not None:
        data += _bytes(3, file_version.encode())
    if summary is not None:
        data += _bytes(5, summary)
    return data


def scalar_summary(tag: str, value: float) -> bytes:
    """A Summary with one Value: tag = 1, simple_value = 2."""
    return _bytes(1, _bytes(1, tag.encode()) + _float(2, float(value)))


def histogram_summary(tag: str, values: np.ndarray, buckets: int = 30) -> bytes:
    """A Summary with one Value whose histo (5) is a HistogramProto: min 1, max 2, num 3,
    sum 4, sum_squares 5, bucket_limit 6 and bucket 7 (packed doubles)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    values = values[np.isfinite(values)]
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    counts, edges = np.histogram(values, bins=buckets, range=(low, high if high > low else low + 1e-12))
    histogram = (_double(1, low) + _double(2, high) + _double(3, float(values.size)) + _double(4, float(values.sum()))
                 + _double(5, float(np.square(values).sum()))
                 + _bytes(6, struct.pack(f"<{len(edges) - 1}d", *edges[1:]))
                 + _bytes(7, struct.pack(f"<{len(counts)}d", *counts.astype(np.float64))))
    return _bytes(1, _bytes(1, tag.encode()) + _bytes(5, histogram))


class EventFileWriter:
    """Appends events to a new `events.out.tfevents.<time>.<host>.<pid>.<n>.v2` file in
    `directory` (made if missing), flushing after each event so TensorBoard sees it live."""

    _count = 0

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        EventFileWriter._count += 1
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{self._count}.v2"
        self.path = self.directory / name
        self.file = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self.write(event(time.time(), 0, file_version="brain.Event:2"))

    def write(self, data: bytes) -> None:
        self.file.write(record(data))
        self.file.flush()

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.write(event(time.time(), step, summary=scalar_summary(tag, value)))

    def add_histogram(self, tag: str, values: np.ndarray, step: int) -> None:
        self.write(event(time.time(), step, summary=histogram_summary(tag, values)))

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def __enter__(self) -> EventFileWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()
