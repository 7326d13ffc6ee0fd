from pathlib import Path

import pytest

from trackway.log.directories import claim_writer_dir
from trackway.log.errors import LogCorruptionError
from trackway.log.frame import encode_frame
from trackway.log.reader import LogReader, read_entries, replay
from trackway.log.segments import list_segments
from trackway.log.writer import LogWriter


def fill(directory: Path, payloads: list[bytes], segment_bytes: int = 1 << 20) -> None:
    writer = LogWriter(directory, segment_bytes)
    for payload in payloads:
        writer.write(encode_frame(payload))
        writer.sync()
    writer.close()


def test_entries_chain_by_offset(tmp_path: Path) -> None:
    fill(tmp_path, [b"a", b"bb"])
    first, second = LogReader(tmp_path, "storage").read(0)
    assert (first.offset, first.next_offset, first.record_payload) == (0, 9, b"a")
    assert (second.offset, second.next_offset, second.record_payload) == (9, 19, b"bb")
    assert read_entries(tmp_path, 19) == []


def test_max_bytes_bounds_a_read_but_a_big_frame_still_comes_whole(tmp_path: Path) -> None:
    fill(tmp_path, [b"x" * 100, b"y", b"z"])
    assert [e.record_payload for e in read_entries(tmp_path, 0, max_bytes=10)] == [b"x" * 100]
    assert [e.record_payload for e in read_entries(tmp_path, 108, max_bytes=20)] == [b"y", b"z"]
    assert len(read_entries(tmp_path, 108, max_bytes=12)) == 1


def test_reads_continue_across_segments(tmp_path: Path) -> None:
    fill(tmp_path, [bytes([i]) * 20 for i in range(5)], segment_bytes=60)
    assert len(list_segments(tmp_path)) == 3
    seen: list[int] = []
    offset = 0
    while entries := read_entries(tmp_path, offset):
        seen.extend(e.record_payload[0] for e in entries)
        offset = entries[-1].next_offset
    assert seen == [0, 1, 2, 3, 4]


def test_a_tail_being_written_is_not_returned_until_complete(tmp_path: Path) -> None:
    fill(tmp_path, [b"done"])
    segment = list_segments(tmp_path)[-1].path
    frame = encode_frame(b"in progress")
    with segment.open("ab") as file:
        file.write(frame[:5])
        file.flush()
        assert [e.record_payload for e in read_entries(tmp_path, 0)] == [b"done"]
        assert read_entries(tmp_path, 12) == []
        file.write(frame[5:])
    assert [e.record_payload for e in read_entries(tmp_path, 12)] == [b"in progress"]


def test_damage_in_a_closed_segment_is_an_error(tmp_path: Path) -> None:
    fill(tmp_path, [b"a" * 20, b"b" * 20], segment_bytes=30)
    first = list_segments(tmp_path)[0].path
    data = bytearray(first.read_bytes())
    data[-1] ^= 0xFF
    first.write_bytes(bytes(data))
    with pytest.raises(LogCorruptionError, match="closed segment"):
        read_entries(tmp_path, 0)


def test_commit_is_durable_and_only_moves_forward(tmp_path: Path) -> None:
    fill(tmp_path, [b"a", b"b"])
    reader = LogReader(tmp_path, "storage")
    assert reader.committed_offset() == 0
    reader.commit(9)
    assert LogReader(tmp_path, "storage").committed_offset() == 9
    with pytest.raises(ValueError, match="at least 9"):
        reader.commit(0)


def test_segments_go_once_every_consumer_is_past_them(tmp_path: Path) -> None:
    fill(tmp_path, [bytes([i]) * 20 for i in range(4)], segment_bytes=30)
    bases = [s.base for s in list_segments(tmp_path)]
    assert bases == [0, 28, 56, 84]
    storage, backup = LogReader(tmp_path, "storage"), LogReader(tmp_path, "backup")
    backup.commit(28)

    storage.commit(112)  # everything, but backup is still at 28
    assert [s.base for s in list_segments(tmp_path)] == [28, 56, 84]

    backup.commit(112)  # the last segment stays: the writer appends to it
    assert [s.base for s in list_segments(tmp_path)] == [84]
    assert [e.record_payload for e in storage.read(0)] == [bytes([3]) * 20]


def test_consumer_names_are_checked(tmp_path: Path) -> None:
    for bad in ("", "../x", ".hidden", "a/b"):
        with pytest.raises(ValueError, match="consumer name"):
            LogReader(tmp_path, bad)


def test_replay_walks_every_writer_dir(tmp_path: Path) -> None:
    root = tmp_path / "log"
    first, first_lock = claim_writer_dir(root)
    second, second_lock = claim_writer_dir(root)
    fill(first, [b"a", b"b"])
    fill(second, [b"c"])
    LogReader(first, "storage").commit(9)

    everything = [(d.name, e.record_payload) for d, e in replay(root)]
    remaining = [(d.name, e.record_payload) for d, e in replay(root, consumer="storage")]

    assert everything == [("writer-0", b"a"), ("writer-0", b"b"), ("writer-1", b"c")]
    assert remaining == [("writer-0", b"b"), ("writer-1", b"c")]
    first_lock.close()
    second_lock.close()
