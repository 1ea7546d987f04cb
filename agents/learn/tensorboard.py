"""TensorBoard event files without TensorBoard: scalars written in the tfevents record format, which `tensorboard
--logdir DIR` reads. No dependency: the two protobuf messages needed (Event, Summary) are encoded by hand.

Record format (tensorflow/core/lib/io/record_writer): uint64 length, uint32 masked CRC-32C of the length, the data,
uint32 masked CRC-32C of the data; all little-endian.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

_CRC32C_POLY = 0x82F63B78


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _CRC32C_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of `data`."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    return _varint((number << 3) | wire_type) + payload


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _field(number, 2, _varint(len(payload)) + payload)


def scalar_event(tag: str, value: float, step: int, wall_time: float) -> bytes:
    """An Event{wall_time, step, summary{value{tag, simple_value}}} encoded as protobuf."""
    summary_value = _length_delimited(1, tag.encode()) + _field(2, 5, struct.pack("<f", value))
    summary = _length_delimited(1, summary_value)
    return _field(1, 1, struct.pack("<d", wall_time)) + _field(2, 0, _varint(step)) + _length_delimited(5, summary)


def file_version_event(wall_time: float) -> bytes:
    return _field(1, 1, struct.pack("<d", wall_time)) + _length_delimited(3, b"brain.Event:2")


def record(data: bytes) -> bytes:
    header = struct.pack("<Q", len(data))
    return header + struct.pack("<I", masked_crc(header)) + data + struct.pack("<I", masked_crc(data))


class ScalarWriter:
    """Appends scalars to a new events file in `folder` (one file per writer, as TensorBoard expects)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        now = time.time()
        self.path = self.folder / f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{os.getpid()}"
        self._file = open(self.path, "ab")
        self._file.write(record(file_version_event(now)))
        self._file.flush()

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self._file.write(record(scalar_event(tag, float(value), int(step), time.time())))

    def add_scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            self.add_scalar(tag, value, step)
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_scalars(path: str | os.PathLike) -> list[tuple[str, float, int]]:
    """(tag, value, step) of every scalar in an events file written by ScalarWriter (for tests and quick looks).

    Raises:
        ValueError: a record is damaged or cut short (the message names the file and the byte).
    """
    data = Path(path).read_bytes()
    out, end = read_records(data, name=str(path))
    if end != len(data):
        raise ValueError(f"{path}: the record at byte {end} is cut short")
    return out


def read_records(data: bytes, start: int = 0, *, name: str = "events") -> tuple[list[tuple[str, float, int]], int]:
    """The scalars (tag, value, step) of the whole records in `data` from byte `start`, and where the first record
    not wholly there begins: a file a writer is still appending to is read up to its last whole record, and the
    next read starts there.

    Raises:
        ValueError: a record's checksum is wrong (`name` and the byte are in the message).
    """
    out, at = [], start
    while at + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, at)
        if struct.unpack_from("<I", data, at + 8)[0] != masked_crc(data[at:at + 8]):
            raise ValueError(f"{name}: bad length checksum at byte {at}")
        if at + 16 + length > len(data):
            break
        payload = data[at + 12:at + 12 + length]
        if struct.unpack_from("<I", data, at + 12 + length)[0] != masked_crc(payload):
            raise ValueError(f"{name}: bad data checksum at byte {at}")
        at += 16 + length
        event = _parse(payload)
        if 5 in event:
            summary = _parse(event[5])
            value = _parse(summary[1])
            out.append((value[1].decode(), struct.unpack("<f", value[2])[0], event.get(2, 0)))
    return out, at


def _parse(message: bytes) -> dict[int, object]:
    """A protobuf message's fields by number (last one wins; enough for the messages above)."""
    fields: dict[int, object] = {}
    at = 0
    while at < len(message):
        key, at = _read_varint(message, at)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            fields[number], at = _read_varint(message, at)
        elif wire_type == 1:
            fields[number], at = message[at:at + 8], at + 8
        elif wire_type == 5:
            fields[number], at = message[at:at + 4], at + 4
        elif wire_type == 2:
            length, at = _read_varint(message, at)
            fields[number], at = message[at:at + length], at + length
        else:
            raise ValueError(f"unsupported protobuf wire type {wire_type}")
    return fields


def _read_varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


__all__ = ["ScalarWriter", "crc32c", "read_records", "read_scalars", "scalar_event"]
