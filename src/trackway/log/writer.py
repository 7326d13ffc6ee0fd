"""The writer side of one writer directory: append framed bytes, sync, roll segments.

Opening recovers from a crash: the last segment is scanned and whatever follows its last
valid frame is cut off. Only the last segment can hold such a tail, because a segment is
synced before the writer moves to the next one.
"""

from __future__ import annotations

import os
from pathlib import Path

from trackway.log.consumers import read_offsets
from trackway.log.errors import LogClosedError, LogWriteError
from trackway.log.frame import scan_frames
from trackway.log.fsync import fsync_dir, make_dir_durably, sync_data
from trackway.log.segments import list_segments, segment_path

DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


class LogWriter:
    """Appends to this directory's segments. One caller at a time: the appender runs at most
    one write-and-sync at once, which is all the locking this needs."""

    def __init__(self, directory: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        if segment_bytes <= 0:
            raise ValueError(f"Expected a positive segment_bytes, got {segment_bytes}")
        self.directory = directory
        self.segment_bytes = segment_bytes
        self._fd = -1
        self._base = 0  # offset of the current segment's first byte
        self._end = 0  # offset just past the last byte written
        self._dir_dirty = False  # a segment was created since the directory was last synced
        self._failure: BaseException | None = None
        self._closed = False
        make_dir_durably(directory)
        try:
            self._recover()
        except BaseException:
            if self._fd >= 0:
                os.close(self._fd)
            raise

    @property
    def end_offset(self) -> int:
        return self._end

    def write(self, data: bytes) -> int:
        """Append already-framed bytes; returns the offset of their first byte. The bytes
        always land in one segment: a new one is started first if they would not fit."""
        self._check_usable()
        if self._end > self._base and self._end - self._base + len(data) > self.segment_bytes:
            self._roll(self._end)
        start = self._end
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except BaseException as exc:
            self._undo_write(start, exc)
            raise
        self._end += len(data)
        return start

    def sync(self) -> None:
        """Make every byte written so far durable."""
        self._check_usable()
        try:
            sync_data(self._fd)
            if self._dir_dirty:
                fsync_dir(self.directory)
                self._dir_dirty = False
        except BaseException as exc:
            # After a failed fsync the kernel may have dropped the dirty pages and a retry
            # can "succeed" without them, so nothing written since the last good sync can be
            # trusted. Only reopening (recovery from what is really on disk) is safe.
            self._failure = exc
            raise

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self._fd)

    def _recover(self) -> None:
        segments = list_segments(self.directory)
        if segments:
            last = segments[-1]
            scan = scan_frames(last.path.read_bytes(), last.base)
            fd = os.open(last.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            if scan.torn:
                os.ftruncate(fd, scan.valid_end - last.base)
                os.fsync(fd)
            self._fd, self._base, self._end = fd, last.base, scan.valid_end
        else:
            self._open_segment(0)
        # A consumer may have read, and committed past, bytes that a machine crash then took
        # away. New records must not hide under its position, so they start beyond it.
        committed = max(read_offsets(self.directory).values(), default=0)
        if committed > self._end:
            self._roll(committed)
        # Whatever the crash left, the segment we build on must itself be durably listed.
        fsync_dir(self.directory)
        self._dir_dirty = False

    def _roll(self, base: int) -> None:
        # The segment being left must be complete on disk: recovery only repairs the last one.
        try:
            sync_data(self._fd)
        except BaseException as exc:
            self._failure = exc
            raise
        old = self._fd
        self._open_segment(base)
        os.close(old)

    def _open_segment(self, base: int) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        self._fd = os.open(segment_path(self.directory, base), flags, 0o644)
        self._base = self._end = base
        self._dir_dirty = True

    def _undo_write(self, start: int, exc: BaseException) -> None:
        # A partial write left a fragment that would hide every later frame from readers.
        try:
            os.ftruncate(self._fd, start - self._base)
        except OSError:
            self._failure = exc

    def _check_usable(self) -> None:
        if self._closed:
            raise LogClosedError(f"Expected an open log writer for {self.directory}")
        if self._failure is not None:
            raise LogWriteError(
                f"The log writer for {self.directory} failed earlier ({self._failure!r}); "
                "reopen it to recover from what is on disk"
            ) from self._failure
