"""The scan API of the query layer: a project's columns per shard, in (user, time) order.

Reads only the parts whose time statistics overlap the range and only the asked columns,
all of a part's in one read (its footer read once per process); merges a shard's parts and
drops duplicates (equal event, distinct_id, time and ``$insert_id``: the latest ingested
copy wins; ``merge_order.py``) and deleted users, and adds the log tail the storage worker
has not committed yet. Decoded columns and merge orders are kept in a memory-bounded cache.
Fixed-width columns become numpy arrays through their buffers (``arrays.py``): pyarrow's own
conversions import pandas, a third of a second of a fresh process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from trackway.log import LogRecord
from trackway.projects import Project
from trackway.storage.arrays import arrow_of, numpy_of
from trackway.storage.batches import events_to_table
from trackway.storage.cache import ColumnCache
from trackway.storage.columns import (
    PROMOTED,
    SENT_HASH,
    column_type,
    conform,
    parse_property_column,
    property_column,
    table_column,
    value_kind,
)
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import (
    DEDUPLICATED_KEY,
    EventTable,
    Part,
    Snapshot,
    version_error,
)
from trackway.storage.identity import IdentityMap
from trackway.storage.identity_scan import (
    NO_EDGES,
    Edges,
    project_identity,
    recorded_edges,
    source_edges,
)
from trackway.storage.layout import ProjectPaths
from trackway.storage.merge_order import extended, merge_order
from trackway.storage.profile_reader import ProfileReader
from trackway.storage.rekey import Rekey, Source, group_rekey, identity_rekey, rekeyed
from trackway.storage.resolve import sent_hashes
from trackway.storage.tail import LogTail
from trackway.types import TimeRange

_EVENT_KINDS = ("track", "import")
Positions = npt.NDArray[np.int64]
_READERS = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="trackway-scan")


@dataclass(frozen=True, slots=True)
class ShardScan:
    shard: int
    columns: dict[str, pa.Array]
    # Identifies the rows (parts, range) when they are stable: derived data may be cached
    # under it. None when the uncommitted tail is part of the scan.
    key: Hashable | None = None

    @property
    def rows(self) -> int:
        return len(next(iter(self.columns.values()))) if self.columns else 0


class EventReader:
    """Reads events for queries and exports; one per process, shared by threads."""

    def __init__(self, data_dir: Path, cache_bytes: int) -> None:
        self.data_dir = data_dir
        self.cache = ColumnCache(cache_bytes)
        self._snapshots: dict[Path, Snapshot] = {}
        self._snapshots_lock = threading.Lock()
        self.log_tail = LogTail(data_dir / "log")
        self.profiles = ProfileReader(data_dir, self.log_tail)

    def snapshot(self, project: Project, as_of: int | datetime | None = None) -> Snapshot | None:
        """The table's current (or an earlier) version. The current one is reused while the
        transaction log has no newer commit: opening a table costs milliseconds (listing its
        whole log), looking for the next commit's file microseconds."""
        root = ProjectPaths(self.data_dir, project.id).events
        if as_of is not None:
            return EventTable(root).snapshot(as_of)
        with self._snapshots_lock:
            known = self._snapshots.get(root)
        latest = _latest_version(root, None if known is None else known.version)
        if latest is None:
            return None
        with self._snapshots_lock:
            known = self._snapshots.get(root)
            if known is None or known.version != latest:
                known = EventTable(root).snapshot()
                if known is None:
                    return None
                self._snapshots[root] = known
            return known

    def identity(self, project: Project) -> IdentityMap:
        """The project's identity clusters as of now (committed events and the log tail)."""
        snapshot = self.snapshot(project)
        return self.identity_with(project, snapshot, self._tail_table(project, snapshot))

    def identity_with(
        self, project: Project, snapshot: Snapshot | None, tail: pa.Table | None
    ) -> IdentityMap:
        """The identity clusters of ``snapshot``'s events with ``tail``'s on top (the log
        tail, or a batch the storage worker is about to write)."""
        deletions = DeletionList(ProjectPaths(self.data_dir, project.id).deletions)
        erased = len(deletions.all())
        mode = project.id_merge
        if mode == "none":
            return IdentityMap()
        root = snapshot.root if snapshot is not None else Path()
        parts = snapshot.parts() if snapshot is not None else []

        def part_edges(part: Part) -> Callable[[], Edges]:
            def edges() -> Edges:
                key = ("identity-edges", mode, root, part.path, erased)
                found: Edges | None = self.cache.get(key)
                if found is not None:
                    return found
                # Recorded by the part's writer; else read off its columns, unless its
                # footer shows it cannot tie ids.
                footer, stored, _ = self._footer(root, part)
                found = recorded_edges(footer.metadata, mode, erased)
                if found is None:
                    found = NO_EDGES
                    if _may_tie(mode, stored):
                        found = source_edges(
                            mode, lambda c: self._part_column(root, part, c), deletions
                        )
                self.cache.put(key, found, found[0].nbytes + 100 * len(found[1]) + 64)
                return found

            return edges

        tail_edges = NO_EDGES
        if tail is not None:
            tail_edges = source_edges(mode, lambda c: table_column(tail, c), deletions)
        committed_key = ("identity", mode, root, tuple(p.path for p in parts), erased)
        return project_identity(
            committed_key, [part_edges(p) for p in parts], tail_edges, self.cache, _READERS.map
        )

    def tail_events(self, project: Project, snapshot: Snapshot | None) -> list[dict[str, Any]]:
        return [item for r in self._tail_records(project, snapshot) for item in r.items]

    def _tail_records(self, project: Project, snapshot: Snapshot | None) -> list[LogRecord]:
        def applied(writer: str) -> int:
            return 0 if snapshot is None else snapshot.applied_offset(writer)

        return self.log_tail.records(project.id, applied, _EVENT_KINDS)

    def _tail_table(self, project: Project, snapshot: Snapshot | None) -> pa.Table | None:
        """The uncommitted events as one sorted table, rebuilt only when the tail changed
        (the tail keeps each decoded record object, so their identities name its state)."""
        records = self._tail_records(project, snapshot)
        if not records:
            return None
        key = ("tail", project.id, tuple(id(r) for r in records))
        table = self.cache.get(key)
        if table is None:
            table = events_to_table([item for r in records for item in r.items], project.shards)
            self.cache.put(key, table, table.nbytes)
        return table

    def scan(
        self,
        project: Project,
        columns: Sequence[str],
        time_range: TimeRange | None = None,
        shards: Iterable[int] | None = None,
        as_of: int | datetime | None = None,
        group: str | None = None,
        by_user: bool = True,
    ) -> list[ShardScan]:
        """Columns of every wanted shard; ``as_of`` (a table version or a time) reads the past
        and leaves out the uncommitted tail. Rows belong to the resolved user (identity
        clusters), or with ``group`` to the value of that event property; ``by_user=False``
        keeps them where they are stored, for readers that never look at who did what."""
        read = (project, columns, time_range, shards, as_of, group, by_user)
        try:
            return self._scan(*read)
        except FileNotFoundError:
            # A data file went during the read: vacuumed, past the retention window.
            root = ProjectPaths(self.data_dir, project.id).events
            if as_of is not None:
                raise version_error(root, as_of, files_gone=True) from None
            # The version read was replaced and its files vacuumed meanwhile (only a window
            # shorter than this read can do that): the latest version has all of its files.
            return self._scan(*read)

    def _scan(
        self,
        project: Project,
        columns: Sequence[str],
        time_range: TimeRange | None,
        shards: Iterable[int] | None,
        as_of: int | datetime | None,
        group: str | None,
        by_user: bool,
    ) -> list[ShardScan]:
        snapshot = self.snapshot(project, as_of)
        if as_of is not None and snapshot is None:
            return []
        tail = self._tail_table(project, snapshot) if as_of is None else None
        deletions = DeletionList(ProjectPaths(self.data_dir, project.id).deletions)
        # Rows stored under users resolved when written: a table with such rows has a
        # sent_hash column, and rows then move to today's resolved users (or, reading the
        # past, back to the ids they were sent with).
        resolved = snapshot is not None and SENT_HASH in snapshot.column_names()
        rekey = None
        if group is not None or (by_user and (as_of is None or resolved)):
            rekey = self._rekey(project, group, as_of is None, resolved)
        wanted = range(project.shards) if shards is None else shards
        read = sorted({*columns, *rekey.columns, "time"}) if rekey is not None else columns

        def one(shard: int) -> Source | None:
            parts = snapshot.parts([shard], time_range) if snapshot is not None else []
            shard_tail = _shard_rows(tail, shard)
            if not parts and shard_tail is None:
                return None

            def load(wanted: Sequence[str]) -> dict[str, pa.Array]:
                return self._scan_shard(snapshot, parts, shard_tail, wanted, time_range, deletions)

            stable = None
            if shard_tail is None and snapshot is not None:
                stable = (
                    str(snapshot.root),
                    tuple(p.path for p in parts),
                    time_range,
                    len(deletions.all()),
                )
            return Source(shard, load(read), stable, lambda c: load([c])[c])

        # Shards decode in parallel: Parquet reading and Arrow kernels release the GIL.
        if rekey is None:
            found = [s for s in _READERS.map(one, wanted) if s is not None]
            return [ShardScan(s.shard, s.columns, s.key) for s in found]
        sources = [s for s in _READERS.map(one, range(project.shards)) if s is not None]
        targets = rekeyed(
            sources,
            rekey,
            list(columns),
            set(wanted),
            project.shards,
            self.cache,
            _READERS.map,
            dedupe=resolved,
        )
        return [ShardScan(shard, columns_of, key) for shard, columns_of, key in targets]

    def _rekey(
        self, project: Project, group: str | None, now: bool, resolved: bool
    ) -> Rekey | None:
        if group is not None:
            return group_rekey(property_columns(self, project).get(group, []), group)
        identity = self.identity(project) if now else IdentityMap()
        return identity_rekey(identity) if identity or resolved else None

    def kept_rows(self, project: Project, time_range: TimeRange | None = None) -> list[ShardRows]:
        """Per shard, where the rows a scan (``by_user=False``) returns come from, without
        reading any column but the ones ordering, deduplication and deletion need."""
        snapshot = self.snapshot(project)
        tail = self._tail_table(project, snapshot)
        deletions = DeletionList(ProjectPaths(self.data_dir, project.id).deletions)
        root = snapshot.root if snapshot is not None else Path()

        def one(shard: int) -> ShardRows | None:
            parts = snapshot.parts([shard], time_range) if snapshot is not None else []
            shard_tail = _shard_rows(tail, shard)
            if not parts and shard_tail is None:
                return None
            order, selection, _ = self._rows(root, parts, shard_tail, time_range, deletions, ())
            return ShardRows(shard, root, parts, shard_tail, order, selection)

        return [found for found in _READERS.map(one, range(project.shards)) if found]

    def _scan_shard(
        self,
        snapshot: Snapshot | None,
        parts: list[Part],
        tail: pa.Table | None,
        columns: Sequence[str],
        time_range: TimeRange | None,
        deletions: DeletionList,
    ) -> dict[str, pa.Array]:
        root = snapshot.root if snapshot is not None else Path()
        _, selection, merged = self._rows(root, parts, tail, time_range, deletions, columns)
        rows = None if selection is None else arrow_of(selection)
        return {
            column: merged(column) if rows is None else merged(column).take(rows)
            for column in columns
        }

    def _rows(
        self,
        root: Path,
        parts: list[Part],
        tail: pa.Table | None,
        time_range: TimeRange | None,
        deletions: DeletionList,
        columns: Sequence[str],
    ) -> tuple[Positions | None, Positions | None, Callable[[str], pa.Array]]:
        """The merge order of the parts and tail (positions in their concatenation, None when
        already in order), the rows of it in range and not deleted (None: all), and the
        merged columns. ``columns``, and the ones ordering needs, are read from each part at
        once: one open of the file, its footer parsed once, however many columns."""
        key = tuple(p.path for p in parts)
        found = self.cache.get(("order", root, key))
        # Everything this scan will read from the parts, in one read per part: each file is
        # opened once and its columns decode on Arrow's threads together.
        wanted = set(columns)
        if found is None or tail is not None:
            wanted |= {"user_hash", "time"}
        if time_range is not None:
            wanted.add("time")
        if deletions.all():
            wanted |= {"user_hash", SENT_HASH, "received_ms"}
        loaded = {p.path: self.part_columns(root, p, sorted(wanted)) for p in parts}

        def part_column(part: Part, column: str) -> pa.Array:
            array = loaded[part.path].get(column)
            return self._part_column(root, part, column) if array is None else array

        def load(column: str) -> pa.ChunkedArray:
            return _chunks(parts, tail, column, part_column)

        def load_parts(column: str) -> pa.ChunkedArray:
            return _chunks(parts, None, column, part_column)

        if found is None:
            clean = [self._footer(root, p)[2] for p in parts]
            # A shard's parts come oldest first: when the last order this reader made
            # covers the first of them, the newer parts' rows are merged into it rather
            # than every row sorted again (the same order: ties go by part age either way).
            last_key = ("last-order", root, parts[0].shard if parts else -1, time_range)
            last = self.cache.get(last_key)
            committed: Positions | None
            if last is not None and key[: len(last[0])] == last[0] and len(last[0]) < len(key):
                committed = extended(load_parts, last[1], clean[len(last[0]) :])
            else:
                committed = merge_order(load_parts, clean)
            size = 0 if committed is None else committed.nbytes
            self.cache.put(("order", root, key), (committed,), size)
            self.cache.put(last_key, (key, committed), size)
        else:
            committed = found[0]
        order = committed if tail is None else extended(load, committed, [False])

        def merged(column: str) -> pa.Array:
            return self._column(root, parts, load(column), tail is None, column, order)

        return order, _select(merged, time_range, deletions), merged

    def _column(
        self,
        root: Path,
        parts: list[Part],
        chunks: pa.ChunkedArray,
        stable: bool,
        column: str,
        order: Positions | None,
    ) -> pa.Array:
        """The shard's column in merge order; kept while ``stable`` (no tail)."""
        if order is None and chunks.num_chunks == 1:
            return chunks.chunk(0)  # one part already in order: the part's own array
        cache_key = ("merged", root, tuple(p.path for p in parts), column)
        if stable:
            cached = self.cache.get(cache_key)
            if cached is not None:
                return cached
        if order is None:
            merged = chunks.combine_chunks()
        elif not len(order):
            merged = pa.nulls(0, column_type(column))
        elif chunks.num_chunks == 1:
            merged = chunks.chunk(0).take(arrow_of(order))
        else:
            merged = chunks.take(arrow_of(order)).combine_chunks()
        if stable:
            self.cache.put(cache_key, merged, merged.nbytes)
        return merged

    def _footer(
        self, root: Path, part: Part, parquet: pq.ParquetFile | None = None
    ) -> tuple[pq.FileMetaData, frozenset[str], bool]:
        """A part's Parquet footer, the columns it stores and whether it is free of
        duplicates; read once per process (a part never changes), from ``parquet`` when the
        file is open already."""
        key = ("footer", root, part.path)
        found: tuple[pq.FileMetaData, frozenset[str], bool] | None = self.cache.get(key)
        if found is None:
            metadata = pq.read_metadata(root / part.path) if parquet is None else parquet.metadata
            names = frozenset(metadata.schema.to_arrow_schema().names)
            deduplicated = DEDUPLICATED_KEY in (metadata.metadata or {})
            found = (metadata, names, deduplicated)
            self.cache.put(key, found, metadata.serialized_size + 64 * len(names))
        return found

    def footer(self, root: Path, part: Part) -> pq.FileMetaData:
        """The part's Parquet footer (schema, row groups, column statistics), parsed once and
        kept: a wide part's footer costs more to parse than a narrow column costs to read."""
        return self._footer(root, part)[0]

    def part_columns(self, root: Path, part: Part, columns: Sequence[str]) -> dict[str, pa.Array]:
        """The part's ``columns`` (nulls where it has none), decoding those not cached in one
        read of the file."""
        out: dict[str, pa.Array] = {}
        missing = []
        for column in columns:
            cached = self.cache.get(("part", root, part.path, column))
            if cached is None:
                missing.append(column)
            else:
                out[column] = cached
        if not missing:
            return out
        # memory_map: the file is in the OS page cache after its first read; mapping it saves
        # copying the compressed pages before decoding them. One open parses the footer too.
        table = None
        stored: frozenset[str] = frozenset()
        if any(c != "shard" for c in missing):  # the shard column is the part's partition
            known = self.cache.get(("footer", root, part.path))
            parquet = None if known else pq.ParquetFile(root / part.path, memory_map=True)
            metadata, stored, _ = self._footer(root, part, parquet)
            present = [c for c in missing if c in stored]
            if present:
                if parquet is None:
                    parquet = pq.ParquetFile(root / part.path, metadata=metadata, memory_map=True)
                table = parquet.read(columns=present)
        for column in missing:
            if column == "shard":
                array = arrow_of(np.full(part.rows, part.shard, np.int16))
            elif table is not None and column in stored:
                # One chunk per row group; merging chunks of a big dictionary column once here
                # costs less than every reader of it doing so.
                array = conform(table.column(column), column_type(column))
            else:
                array = pa.nulls(part.rows, column_type(column))
            self.cache.put(("part", root, part.path, column), array, array.nbytes)
            out[column] = array
        return out

    def _part_column(self, root: Path, part: Part, column: str) -> pa.Array:
        return self.part_columns(root, part, [column])[column]


