"""The scan API of the query layer: a project's columns per shard, in (user, time) order.

Reads only the parts whose time statistics overlap the range and only the asked columns,
merges a shard's parts, drops duplicates (equal event, distinct_id, time and ``$insert_id``:
the latest ingested copy wins) and deleted users, and adds the log tail the storage worker
has not committed yet. Decoded columns and merge orders are kept in a memory-bounded cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
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
from trackway.storage.batches import events_to_table
from trackway.storage.cache import ColumnCache
from trackway.storage.columns import (
    PROMOTED,
    column_type,
    conform,
    parse_property_column,
    property_column,
    value_kind,
)
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable, Part, Snapshot, version_error
from trackway.storage.identity import IdentityMap
from trackway.storage.identity_scan import Edges, project_identity, source_edges
from trackway.storage.layout import ProjectPaths
from trackway.storage.merge_kernel import merge_positions
from trackway.storage.profile_reader import ProfileReader
from trackway.storage.rekey import Rekey, group_rekey, identity_rekey, rekeyed
from trackway.storage.tail import LogTail
from trackway.types import TimeRange

# What deduplication and ordering need, whatever the query asks for.
_KEY_COLUMNS = ("user_hash", "time", "event", "insert_id", "received_ms")
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
                if found is None:
                    found = source_edges(
                        mode, lambda c: self._part_column(root, part, c), deletions
                    )
                    self.cache.put(key, found, 100 * (len(found[0]) + len(found[1])) + 64)
                return found

            return edges

        tail = self._tail_table(project, snapshot)
        tail_edges: Edges = ([], [])
        if tail is not None:
            tail_edges = source_edges(mode, lambda c: _table_column(tail, c), deletions)
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
        rekey = None
        if group is not None or (by_user and as_of is None):
            rekey = self._rekey(project, group)
        wanted = range(project.shards) if shards is None else shards
        read = sorted({*columns, *rekey.columns, "time"}) if rekey is not None else columns

        def one(shard: int) -> ShardScan | None:
            parts = snapshot.parts([shard], time_range) if snapshot is not None else []
            shard_tail = _shard_rows(tail, shard)
            if not parts and shard_tail is None:
                return None
            columns_of_shard = self._scan_shard(
                snapshot, parts, shard_tail, read, time_range, deletions
            )
            stable = None
            if shard_tail is None and snapshot is not None:
                stable = (
                    str(snapshot.root),
                    tuple(p.path for p in parts),
                    time_range,
                    len(deletions.all()),
                )
            return ShardScan(shard, columns_of_shard, stable)

        # Shards decode in parallel: Parquet reading and Arrow kernels release the GIL.
        if rekey is None:
            return [found for found in _READERS.map(one, wanted) if found is not None]
        found = [s for s in _READERS.map(one, range(project.shards)) if s is not None]
        sources = [(s.columns, s.key) for s in found]
        targets = rekeyed(
            sources,
            [s.shard for s in found],
            rekey,
            list(columns),
            set(wanted),
            project.shards,
            self.cache,
            _READERS.map,
        )
        return [ShardScan(shard, columns_of, key) for shard, columns_of, key in targets]

    def _rekey(self, project: Project, group: str | None) -> Rekey | None:
        if group is not None:
            return group_rekey(property_columns(self, project).get(group, []), group)
        identity = self.identity(project)
        return identity_rekey(identity) if identity else None

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
        return {
            column: merged(column) if selection is None else merged(column).take(selection)
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
        wanted = {*columns, "user_hash", "time"}
        if deletions.all():
            wanted.add("received_ms")
        read = {
            (part.path, column): array
            for part in parts
            for column, array in self.part_columns(root, part, sorted(wanted)).items()
        }

        def load(column: str) -> pa.ChunkedArray:
            return self._chunks(root, parts, tail, column, read)

        def load_parts(column: str) -> pa.ChunkedArray:
            return self._chunks(root, parts, None, column, read)

        found = self.cache.get(("order", root, key))
        if found is None:
            committed = _merge_order(load_parts)
            size = 0 if committed is None else committed.nbytes
            self.cache.put(("order", root, key), (committed,), size)
        else:
            committed = found[0]
        order = committed if tail is None else _with_tail(load, committed, tail.num_rows)

        def merged(column: str) -> pa.Array:
            return self._column(root, parts, tail, column, order, read)

        return order, _select(merged, time_range, deletions), merged

    def _column(
        self,
        root: Path,
        parts: list[Part],
        tail: pa.Table | None,
        column: str,
        order: Positions | None,
        read: Mapping[tuple[str, str], pa.Array],
    ) -> pa.Array:
        cache_key = ("merged", root, tuple(p.path for p in parts), column)
        if tail is None:
            cached = self.cache.get(cache_key)
            if cached is not None:
                return cached
        chunks = self._chunks(root, parts, tail, column, read)
        if order is None:  # already in order: no copy for a single part
            merged = chunks.combine_chunks()
        elif len(order):
            merged = chunks.take(order).combine_chunks()
        else:
            merged = pa.array([], column_type(column))
        if tail is None:
            self.cache.put(cache_key, merged, merged.nbytes)
        return merged

    def _chunks(
        self,
        root: Path,
        parts: list[Part],
        tail: pa.Table | None,
        column: str,
        read: Mapping[tuple[str, str], pa.Array],
    ) -> pa.ChunkedArray:
        arrays = [read.get((part.path, column)) for part in parts]
        arrays = [
            self._part_column(root, part, column) if array is None else array
            for part, array in zip(parts, arrays, strict=True)
        ]
        if tail is not None:
            arrays.append(_table_column(tail, column))
        return pa.chunked_array(arrays, column_type(column))

    def _part_column(self, root: Path, part: Part, column: str) -> pa.Array:
        return self.part_columns(root, part, (column,))[column]

    def part_columns(self, root: Path, part: Part, columns: Sequence[str]) -> dict[str, pa.Array]:
        """``columns`` of one part in the types readers expect (nulls where the part lacks
        one), each cached; those not cached are read together."""
        found: dict[str, pa.Array] = {}
        missing = []
        for column in columns:
            cached = self.cache.get(("part", root, part.path, column))
            if cached is None:
                missing.append(column)
            else:
                found[column] = cached
        if not missing:
            return found
        stored: set[str] = set()
        parquet = None
        if any(column != "shard" for column in missing):
            parquet = self._open(root, part)
            stored = set(parquet.metadata.schema.names)
        present = [column for column in missing if column in stored]
        table = parquet.read(columns=present) if parquet is not None and present else None
        for column in missing:
            if column == "shard":
                array: pa.Array = pa.array(np.full(part.rows, part.shard, np.int16))
            elif table is not None and column in stored:
                # ParquetFile.read gives one chunk per row group; read_table splits further,
                # and merging chunks of a big dictionary column costs more than reading it.
                array = conform(table.column(column).combine_chunks(), column_type(column))
            else:
                array = pa.nulls(part.rows, column_type(column))
            self.cache.put(("part", root, part.path, column), array, array.nbytes)
            found[column] = array
        return found

    def footer(self, root: Path, part: Part) -> pq.FileMetaData:
        """The part's Parquet footer (schema, row groups, column statistics), parsed once and
        kept: a wide part's footer costs more to parse than a narrow column costs to read."""
        found: pq.FileMetaData | None = self.cache.get(("footer", root, part.path))
        return self._open(root, part).metadata if found is None else found

    def _open(self, root: Path, part: Part) -> pq.ParquetFile:
        key = ("footer", root, part.path)
        metadata: pq.FileMetaData | None = self.cache.get(key)
        parquet = pq.ParquetFile(root / part.path, metadata=metadata)
        if metadata is None:
            metadata = parquet.metadata
            self.cache.put(key, metadata, int(metadata.serialized_size) * 4 + 1024)
        return parquet


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


