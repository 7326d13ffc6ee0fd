"""The not-yet-committed tail: log records past what a project's tables hold.

Queries read committed parts plus this tail, so an acknowledged event is visible at once, not
only after the storage worker's next commit. Decoded records are kept by offset, so each
query decodes only what arrived since the previous one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from trackway.log import LogRecord, decode_record, read_entries, writer_dirs


class LogTail:
    def __init__(self, log_root: Path) -> None:
        self._log_root = log_root
        self._lock = threading.Lock()
        # Per writer directory name: the decoded records by offset, and where reading stopped.
        self._records: dict[str, dict[int, LogRecord]] = {}
        self._read_to: dict[str, int] = {}

    def records(self, project_id: int, applied: Callable[[str], int]) -> list[LogRecord]:
        """The project's records at or past ``applied(writer_name)`` in every writer's log."""
        out: list[LogRecord] = []
        with self._lock:
            for writer_dir in writer_dirs(self._log_root):
                name = writer_dir.name
                start = applied(name)
                cached = self._records.setdefault(name, {})
                for offset in [o for o in cached if o < start]:
                    del cached[offset]
                position = max(start, self._read_to.get(name, 0))
                while entries := read_entries(writer_dir, position):
                    for entry in entries:
                        cached[entry.offset] = decode_record(entry.record_payload)
                    position = entries[-1].next_offset
                self._read_to[name] = position
                out.extend(
                    r
                    for o, r in sorted(cached.items())
                    if r.project_id == project_id and o >= start
                )
        return out
