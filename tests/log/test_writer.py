import errno
import os
from pathlib import Path
from unittest import mock

import pytest

from trackway.log.consumers import store_offset
from trackway.log.errors import LogClosedError, LogWriteError
from trackway.log.frame import encode_frame
from trackway.log.reader import read_entries
from trackway.log.segments import list_segments
from trackway.log.writer import LogWriter


def append(writer: LogWriter, *payloads: bytes) -> int:
    start = writer.write(b"".join(encode_frame(p) for p in payloads))
    writer.sync()
    return start


def read_all(directory: Path) -> list[bytes]:
    payloads: list[bytes] = []
    offset = 0
    while entries := read_entries(directory, offset):
        payloads.extend(e.record_payload for e in entries)
        offset = entries[-1].next_offset
    return payloads


def test_append_reopen_read_back(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path)
    assert append(writer, b"a", b"bb") == 0
    assert append(writer, b"ccc") == 2 * 8 + 3
    writer.close()

    reopened = LogWriter(tmp_path)
    assert reopened.end_offset == 3 * 8 + 6
    assert append(reopened, b"d") == 3 * 8 + 6
    reopened.close()
    assert read_all(tmp_path) == [b"a", b"bb", b"ccc", b"d"]


def test_segments_roll_between_batches_and_are_named_by_offset(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path, segment_bytes=40)
    append(writer, b"x" * 10)  # 18 bytes
    append(writer, b"x" * 10)  # 36 bytes: still fits
    append(writer, b"x" * 10, b"y" * 30)  # would pass 40: a new segment, not split
    append(writer, b"z" * 50)  # larger than a segment on its own: a segment of its own
    writer.close()

    segments = list_segments(tmp_path)
    assert [s.base for s in segments] == [0, 36, 92]
    assert [s.path.name for s in segments][1] == "00000000000000000036.wal"
    assert [s.path.stat().st_size for s in segments] == [36, 56, 58]
    assert read_all(tmp_path) == [b"x" * 10] * 3 + [b"y" * 30, b"z" * 50]


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param(encode_frame(b"unacknowledged")[:11], id="partial frame"),
        pytest.param(b"\0" * 4096, id="zeroed blocks"),
        pytest.param(encode_frame(b"x")[:-1] + b"?" + encode_frame(b"later"), id="bad crc"),
    ],
)
def test_a_torn_tail_is_cut_on_reopen(tmp_path: Path, tail: bytes) -> None:
    writer = LogWriter(tmp_path, segment_bytes=64)
    append(writer, b"a" * 40)
    append(writer, b"b" * 10)
    writer.close()
    last = list_segments(tmp_path)[-1].path
    with last.open("ab") as file:
        file.write(tail)

    reopened = LogWriter(tmp_path, segment_bytes=64)
    assert reopened.end_offset == 48 + 18
    assert last.stat().st_size == 18
    append(reopened, b"after")
    reopened.close()
    assert read_all(tmp_path) == [b"a" * 40, b"b" * 10, b"after"]


def test_a_failed_write_is_undone_and_the_writer_carries_on(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path)
    append(writer, b"kept")
    real_write = os.write

    def half_then_full(fd: int, data: memoryview) -> int:
        if len(data) > 20:
            return real_write(fd, data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    with mock.patch.object(os, "write", half_then_full), pytest.raises(OSError):
        writer.write(encode_frame(b"y" * 30))
    append(writer, b"next")
    writer.close()
    assert read_all(tmp_path) == [b"kept", b"next"]


def test_a_failed_sync_poisons_the_writer_until_reopened(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path)
    writer.write(encode_frame(b"unsure"))
    failing_sync = mock.patch(
        "trackway.log.writer.sync_data", side_effect=OSError(errno.EIO, "EIO")
    )
    with failing_sync, pytest.raises(OSError):
        writer.sync()
    with pytest.raises(LogWriteError, match="reopen"):
        writer.write(encode_frame(b"more"))
    writer.close()

    reopened = LogWriter(tmp_path)
    append(reopened, b"fresh")
    reopened.close()
    assert read_all(tmp_path)[-1] == b"fresh"


def test_new_records_start_beyond_every_committed_offset(tmp_path: Path) -> None:
    # A consumer read (and committed) bytes that a machine crash then took away.
    writer = LogWriter(tmp_path)
    append(writer, b"a")
    writer.close()
    store_offset(tmp_path, "storage", 1000)

    reopened = LogWriter(tmp_path)
    assert append(reopened, b"b") == 1000
    reopened.close()
    assert read_entries(tmp_path, 1000)[0].record_payload == b"b"
    assert read_all(tmp_path) == [b"a", b"b"]


def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    writer = LogWriter(tmp_path)
    writer.close()
    writer.close()
    with pytest.raises(LogClosedError):
        writer.write(b"x")
