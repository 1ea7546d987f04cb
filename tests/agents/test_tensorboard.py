"""The dependency-free TensorBoard writer: CRC-32C, the record framing, scalars read back."""

import struct

import pytest

from agents.learn.tensorboard import ScalarWriter, crc32c, read_scalars


def test_crc32c_matches_the_standard_check_value():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C catalogue's check value
    assert crc32c(b"") == 0


def test_scalars_are_read_back_with_their_steps(tmp_path):
    writer = ScalarWriter(tmp_path)
    writer.add_scalars({"train/score": 3.5, "train/loss": -0.25}, step=10)
    writer.add_scalars({"train/score": 4.0}, step=20)
    writer.close()
    assert writer.path.name.startswith("events.out.tfevents.")
    assert read_scalars(writer.path) == [("train/score", 3.5, 10), ("train/loss", -0.25, 10),
                                         ("train/score", 4.0, 20)]


def test_a_damaged_record_is_detected(tmp_path):
    writer = ScalarWriter(tmp_path)
    writer.add_scalars({"x": 1.0}, step=1)
    writer.close()
    data = bytearray(writer.path.read_bytes())
    data[-6] ^= 0xFF  # inside the last record's data
    writer.path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="bad data checksum"):
        read_scalars(writer.path)
    assert struct.unpack_from("<Q", data, 0)[0] > 0
