"""The log's own faults: all are trackway's fault, never the client's (a 5xx, not a 4xx)."""

from __future__ import annotations

from trackway.errors import InternalError


class LogError(InternalError):
    """Root of the log's errors."""


class LogCorruptionError(LogError):
    """Bytes on disk that no crash can explain: a bad frame inside a segment already closed."""


class LogWriteError(LogError):
    """An append was not made durable; the record must not be acknowledged."""


class LogClosedError(LogError):
    """The appender or writer was used after it began to close."""
