"""One record on disk: an 8-byte header, then the payload.

The header is the payload length (u32, little-endian) and a CRC-32 over the length bytes and
the payload. Covering the length means a damaged length is caught like a damaged payload, and
a run of zero bytes (what some file systems show for a region written but never flushed) never
passes as an empty frame.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass

HEADER = struct.Struct("<II")
HEADER_SIZE = HEADER.size
_LENGTH = struct.Struct("<I")
# A length above this is garbage, not a reason to allocate gigabytes.
MAX_PAYLOAD_BYTES = 64 * 1024 * 1024


class Tail(enum.Enum):
    """What follows the last valid frame of a scanned buffer."""

    CLEAN = "clean"  # nothing: the buffer ends exactly after a frame
    INCOMPLETE = "incomplete"  # the start of a frame whose remaining bytes are not there
    CORRUPT = "corrupt"  # a bad length or a checksum mismatch


@dataclass(frozen=True, slots=True)
class ScanResult:
    frames: list[tuple[int, bytes]]  # (offset of the frame header, payload)
    valid_end: int  # offset just past the last valid frame
    tail: Tail

    @property
    def torn(self) -> bool:
        return self.tail is not Tail.CLEAN


def encode_frame(payload: bytes) -> bytes:
    length = len(payload)
    if length > MAX_PAYLOAD_BYTES:
        raise ValueError(f"Expected a payload of at most {MAX_PAYLOAD_BYTES} bytes, got {length}")
    length_bytes = _LENGTH.pack(length)
    crc = zlib.crc32(payload, zlib.crc32(length_bytes))
    return b"".join((length_bytes, _LENGTH.pack(crc), payload))


def frame_size_at(buf: bytes | memoryview, pos: int = 0) -> int | None:
    """The full size of the frame whose header starts at ``pos``, or None if the length is
    garbage or the header is not all there."""
    if len(buf) - pos < HEADER_SIZE:
        return None
    (length,) = _LENGTH.unpack_from(buf, pos)
    return HEADER_SIZE + length if length <= MAX_PAYLOAD_BYTES else None


def scan_frames(buf: bytes | memoryview, base_offset: int) -> ScanResult:
    """Every valid frame from the start of ``buf`` (whose first byte is at ``base_offset``),
    stopping at the first frame that is incomplete or corrupt."""
    view = memoryview(buf)
    end = len(view)
    frames: list[tuple[int, bytes]] = []
    pos = 0
    tail = Tail.CLEAN
    while pos < end:
        if end - pos < HEADER_SIZE:
            tail = Tail.INCOMPLETE
            break
        length, crc = HEADER.unpack_from(view, pos)
        if length > MAX_PAYLOAD_BYTES:
            tail = Tail.CORRUPT
            break
        stop = pos + HEADER_SIZE + length
        if stop > end:
            tail = Tail.INCOMPLETE
            break
        payload = view[pos + HEADER_SIZE : stop]
        if zlib.crc32(payload, zlib.crc32(view[pos : pos + 4])) != crc:
            tail = Tail.CORRUPT
            break
        frames.append((base_offset + pos, bytes(payload)))
        pos = stop
    return ScanResult(frames, base_offset + pos, tail)