def _table_column(table: pa.Table, column: str) -> pa.Array:
    if column in table.column_names:
        return conform(table.column(column), column_type(column))
    return pa.nulls(table.num_rows, column_type(column))


def _shard_rows(tail: pa.Table | None, shard: int) -> pa.Table | None:
    if tail is None:
        return None
    shards = tail.column("shard").to_numpy()
    rows = np.flatnonzero(shards == shard)
    return tail.take(rows) if len(rows) else None


def _merge_order(load: Callable[[str], pa.ChunkedArray]) -> npt.NDArray[np.int64] | None:
    """Row order of the concatenated chunks: by (user, time), duplicates dropped; None when
    the rows already are in that order without duplicates. Duplicates can only sit among rows
    of equal (user, time), so the other key columns are read only when such rows exist."""
    users = load("user_hash").to_numpy()
    times = load("time").to_numpy()
    # Parts are written sorted, but a Delta DELETE may rewrite one in another order, and
    # several parts interleave: sort unless the rows already are in order (a cheap check).
    sorted_already = bool(
        np.all((users[1:] > users[:-1]) | ((users[1:] == users[:-1]) & (times[1:] >= times[:-1])))
    )
    order = None if sorted_already else np.lexsort((times, users)).astype(np.int64)
    u, t = (users, times) if order is None else (users[order], times[order])
    same = np.flatnonzero((u[1:] == u[:-1]) & (t[1:] == t[:-1]))
    if len(same) == 0:
        return order
    keys = {c: load(c) for c in _KEY_COLUMNS}
    return _drop_duplicates(
        np.arange(len(users), dtype=np.int64) if order is None else order, same, keys
    )


