"""The not-yet-committed tail: log records past what a project's tables hold.

Queries read committed parts plus this tail, so an acknowledged event is visible at once, not
only after the storage worker's next commit. Decoded records are kept by offset, so each
query decodes only what arrived since the previous one.

One tail serves every table of every project, and the tables commit one after the other: a
record is dropped when its own table (its project's, of its kind) holds it, or once the
storage worker's committed position is past it, which it moves only when every table holds
what lies before (and no segment is deleted before that).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from pathlib import Path

from trackway.log import LogRecord, decode_record, read_entries, writer_dirs
from trackway.log.consumers import read_offset
from trackway.log.segments import list_segments
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
                everywhere = _held_by_every_table(writer_dir, self._read_to.get(name, 0))
                cached = self._records.setdefault(name, {})
                for offset, record in list(cached.items()):
                    mine = record.project_id == project_id and record.kind in kinds
                    if offset < everywhere or (mine and offset < start):
                        del cached[offset]
                # Not from this caller's start: another table may not hold what precedes it.
                position = max(everywhere, self._read_to.get(name, 0))
                while entries := read_entries(writer_dir, position):
                    for entry in entries:
                        cached[entry.offset] = decode_record(entry.record_payload)
                    position = entries[-1].next_offset
                self._read_to[name] = position
                out.extend(
                    r
                    for o, r in sorted(cached.items())
                    if r.project_id == project_id and r.kind in kinds and o >= start
                )
        return out


def _held_by_every_table(writer_dir: Path, read_to: int) -> int:
    """The offset below which every table holds the writer's records: the storage worker's
    committed position (it commits only after storing everything before it), or, with no
    segment left on disk, everything read so far."""
    committed = read_offset(writer_dir, CONSUMER) or 0
    return committed if list_segments(writer_dir) else max(committed, read_to)
