"""The storage worker: consumes the write-ahead log into each project's Delta tables.

One pass reads what the log holds past the worker's committed position, appends each
project's events (sorted by shard, user, time) in one Delta commit that also records the log
offsets it covers, applies profile updates, then commits the log position — only after the
Delta commits, so a crash in between replays records that the tables skip by offset.
Deletions, compaction and the upkeep of each table's history run between passes.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from trackway.log import LogReader, decode_record, writer_dirs
from trackway.projects import Project, ProjectCatalog
from trackway.settings import Settings
from trackway.storage.batches import events_to_table
from trackway.storage.compaction import Rehoming, compact_project
from trackway.storage.deletions import DeletionList, erasure_times
from trackway.storage.events_table import EventTable, Snapshot
from trackway.storage.identity import IdentityMap
from trackway.storage.identity_scan import edges_metadata
from trackway.storage.layout import CONSUMER, ProjectPaths
from trackway.storage.orphans import remove_orphan_files
from trackway.storage.profile_compaction import compact_profiles, shards_of
from trackway.storage.profile_store import ProfileStore
from trackway.storage.rehome import rehome_project
from trackway.storage.resolve import resolve_table
from trackway.storage.retention import HistoryKeeper
from trackway.storage.scan import EventReader

_terminated = threading.Event()
logger = logging.getLogger(__name__)


_DELETE_BATCH = 500  # ids per DELETE predicate
_IDENTITY_CACHE_BYTES = 64 << 20


@dataclass(slots=True)
class _Batch:
    """What one pass gathered for one project, with the log position each writer reached."""

    events: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    offsets: dict[str, int] = field(default_factory=dict)


class StorageWorker:
    def __init__(self, data_dir: Path, settings: Settings) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.catalog = ProjectCatalog(data_dir)
        # Profile stores keep recently changed profiles in memory between passes.
        self._profiles: dict[Path, ProfileStore] = {}
        self.history = HistoryKeeper(settings)
        # Reads each part's identity edges once, for the merges the worker applies.
        self._reader = EventReader(data_dir, _IDENTITY_CACHE_BYTES)
        self._rehomed: dict[int, float] = {}  # when each project's parts were last looked at

    def _profile_store(self, root: Path) -> ProfileStore:
        store = self._profiles.get(root)
        if store is None:
            store = self._profiles[root] = ProfileStore(root, self.settings.profile_cache_entries)
        return store

    def run(self, stop: StopSignal) -> None:
        self.remove_orphans()
        while not stop.is_set() and not _terminated.is_set():
            started = time.monotonic()
            try:
                moved = self.run_once()
                self.maintain()
            except Exception:
                logger.exception("storage pass failed; retrying")
                moved = 0
            if not moved:
                stop.wait(self.settings.storage_poll_ms / 1000)
                continue
            # At most one storing pass per interval: a trickle of requests would otherwise
            # commit once per request, and every commit is a log entry that each open of the
            # table lists until the retention window passes. Reads see the records meanwhile.
            rest = self.settings.storage_commit_interval_ms / 1000 - (time.monotonic() - started)
            if rest > 0:
                stop.wait(rest)
        # A pass that failed may have left a written, uncommitted file: leave none on exit.
        self.remove_orphans()

    def run_once(self) -> int:
        """One pass over every writer's log; returns how many records it stored."""
        # A pass builds millions of small dicts that live until its commit: collecting
        # garbage meanwhile only costs time (about a third of decoding, measured).
        gc.disable()
        try:
            return self._pass()
        finally:
            gc.enable()

    def _pass(self) -> int:
        readers = [LogReader(d, CONSUMER) for d in writer_dirs(self.data_dir / "log")]
        batches: dict[int, _Batch] = defaultdict(_Batch)
        reached: dict[LogReader, int] = {}
        stored = 0
        for reader in readers:
            start = reader.committed_offset()
            position = start
            while position - start < self.settings.storage_batch_bytes and (
                entries := reader.read(position)
            ):
                for entry in entries:
                    self._route(
                        batches,
                        reader.writer_dir.name,
                        entry.offset,
                        entry.next_offset,
                        entry.record_payload,
                    )
                    stored += 1
                position = entries[-1].next_offset
            if position != start:
                reached[reader] = position
        for project_id, batch in batches.items():
            project = self.catalog.by_id(project_id)
            if project is None:
                logger.warning("dropping log records of unknown project %s", project_id)
                continue
            self._store(project, batch)
        for reader, position in reached.items():
            reader.commit(position)
        return stored

    def remove_orphans(self) -> None:
        for project in self.catalog.all():
            paths = ProjectPaths(self.data_dir, project.id)
            for root in (paths.events, paths.users, paths.groups):
                remove_orphan_files(root)

    def maintain(self) -> None:
        """Deletions, then compaction, for every project; now and then checkpoints, log
        cleanup and vacuum (retention.py)."""
        for project in self.catalog.all():
            paths = ProjectPaths(self.data_dir, project.id)
            deletions = DeletionList(paths.deletions)
            pending = [d for d in deletions.all() if not d.applied]
            if pending:
                self._apply_deletions(project, pending)
                # The shards of erased profiles are rewritten without their older states.
                erased = shards_of(pending, project.shards)
                compact_profiles(self._profile_store(paths.users), self.settings, erased)
                deletions.mark_applied(pending)
            rehoming = self.rehoming(project)
            compact_project(EventTable(paths.events), deletions, self.settings, rehoming)
            if rehoming is not None and self._rehome_due(project.id):
                rehome_project(EventTable(paths.events), deletions, self.settings, rehoming)
            compact_profiles(self._profile_store(paths.users), self.settings)
            compact_profiles(self._profile_store(paths.groups), self.settings)
            self.history.tidy_due(paths)

    def _rehome_due(self, project_id: int) -> bool:
        now = time.monotonic()
        if now - self._rehomed.get(project_id, -1e18) < self.settings.rehome_interval_ms / 1000:
            return False
        self._rehomed[project_id] = now
        return True

    def rehoming(self, project: Project) -> Rehoming | None:
        """How compaction stores rows under their resolved users (None: no ID merge)."""
        if project.id_merge == "none":
            return None
        deletions = DeletionList(ProjectPaths(self.data_dir, project.id).deletions)

        def identity(snapshot: Snapshot) -> IdentityMap:
            return self._reader.identity_with(project, snapshot, None)

        metadata = partial(edges_metadata, project.id_merge, deletions=deletions)
        return Rehoming(identity, project.shards, metadata)

    def _route(
        self, batches: dict[int, _Batch], writer: str, offset: int, next_offset: int, payload: bytes
    ) -> None:
        record = decode_record(payload)
        batch = batches[record.project_id]
        # Each record remembers where its writer's stream continues; tables skip what they hold.
        batch.offsets[writer] = next_offset
        target = {
            "track": batch.events,
            "import": batch.events,
            "engage": batch.users,
            "groups": batch.groups,
        }[record.kind]
        target.append(
            {
                "offset": offset,
                "writer": writer,
                "received_ms": record.received_ms,
                "items": record.items,
            }
        )

    def _store(self, project: Project, batch: _Batch) -> None:
        paths = ProjectPaths(self.data_dir, project.id)
        table = EventTable(paths.events)
        snapshot = table.snapshot()
        events = _unapplied(batch.events, snapshot.applied_offset if snapshot else lambda _: 0)
        if events:
            rows = events_to_table(events, project.shards)
            metadata = None
            if project.id_merge != "none":
                # Each row stored under the user its id resolves to by every merge known
                # now, the batch's own included: reads then move only the rows of newer
                # merges; each part records its identity edges (docs/identity.md).
                known = self._reader.identity_with(project, snapshot, rows)
                rows = resolve_table(rows, known, project.shards)
                deletions = DeletionList(paths.deletions)
                metadata = partial(edges_metadata, project.id_merge, deletions=deletions)
            table.append(rows, batch.offsets, metadata)
        if batch.users:
            erasures = erasure_times(DeletionList(paths.deletions).all())
            self._profile_store(paths.users).apply(
                batch.users, batch.offsets, project.shards, erasures
            )
        if batch.groups:
            self._profile_store(paths.groups).apply(batch.groups, batch.offsets, project.shards, {})

    def _apply_deletions(self, project: Project, pending: list[Any]) -> None:
        paths = ProjectPaths(self.data_dir, project.id)
        # One DELETE per request time and batch of ids (a deleted cluster is many ids).
        by_time: dict[int, list[str]] = {}
        for deletion in pending:
            by_time.setdefault(int(deletion.deleted_at_ms), []).append(deletion.distinct_id)
        for at_ms, ids in sorted(by_time.items()):
            for start in range(0, len(ids), _DELETE_BATCH):
                quoted = ", ".join(
                    "'" + d.replace("'", "''") + "'" for d in ids[start : start + _DELETE_BATCH]
                )
                EventTable(paths.events).delete(
                    f"distinct_id IN ({quoted}) AND received_ms <= {at_ms}"
                )
        self._profile_store(paths.users).delete(erasure_times(pending), project.shards)


