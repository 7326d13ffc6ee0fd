import struct
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackway.log.frame import (
    HEADER_SIZE,
    MAX_PAYLOAD_BYTES,
    Tail,
    encode_frame,
    frame_size_at,
    scan_frames,
)

payload_lists = st.lists(st.binary(max_size=300), min_size=1, max_size=8)


def test_round_trip_keeps_payloads_and_offsets() -> None:
    payloads = [b"first", b"", b"x" * 1000]
    buf = b"".join(encode_frame(p) for p in payloads)

    result = scan_frames(buf, base_offset=100)

    assert [p for _, p in result.frames] == payloads
    assert [o for o, _ in result.frames] == [100, 113, 121]
    assert result.valid_end == 100 + len(buf)
    assert result.tail is Tail.CLEAN
    assert not result.torn


def test_scan_accepts_a_memoryview() -> None:
    buf = encode_frame(b"abc") + encode_frame(b"de")
    assert scan_frames(memoryview(buf), 0).frames == [(0, b"abc"), (11, b"de")]


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        pytest.param(b"\0" * HEADER_SIZE, Tail.CORRUPT, id="zeros are not an empty frame"),
        pytest.param(b"\0\0\0", Tail.INCOMPLETE, id="partial header"),
        pytest.param(struct.pack("<II", 2**31, 0), Tail.CORRUPT, id="garbage length"),
        pytest.param(struct.pack("<II", 50, 0) + b"abc", Tail.INCOMPLETE, id="partial payload"),
    ],
)
def test_bad_tail_stops_the_scan(tail: bytes, expected: Tail) -> None:
    good = encode_frame(b"good")
    result = scan_frames(good + tail, 0)
    assert result.frames == [(0, b"good")]
    assert result.valid_end == len(good)
    assert result.tail is expected


def test_crc_covers_the_length() -> None:
    # A frame whose CRC covers only the payload would accept a shortened length.
    payload = b"abcdef"
    wrong_crc = zlib.crc32(payload[:3])
    forged = struct.pack("<II", 3, wrong_crc) + payload[:3]
    assert scan_frames(forged, 0).tail is Tail.CORRUPT


def test_oversized_payload_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        encode_frame(bytes(MAX_PAYLOAD_BYTES + 1))


def test_frame_size_at() -> None:
    assert frame_size_at(encode_frame(b"abc")) == HEADER_SIZE + 3
    assert frame_size_at(b"\1\0") is None
    assert frame_size_at(struct.pack("<II", MAX_PAYLOAD_BYTES + 1, 0)) is None


@given(payloads=payload_lists, data=st.data())
def test_truncation_anywhere_yields_the_intact_prefix(
    payloads: list[bytes], data: st.DataObject
) -> None:
    frames = [encode_frame(p) for p in payloads]
    buf = b"".join(frames)
    cut = data.draw(st.integers(0, len(buf)))

    result = scan_frames(buf[:cut], 0)

    ends = [sum(map(len, frames[: i + 1])) for i in range(len(frames))]
    intact = sum(1 for end in ends if end <= cut)
    assert [p for _, p in result.frames] == payloads[:intact]
    assert result.valid_end == (ends[intact - 1] if intact else 0)
    assert result.torn == (result.valid_end != cut)


@given(payloads=payload_lists, data=st.data())
def test_a_flipped_byte_in_the_last_frame_is_detected(
    payloads: list[bytes], data: st.DataObject
) -> None:
    frames = [encode_frame(p) for p in payloads]
    buf = bytearray(b"".join(frames))
    last_start = len(buf) - len(frames[-1])
    position = data.draw(st.integers(last_start, len(buf) - 1))
    buf[position] ^= data.draw(st.integers(1, 255))

    result = scan_frames(bytes(buf), 0)

    assert [p for _, p in result.frames] == payloads[:-1]
    assert result.valid_end == last_start
    assert result.torn
