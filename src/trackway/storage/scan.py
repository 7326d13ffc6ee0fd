"""The scan API of the query layer: a project's columns per shard, in (user, time) order.

Reads only the parts whose time statistics overlap the range and only the asked columns,
merges a shard's parts, drops duplicates (equal event, distinct_id, time and ``$insert_id``:
the latest ingested copy wins) and deleted users, and adds the log tail the storage worker
has not committed yet. Decoded columns and merge orders are kept in a memory-bounded cache.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from trackway.projects import Project
from trackway.storage.cache import ColumnCache
from trackway.storage.columns import (
    PROMOTED,
    column_type,
    conform,
    events_to_table,
    parse_property_column,
    property_column,
    value_kind,
)
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable, Part, Snapshot
from trackway.storage.layout import ProjectPaths
from trackway.storage.tail import LogTail

# What deduplication and ordering need, whatever the query asks for.
_KEY_COLUMNS = ("user_hash", "time", "event", "insert_id", "received_ms")
_EVENT_KINDS = ("track", "import")
TimeRange = tuple[int, int]


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
        self.log_tail = LogTail(data_dir / "log")

    def snapshot(self, project: Project, as_of: int | datetime | None = None) -> Snapshot | None:
        return EventTable(ProjectPaths(self.data_dir, project.id).events).snapshot(as_of)

    def tail_events(self, project: Project, snapshot: Snapshot | None) -> list[dict[str, Any]]:
        def applied(writer: str) -> int:
            return 0 if snapshot is None else snapshot.applied_offset(writer)

        records = self.log_tail.records(project.id, applied)
        return [item for r in records if r.kind in _EVENT_KINDS for item in r.items]

    def scan(
        self,
        project: Project,
        columns: Sequence[str],
        time_range: TimeRange | None = None,
        shards: Iterable[int] | None = None,
        as_of: int | datetime | None = None,
    ) -> list[ShardScan]:
        """Columns of every wanted shard; ``as_of`` (a table version or a time) reads the past
        and leaves out the uncommitted tail."""
        snapshot = self.snapshot(project, as_of)
        if as_of is not None and snapshot is None:
            return []
        tail = None
        if as_of is None:
            events = self.tail_events(project, snapshot)
            tail = events_to_table(events, project.shards) if events else None
        deletions = DeletionList(ProjectPaths(self.data_dir, project.id).deletions)
        wanted = range(project.shards) if shards is None else shards
        out = []
        for shard in wanted:
            parts = snapshot.parts([shard], time_range) if snapshot is not None else []
            shard_tail = _shard_rows(tail, shard)
            if not parts and shard_tail is None:
                continue
            columns_of_shard = self._scan_shard(
                snapshot, parts, shard_tail, columns, time_range, deletions
            )
            stable = None
            if shard_tail is None and snapshot is not None:
                stable = (
                    str(snapshot.root),
                    tuple(p.path for p in parts),
                    time_range,
                    len(deletions.all()),
                )
            out.append(ShardScan(shard, columns_of_shard, stable))
        return out

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
        key = tuple(p.path for p in parts)
        if tail is None:
            order = self.cache.get(("order", root, key))
            if order is None:
                order = _merge_order(self._key_columns(root, parts, None))
                self.cache.put(("order", root, key), order, order.nbytes)
        else:
            order = _merge_order(self._key_columns(root, parts, tail))
        keys = {
            c: self._column(root, parts, tail, c, order)
            for c in ("time", "user_hash", "received_ms")
        }
        selection = _select(keys, time_range, deletions)
        result = {}
        for column in columns:
            merged = keys.get(column)
            if merged is None:
                merged = self._column(root, parts, tail, column, order)
            result[column] = merged if selection is None else merged.take(selection)
        return result

    def _key_columns(
        self, root: Path, parts: list[Part], tail: pa.Table | None
    ) -> dict[str, pa.ChunkedArray]:
        return {c: self._chunks(root, parts, tail, c) for c in _KEY_COLUMNS}

    def _column(
        self,
        root: Path,
        parts: list[Part],
        tail: pa.Table | None,
        column: str,
        order: npt.NDArray[np.int64],
    ) -> pa.Array:
        cache_key = ("merged", root, tuple(p.path for p in parts), column)
        if tail is None:
            cached = self.cache.get(cache_key)
            if cached is not None:
                return cached
        chunks = self._chunks(root, parts, tail, column)
        merged = (
            chunks.take(order).combine_chunks() if len(order) else pa.array([], column_type(column))
        )
        if tail is None:
            self.cache.put(cache_key, merged, merged.nbytes)
        return merged

    def _chunks(
        self, root: Path, parts: list[Part], tail: pa.Table | None, column: str
    ) -> pa.ChunkedArray:
        arrays = [self._part_column(root, part, column) for part in parts]
        if tail is not None:
            arrays.append(_table_column(tail, column))
        return pa.chunked_array(arrays, column_type(column))

    def _part_column(self, root: Path, part: Part, column: str) -> pa.Array:
        key = ("part", root, part.path, column)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        path = root / part.path
        schema = pq.read_schema(path)
        if column == "shard":
            array: pa.Array = pa.array(np.full(part.rows, part.shard, np.int16))
        elif column in schema.names:
            array = pq.read_table(path, columns=[column]).column(0).combine_chunks()
            array = conform(array, column_type(column))
        else:
            array = pa.nulls(part.rows, column_type(column))
        self.cache.put(key, array, array.nbytes)
        return array


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


def _merge_order(keys: dict[str, pa.ChunkedArray]) -> npt.NDArray[np.int64]:
    """Row order of the concatenated chunks: by (user, time), duplicates dropped."""
    users = keys["user_hash"].to_numpy()
    times = keys["time"].to_numpy()
    # Parts are written sorted, but a Delta DELETE may rewrite one in another order, and
    # several parts interleave: sort unless the rows already are in order (a cheap check).
    sorted_already = bool(
        np.all((users[1:] > users[:-1]) | ((users[1:] == users[:-1]) & (times[1:] >= times[:-1])))
    )
    if sorted_already:
        order = np.arange(len(users), dtype=np.int64)
    else:
        order = np.lexsort((times, users)).astype(np.int64)
    u, t = users[order], times[order]
    same = np.flatnonzero((u[1:] == u[:-1]) & (t[1:] == t[:-1]))
    if len(same) == 0:
        return order
    return _drop_duplicates(order, same, keys)


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
    keys: dict[str, pa.Array], time_range: TimeRange | None, deletions: DeletionList
) -> npt.NDArray[np.int64] | None:
    mask: npt.NDArray[np.bool_] | None = None
    if time_range is not None:
        times = keys["time"].to_numpy()
        inside = (times >= time_range[0]) & (times < time_range[1])
        if not inside.all():
            mask = inside
    survivors = deletions.keep_mask(keys["user_hash"].to_numpy(), keys["received_ms"].to_numpy())
    if survivors is not None:
        mask = survivors if mask is None else mask & survivors
    return None if mask is None else np.flatnonzero(mask)


def property_columns(reader: EventReader, project: Project) -> dict[str, list[str]]:
    """Every property of a project and the typed columns that hold it (committed and tail)."""
    names: set[str] = set()
    snapshot = reader.snapshot(project)
    if snapshot is not None:
        names.update(field.name for field in snapshot.table.schema().fields)
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
