"""Bounded history: Delta checkpoints, log cleanup and vacuum of a project's tables.

Every table keeps the versions committed within the retention window (``retention_ms``):
time travel to any of them works. Log entries older than the window are deleted, and so are
the data files that only such versions used; a deleted user's rows, which a ``DELETE`` or a
compaction removed from the table, are gone from disk once the window has passed.

The window is stored in each table as Delta's own properties, so any Delta writer honours it:
``delta.logRetentionDuration`` and ``delta.deletedFileRetentionDuration`` (the window), and
``delta.checkpointInterval``: every writer's commit that completes that many writes a
checkpoint (a Parquet file of the table's state, the log offsets each table has applied
among it), so a reader replays at most that many commits. ``delta.enableExpiredLogCleanup``
is off: a writer would list the whole log after every commit; the storage worker instead
deletes expired entries and files every ``vacuum_interval_ms``, between passes.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
from deltalake import DeltaTable

from trackway.settings import Settings
from trackway.storage.layout import ProjectPaths

logger = logging.getLogger(__name__)

_UNITS = (("days", 86_400_000), ("hours", 3_600_000), ("minutes", 60_000), ("seconds", 1000))


def interval(ms: int) -> str:
    """A duration as a Delta table property, in its largest exact unit: ``interval 1 days``."""
    for unit, size in _UNITS:
        if ms >= size and ms % size == 0:
            return f"interval {ms // size} {unit}"
    return f"interval {ms} milliseconds"


def retention_properties(settings: Settings) -> dict[str, str]:
    window = interval(settings.retention_ms)
    return {
        "delta.logRetentionDuration": window,
        "delta.deletedFileRetentionDuration": window,
        "delta.checkpointInterval": str(settings.checkpoint_interval_commits),
        "delta.enableExpiredLogCleanup": "false",
    }


@dataclass(frozen=True, slots=True)
class Tidied:
    """What one ``tidy`` of a table did."""

    checkpoint: bool  # wrote a checkpoint
    log_entries_removed: int
    files_removed: int


def tidy(root: Path, settings: Settings, retention_hours: int | None = None) -> Tidied:
    """Bring one table's history inside the window: set the retention properties if they
    differ, delete the data files no version inside the window uses, write a checkpoint if
    the last is ``checkpoint_interval_commits`` behind, delete expired log entries.
    ``retention_hours`` overrides the window for the files only (``trackway vacuum``)."""
    if not DeltaTable.is_deltatable(str(root)):
        return Tidied(False, 0, 0)
    table = DeltaTable(str(root))
    wanted = retention_properties(settings)
    current = table.metadata().configuration
    if any(current.get(key) != value for key, value in wanted.items()):
        table.alter.set_table_properties(wanted)
        table = DeltaTable(str(root))
    # Full mode also finds files whose removal has left the checkpoints (older than the
    # window), which the lighter mode, reading only the removals still in the log, misses;
    # it also deletes files no commit names that are older than the window. A shorter
    # ``retention_hours`` (the command, maybe while the worker writes) deletes removed files
    # only: never a file a commit is about to add.
    removed = table.vacuum(
        retention_hours=retention_hours,
        dry_run=False,
        enforce_retention_duration=retention_hours is None,
        full=retention_hours is None,
    )
    table = DeltaTable(str(root))
    checkpoint = False
    last = last_checkpoint(root)
    if last is None or table.version() - last >= settings.checkpoint_interval_commits:
        table.create_checkpoint()
        checkpoint = True
    before = log_entries(root)
    # Deletes entries older than the window up to the newest checkpoint older than it: the
    # versions inside the window stay readable from that checkpoint on.
    table.cleanup_metadata()
    return Tidied(checkpoint, before - log_entries(root), len(removed))


def last_checkpoint(root: Path) -> int | None:
    """The version of the table's latest checkpoint, None if it has none."""
    try:
        version = orjson.loads((root / "_delta_log" / "_last_checkpoint").read_bytes())["version"]
    except (FileNotFoundError, KeyError, orjson.JSONDecodeError):
        return None
    return int(version)


def log_entries(root: Path) -> int:
    """Commits and checkpoint files in the table's log."""
    try:
        names = os.listdir(root / "_delta_log")
    except FileNotFoundError:
        return 0
    return sum(1 for name in names if name[:20].isdigit() and name.endswith((".json", ".parquet")))


class HistoryKeeper:
    """The storage worker's schedule: ``tidy`` each table at most once per
    ``vacuum_interval_ms`` (the first call tidies at once), so the cost of listing the log and
    the table's files is paid rarely, between passes, never by a commit."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._last: dict[Path, float] = {}

    def tidy_due(self, paths: ProjectPaths) -> None:
        for root in (paths.events, paths.users, paths.groups):
            now = self._clock()
            last = self._last.get(root)
            if last is not None and (now - last) * 1000 < self.settings.vacuum_interval_ms:
                continue
            if not DeltaTable.is_deltatable(str(root)):
                continue  # tidied as soon as its first commit exists
            self._last[root] = now
            started = time.perf_counter()
            try:
                done = tidy(root, self.settings)
            except Exception:
                # The next interval tries again; ingest goes on meanwhile.
                logger.exception("tidying the history of %s failed", root)
                continue
            logger.info(
                "tidied %s in %.3f s: %s%d log entries and %d data files past the window removed",
                root,
                time.perf_counter() - started,
                "checkpoint written, " if done.checkpoint else "",
                done.log_entries_removed,
                done.files_removed,
            )