@dataclass(frozen=True, slots=True)
class ShardRows:
    """Where one shard's scanned rows come from: its parts, then its tail rows, concatenated
    in that order; ``order`` merges them (positions in the concatenation, None when already
    in order) and ``selection`` picks those in range and not deleted (positions in the
    merged order, None: all)."""

    shard: int
    root: Path
    parts: list[Part]
    tail: pa.Table | None
    order: Positions | None
    selection: Positions | None

    def kept(self) -> Positions | None:
        """The positions in the concatenation of the rows a scan returns (None: all of them,
        in concatenation order)."""
        if self.order is None:
            return self.selection
        return self.order if self.selection is None else self.order[self.selection]


def _chunks(
    parts: list[Part],
    tail: pa.Table | None,
    column: str,
    part_column: Callable[[Part, str], pa.Array],
) -> pa.ChunkedArray:
    arrays = [part_column(part, column) for part in parts]
    if tail is not None:
        arrays.append(table_column(tail, column))
    return pa.chunked_array(arrays, column_type(column))


def _may_tie(mode: str, stored: frozenset[str]) -> bool:
    """Whether a part with these columns can hold identity edges: under simplified ID merge
    only events carrying both a ``$device_id`` and a ``$user_id`` tie ids."""
    if mode != "simplified":
        return True
    return all(
        property_column(name, "s") in stored or property_column(name, "i") in stored
        for name in ("$device_id", "$user_id")
    )


