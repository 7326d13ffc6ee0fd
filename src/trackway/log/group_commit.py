"""Group commit as a sans-IO state machine: it decides what to flush, never flushes.

Callers submit framed records and get ticket ids; the driver asks for a flush, writes and
fsyncs its bytes however it likes, then reports the outcome. One flush is in flight at a time,
so everything submitted while the disk syncs rides on the next flush: the busier the log, the
more records share one fsync, with no timer adding latency when it is quiet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

DEFAULT_MAX_BATCH_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Flush:
    data: bytes  # the frames of ``tickets``, concatenated in ticket order
    tickets: range  # consecutive ticket ids: a flush always takes the oldest pending ones


class GroupCommit:
    def __init__(self, max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES) -> None:
        if max_batch_bytes <= 0:
            raise ValueError(f"Expected a positive max_batch_bytes, got {max_batch_bytes}")
        self._max_batch_bytes = max_batch_bytes
        self._pending: deque[bytes] = deque()
        self._first_pending = 0  # ticket id of self._pending[0]
        self._in_flight: Flush | None = None

    @property
    def in_flight(self) -> Flush | None:
        return self._in_flight

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def idle(self) -> bool:
        return self._in_flight is None and not self._pending

    def submit(self, frame: bytes) -> int:
        """Queue one framed record; returns its ticket id (0, 1, 2, ... in submission order)."""
        self._pending.append(frame)
        return self._first_pending + len(self._pending) - 1

    def start_flush(self) -> Flush | None:
        """The next flush to perform, or None while one is in flight or nothing is pending."""
        if self._in_flight is not None or not self._pending:
            return None
        # The first frame always goes, however large: a batch limit must not stall a record.
        frames = [self._pending.popleft()]
        size = len(frames[0])
        while self._pending and size + len(self._pending[0]) <= self._max_batch_bytes:
            frame = self._pending.popleft()
            frames.append(frame)
            size += len(frame)
        first = self._first_pending
        self._first_pending += len(frames)
        self._in_flight = Flush(b"".join(frames), range(first, self._first_pending))
        return self._in_flight

    def finish_flush(self, flush: Flush) -> range:
        """Record that ``flush`` is durable; returns the tickets it made durable."""
        self._end(flush)
        return flush.tickets

    def fail_flush(self, flush: Flush) -> range:
        """Record that ``flush`` failed; returns the tickets that must fail with it."""
        self._end(flush)
        return flush.tickets

    def _end(self, flush: Flush) -> None:
        if flush is not self._in_flight:
            raise ValueError(f"Expected the flush in flight, got one for tickets {flush.tickets}")
        self._in_flight = None
