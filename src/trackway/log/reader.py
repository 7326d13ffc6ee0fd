"""The reader side: read complete frames by offset, commit a consumer's position, and delete
segments every consumer is done with.

Readers run in other processes than the writer and never lock: they list segments, read, and
stop at the first frame that is not complete and valid. In the last segment such a frame is
an append in progress (or a crash's torn tail, which the writer cuts off when it reopens).
In any earlier segment it is damage: the writer syncs a segment before starting the next.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from trackway.log.consumers import check_consumer_name, read_offset, read_offsets, store_offset
from trackway.log.directories import writer_dirs
from trackway.log.errors import LogCorruptionError
from trackway.log.frame import HEADER_SIZE, frame_size_at, scan_frames
from trackway.log.segments import Segment, list_segments

DEFAULT_READ_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Entry:
    offset: int  # where the record's frame starts
    next_offset: int  # where the next frame starts: the position to commit once consumed
    record_payload: bytes


class LogReader:
    """One consumer of one writer directory."""

    def __init__(self, writer_dir: Path, consumer: str) -> None:
        self.writer_dir = writer_dir
        self.consumer = check_consumer_name(consumer)

    def committed_offset(self) -> int:
        return read_offset(self.writer_dir, self.consumer) or 0

    def read(self, from_offset: int, max_bytes: int = DEFAULT_READ_BYTES) -> list[Entry]:
        return read_entries(self.writer_dir, from_offset, max_bytes)

    def commit(self, offset: int) -> None:
        """Durably store this consumer's position, then delete the segments that every
        registered consumer has moved past. Positions only move forward."""
        committed = self.committed_offset()
        if offset < committed:
            raise ValueError(f"Expected an offset of at least {committed} to commit, got {offset}")
        store_offset(self.writer_dir, self.consumer, offset)
        _delete_consumed(self.writer_dir)


def read_entries(
    writer_dir: Path, from_offset: int, max_bytes: int = DEFAULT_READ_BYTES
) -> list[Entry]:
    """The complete frames from ``from_offset``, up to ``max_bytes`` of them (but at least one
    if there is one), all from one segment. An empty list means the reader is at the end.
    ``from_offset`` must be a frame boundary: 0, a segment's base, or an ``Entry`` offset."""
    while True:
        try:
            return _read_from(list_segments(writer_dir), from_offset, max_bytes)
        except FileNotFoundError:
            # Another consumer's commit deleted a segment after we listed it: list again.
            continue


def replay(log_root: Path, consumer: str | None = None) -> Iterator[tuple[Path, Entry]]:
    """Every record under ``log_root``, writer directory by writer directory: from offset 0, or
    from ``consumer``'s committed position. Stops at each directory's end as of when replay
    reached it, so a live writer cannot keep it going."""
    for writer_dir in writer_dirs(log_root):
        offset = (read_offset(writer_dir, consumer) or 0) if consumer is not None else 0
        segments = list_segments(writer_dir)
        if not segments:
            continue
        stop = segments[-1].base + segments[-1].path.stat().st_size
        while offset < stop and (entries := read_entries(writer_dir, offset)):
            for entry in entries:
                if entry.offset >= stop:
                    break
                yield writer_dir, entry
            offset = entries[-1].next_offset


def _read_from(segments: list[Segment], from_offset: int, max_bytes: int) -> list[Entry]:
    # The segment holding from_offset; offsets below the oldest segment were consumed and
    # deleted, so reading resumes at the oldest data still there.
    first = max(bisect.bisect_right([s.base for s in segments], from_offset) - 1, 0)
    for index in range(first, len(segments)):
        segment = segments[index]
        start = max(from_offset, segment.base)
        chunk = _read_chunk(segment.path, start - segment.base, max_bytes)
        scan = scan_frames(chunk, start)
        if scan.frames:
            return [
                Entry(offset, offset + HEADER_SIZE + len(payload), payload)
                for offset, payload in scan.frames
            ]
        if index == len(segments) - 1:
            break
        if chunk:
            raise LogCorruptionError(
                f"Expected a valid frame at offset {start} in closed segment {segment.path}, "
                f"found a {scan.tail.value} one"
            )
        # At the end of a closed segment: the next one continues the stream.
    return []


def _read_chunk(path: Path, position: int, max_bytes: int) -> bytes:
    with path.open("rb") as file:
        file.seek(position)
        data = file.read(max(max_bytes, HEADER_SIZE))
        # Never let max_bytes split the first frame: a frame larger than it is read whole.
        size = frame_size_at(data)
        if size is not None and size > len(data):
            data += file.read(size - len(data))
        return data


def _delete_consumed(writer_dir: Path) -> None:
    floor = min(read_offsets(writer_dir).values(), default=0)
    # Never the last segment: the writer may be appending to it.
    for segment in list_segments(writer_dir)[:-1]:
        try:
            size = segment.path.stat().st_size
        except FileNotFoundError:
            continue
        if segment.base + size > floor:
            break
        # No directory fsync: a deletion the crash undoes is simply redone by a later commit.
        segment.path.unlink(missing_ok=True)
