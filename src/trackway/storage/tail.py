"""The not-yet-committed tail: log records past what a project's tables hold.

Queries read committed parts plus this tail, so an acknowledged event is visible at once, not
only after the storage worker's next commit. Decoded records are kept by offset, so each
query decodes only what arrived since the previous one.

One tail serves every table of every project, and the tables commit one after the other, so
what one table holds another may not: the tail keeps every record until the storage worker's
committed position is past it (the worker commits only once every table holds what lies
before, and deletes no segment before that), and answers each caller what its own table
does not hold. A caller whose table is older than that position reads the records it misses
from the log itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from pathlib import Path

from trackway.log import LogRecord, decode_record, read_entries, writer_dirs
from trackway.log.consumers import read_offset
from trackway.storage.layout import CONSUMER


class LogTail:
    def __init__(self, log_root: Path) -> None:
        self._log_root = log_root
        self._lock = threading.Lock()
        # Per writer directory name: the decoded records by offset, and where reading stopped.
        self._records: dict[str, dict[int, LogRecord]] = {}
        self._read_to: dict[str, int] = {}

    def records(
        self, project_id: int, applied: Callable[[str], int], kinds: Collection[str]
    ) -> list[LogRecord]:
        """The project's records of ``kinds`` at or past ``applied(writer_name)`` (what the
        table they go to holds) in every writer's log."""
        out: list[LogRecord] = []
        with self._lock:
            for writer_dir in writer_dirs(self._log_root):
                name = writer_dir.name
                start = applied(name)
                everywhere = read_offset(writer_dir, CONSUMER) or 0
                cached = self._records.setdefault(name, {})
                for offset in [o for o in cached if o < everywhere]:
                    del cached[offset]
                position = max(everywhere, self._read_to.get(name, 0))
                while entries := read_entries(writer_dir, position):
                    for entry in entries:
                        cached[entry.offset] = decode_record(entry.record_payload)
                    position = entries[-1].next_offset
                self._read_to[name] = position
                found = sorted(cached.items())
                if start < everywhere:
                    found = _read_between(writer_dir, start, everywhere) + found
                out.extend(
                    r
                    for o, r in found
                    if o >= start and r.project_id == project_id and r.kind in kinds
                )
        return out


def _read_between(writer_dir: Path, start: int, stop: int) -> list[tuple[int, LogRecord]]:
    """The records from ``start`` to ``stop`` still on disk, decoded, not kept."""
    found: list[tuple[int, LogRecord]] = []
    position = start
    while position < stop and (entries := read_entries(writer_dir, position)):
        found += [(e.offset, decode_record(e.record_payload)) for e in entries if e.offset < stop]
        position = entries[-1].next_offset
    return found