def _shard_rows(tail: pa.Table | None, shard: int) -> pa.Table | None:
    if tail is None:
        return None
    shards = numpy_of(tail.column("shard"))
    rows = np.flatnonzero(shards == shard)
    return tail.take(arrow_of(rows)) if len(rows) else None


def _select(
    merged: Callable[[str], pa.Array], time_range: TimeRange | None, deletions: DeletionList
) -> npt.NDArray[np.int64] | None:
    mask: npt.NDArray[np.bool_] | None = None
    if time_range is not None:
        times = numpy_of(merged("time"))
        inside = (times >= time_range[0]) & (times < time_range[1])
        if not inside.all():
            mask = inside
    if deletions.all():
        survivors = deletions.keep_mask(
            sent_hashes(merged("user_hash"), merged(SENT_HASH)), numpy_of(merged("received_ms"))
        )
        if survivors is not None:
            mask = survivors if mask is None else mask & survivors
    return None if mask is None else np.flatnonzero(mask)


def property_columns(reader: EventReader, project: Project) -> dict[str, list[str]]:
    """Every property of a project and the typed columns that hold it (committed and tail)."""
    names: set[str] = set()
    snapshot = reader.snapshot(project)
    if snapshot is not None:
        names.update(snapshot.column_names())
    for event in reader.tail_events(project, snapshot):
        for key, value in event["properties"].items():
            if key not in PROMOTED:
                names.add(property_column(key, value_kind(value)))
    out: dict[str, list[str]] = {}
    for column in sorted(names):
        parsed = parse_property_column(column)
        if parsed is not None:
            out.setdefault(parsed[0], []).append(column)
    return out


def _latest_version(root: Path, known: int | None = None) -> int | None:
    """The table's latest version: from ``known`` on, the commits that follow it (a file per
    commit, written whole); else from a listing of the log, whose length is the retention
    window's commits."""
    log = root / "_delta_log"
    if known is not None and (log / f"{known:020}.json").exists():
        while (log / f"{known + 1:020}.json").exists():
            known += 1
        return known
    try:
        names = os.listdir(log)
    except FileNotFoundError:
        return None
    versions = [int(name[:20]) for name in names if name.endswith(".json") and name[:20].isdigit()]
    return max(versions) if versions else None