def _with_tail(
    load: Callable[[str], pa.ChunkedArray],
    committed: npt.NDArray[np.int64] | None,
    tail_rows: int,
) -> npt.NDArray[np.int64]:
    """Row order of the committed parts (in ``committed`` order) and the tail's rows after
    them: the tail is short and sorted, so it is merged in (one linear pass) rather than
    everything sorted again; then duplicates across the two are dropped."""
    users = np.asarray(load("user_hash").to_numpy(), np.int64)
    times = np.asarray(load("time").to_numpy(), np.int64)
    n = len(users) - tail_rows
    first = np.arange(n, dtype=np.int64) if committed is None else committed
    second = np.arange(n, len(users), dtype=np.int64)
    merged = merge_positions(users[first], times[first], users[second], times[second])
    order = np.concatenate((first, second))[merged]
    u, t = users[order], times[order]
    same = np.flatnonzero((u[1:] == u[:-1]) & (t[1:] == t[:-1]))
    if len(same) == 0:
        return order
    return _drop_duplicates(order, same, {c: load(c) for c in _KEY_COLUMNS})


def _drop_duplicates(
    order: npt.NDArray[np.int64], same: npt.NDArray[np.int64], keys: dict[str, pa.ChunkedArray]
) -> npt.NDArray[np.int64]:
    """Within runs of equal (user, time), keep one row per (event, insert_id): the latest
    received. Such runs are rare and short, so plain Python over them is cheap."""
    events = keys["event"]
    insert_ids = keys["insert_id"]
    received = keys["received_ms"].to_numpy()
    candidates = np.union1d(same, same + 1)  # positions in ``order`` within a run
    best: dict[tuple[Any, ...], tuple[int, int]] = {}
    users = keys["user_hash"].to_numpy()
    times = keys["time"].to_numpy()
    for position in candidates.tolist():
        row = int(order[position])
        key = (int(users[row]), int(times[row]), events[row].as_py(), insert_ids[row].as_py())
        kept = best.get(key)
        if kept is None or received[row] >= received[kept[1]]:
            best[key] = (position, row)
    keep = np.ones(len(order), bool)
    keep[candidates] = False
    keep[[position for position, _ in best.values()]] = True
    return order[keep]


def _select(
    merged: Callable[[str], pa.Array], time_range: TimeRange | None, deletions: DeletionList
) -> npt.NDArray[np.int64] | None:
    mask: npt.NDArray[np.bool_] | None = None
    if time_range is not None:
        times = merged("time").to_numpy()
        inside = (times >= time_range[0]) & (times < time_range[1])
        if not inside.all():
            mask = inside
    if deletions.all():
        survivors = deletions.keep_mask(
            merged("user_hash").to_numpy(), merged("received_ms").to_numpy()
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