def _unapplied(groups: list[dict[str, Any]], applied: Any) -> list[dict[str, Any]]:
    """The items of the record groups a table does not hold yet (by log offset)."""
    offsets = {writer: applied(writer) for writer in {g["writer"] for g in groups}}
    out: list[dict[str, Any]] = []
    for group in groups:
        if group["offset"] >= offsets[group["writer"]]:
            out.extend(group["items"])
    return out


class StopSignal(Protocol):
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def set(self) -> None: ...


def run_worker(data_dir: str, stop: StopSignal) -> None:
    """Entry point of the storage worker process that ``trackway serve`` starts. Ctrl-C and
    SIGTERM finish the current pass; a kill mid-pass is a crash the next start recovers."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s storage %(levelname)s %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Only a thread-local flag: setting the shared Event from a handler that interrupted a
    # wait on that Event would deadlock on its lock.
    signal.signal(signal.SIGTERM, lambda *_: _terminated.set())
    StorageWorker(Path(data_dir), Settings.from_env()).run(stop)


def wait_until_stored(data_dir: Path, timeout_s: float = 30.0) -> None:
    """Block until the worker has consumed every writer's log to its current end (tests, tools)."""
    deadline = time.monotonic() + timeout_s
    for directory in writer_dirs(data_dir / "log"):
        reader = LogReader(directory, CONSUMER)
        while True:
            entries = reader.read(reader.committed_offset())
            if not entries:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"the storage worker did not catch up on {directory}")
            time.sleep(0.05)
