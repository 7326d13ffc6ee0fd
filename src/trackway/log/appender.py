"""The asyncio driver of group commit: ``append`` returns once an fsync covers the record.

The event loop only frames records and resolves futures; the write and fsync of each batch
run on one dedicated thread, so the loop keeps accepting requests while the disk syncs. When
a flush completes, the next one starts at once with everything that queued meanwhile.
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from trackway.log.errors import LogClosedError, LogWriteError
from trackway.log.frame import encode_frame
from trackway.log.group_commit import DEFAULT_MAX_BATCH_BYTES, Flush, GroupCommit
from trackway.log.writer import LogWriter


class DurableAppender:
    """Appends records to ``writer`` with group commit. Does not own the writer: closing the
    appender drains it, and the caller closes the writer afterwards."""

    def __init__(self, writer: LogWriter, max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES) -> None:
        self._writer = writer
        self._commit = GroupCommit(max_batch_bytes)
        # One (future, frame size) per submitted ticket, oldest first: flushes complete the
        # oldest tickets in order, so a deque is all the ticket bookkeeping needed.
        self._waiters: deque[tuple[asyncio.Future[int], int]] = deque()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trackway-log")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._drained: asyncio.Future[None] | None = None

    async def append(self, payload: bytes) -> int:
        """Append one record; returns its offset once it is durable. Raises LogWriteError if
        it could not be made durable. Cancelling the caller does not take the record back."""
        if self._closing:
            raise LogClosedError(f"Expected an open appender for {self._writer.directory}")
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        frame = encode_frame(payload)
        waiter: asyncio.Future[int] = loop.create_future()
        self._commit.submit(frame)
        self._waiters.append((waiter, len(frame)))
        if self._commit.in_flight is None:
            self._start_flush(loop)
        return await waiter

    async def close(self) -> None:
        """Refuse new appends and wait until every submitted one is settled."""
        self._closing = True
        if not self._commit.idle:
            if self._drained is None:
                self._drained = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._drained)
        self._executor.shutdown(wait=True)

    def _start_flush(self, loop: asyncio.AbstractEventLoop) -> None:
        flush = self._commit.start_flush()
        if flush is None:
            return
        done = loop.run_in_executor(self._executor, self._write_and_sync, flush.data)
        done.add_done_callback(functools.partial(self._flush_done, loop, flush))

    def _write_and_sync(self, data: bytes) -> int:
        start = self._writer.write(data)
        self._writer.sync()
        return start

    def _flush_done(
        self, loop: asyncio.AbstractEventLoop, flush: Flush, done: asyncio.Future[int]
    ) -> None:
        failure = asyncio.CancelledError() if done.cancelled() else done.exception()
        if failure is None:
            position = done.result()
            for _ in self._commit.finish_flush(flush):
                waiter, size = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(position)
                position += size
        else:
            for _ in self._commit.fail_flush(flush):
                waiter, _ = self._waiters.popleft()
                if not waiter.done():
                    # A fresh error per waiter: one instance raised in many tasks would pile
                    # all their tracebacks onto itself.
                    error = LogWriteError(f"The log could not make the record durable: {failure!r}")
                    error.__cause__ = failure
                    waiter.set_exception(error)
        self._start_flush(loop)
        if self._drained is not None and self._commit.idle and not self._drained.done():
            self._drained.set_result(None)
