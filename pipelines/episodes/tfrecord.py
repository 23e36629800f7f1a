"""TFRecord files and ``tf.train.Example`` messages without TensorFlow.

A TFRecord file is a sequence of records: ``uint64 length``, ``uint32 masked crc32c(length)``,
``data``, ``uint32 masked crc32c(data)`` (little endian). ``data`` is a serialized
``tf.train.Example``: ``Example{features=1: Features{feature=1: map<string, Feature>}}`` with
``Feature`` one of ``bytes_list=1``, ``float_list=2``, ``int64_list=3``, each a ``repeated value=1``.
Both directions are implemented on the protobuf wire format, so RLDS data reads without ``tensorflow``.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterator

import google_crc32c
import numpy as np


class TFRecordError(ValueError):
    """A record is truncated or fails its checksum."""


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, by Google's C library (hardware-accelerated where it can be)."""
    return google_crc32c.value(bytes(data))


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def iter_records(path: str | Path, verify: bool = True) -> Iterator[bytes]:
    """Yield the payload of every record; raise :class:`TFRecordError` naming the record on corruption."""
    with open(path, "rb") as fh:
        index = 0
        while True:
            header = fh.read(12)
            if not header:
                return
            if len(header) < 12:
                raise TFRecordError(f"{path}: record {index}: truncated header")
            (length,) = struct.unpack("<Q", header[:8])
            (length_crc,) = struct.unpack("<I", header[8:])
            if verify and masked_crc(header[:8]) != length_crc:
                raise TFRecordError(f"{path}: record {index}: length checksum mismatch")
            data = fh.read(length)
            footer = fh.read(4)
            if len(data) < length or len(footer) < 4:
                raise TFRecordError(f"{path}: record {index}: truncated data ({len(data)} of {length} bytes)")
            if verify and masked_crc(data) != struct.unpack("<I", footer)[0]:
                raise TFRecordError(f"{path}: record {index}: data checksum mismatch")
            yield data
            index += 1


def write_records(path: str | Path, payloads: list[bytes]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        for data in payloads:
            length = struct.pack("<Q", len(data))
            fh.write(length + struct.pack("<I", masked_crc(length)) + data + struct.pack("<I", masked_crc(data)))
    return path


# --- protobuf wire format -------------------------------------------------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise TFRecordError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise TFRecordError("varint too long")


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of a message; value is int or bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            if pos + n > len(buf):
                raise TFRecordError("truncated length-delimited field")
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise TFRecordError(f"unsupported wire type {wire}")
        yield number, wire, value


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _feature(buf: bytes) -> tuple[str, list | np.ndarray]:
    for number, _, value in _fields(buf):
        if number == 1:  # bytes_list
            return "bytes", [v for n, w, v in _fields(value) if n == 1]
        if number == 2:  # float_list, packed or not
            out: list[float] = []
            for n, w, v in _fields(value):
                if w == 2:
                    out.extend(np.frombuffer(v, dtype="<f4").tolist())
                elif w == 5:
                    out.append(struct.unpack("<f", v)[0])
            return "float", np.asarray(out, dtype=np.float32)
        if number == 3:  # int64_list, packed or not
            ints: list[int] = []
            for n, w, v in _fields(value):
                if w == 2:
                    pos = 0
                    while pos < len(v):
                        x, pos = _varint(v, pos)
                        ints.append(_signed64(x))
                elif w == 0:
                    ints.append(_signed64(v))
            return "int", np.asarray(ints, dtype=np.int64)
    return "empty", []


def parse_example(data: bytes) -> dict[str, tuple[str, list | np.ndarray]]:
    """A serialized ``tf.train.Example`` as ``{name: (kind, values)}``, kind in bytes/float/int."""
    out: dict[str, tuple[str, list | np.ndarray]] = {}
    for number, _, features in _fields(data):
        if number != 1:
            continue
        for n, _, entry in _fields(features):
            if n != 1:
                continue
            key, value = None, b""
            for en, _, ev in _fields(entry):
                if en == 1:
                    key = ev.decode("utf-8")
                elif en == 2:
                    value = ev
            if key is None:
                raise TFRecordError("feature map entry without a key")
            out[key] = _feature(value)
    return out


def _enc_varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _ld(number: int, payload: bytes) -> bytes:
    return _enc_varint((number << 3) | 2) + _enc_varint(len(payload)) + payload


def encode_example(features: dict[str, list | np.ndarray | bytes]) -> bytes:
    """Serialize ``{name: values}`` as a ``tf.train.Example``.

    ``list[bytes]`` -> bytes_list, float arrays -> float_list, integer/bool arrays -> int64_list.
    Keys are written in sorted order so the bytes are deterministic.
    """
    entries = b""
    for key in sorted(features):
        values = features[key]
        if isinstance(values, (list, tuple)) and values and isinstance(values[0], (bytes, bytearray)):
            inner = b"".join(_ld(1, bytes(v)) for v in values)
            feature = _ld(1, inner)
        else:
            arr = np.asarray(values).reshape(-1)
            if arr.dtype.kind == "f":
                feature = _ld(2, _ld(1, arr.astype("<f4").tobytes()))
            else:
                feature = _ld(3, _ld(1, b"".join(_enc_varint(int(x)) for x in arr)))
        entries += _ld(1, _ld(1, key.encode("utf-8")) + _ld(2, feature))
    return _ld(1, entries)
