"""Raw export: the events as they were received, without deduplication.

Reads the parts of a snapshot (optionally an earlier version) whose time overlaps the range,
plus the uncommitted tail for the current version; deleted users are left out. Compaction
may already have dropped exact duplicates from the parts it rewrote. Each event keeps the
``distinct_id`` it was sent with and gets its identity cluster's canonical id as
``$resolved_distinct_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trackway.projects import Project
from trackway.storage.batches import events_to_table
from trackway.storage.columns import SENT_HASH, table_to_events
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import version_error
from trackway.storage.identity import IdentityMap
from trackway.storage.layout import ProjectPaths
from trackway.storage.resolve import sent_column, sent_hashes
from trackway.storage.scan import EventReader
from trackway.storage.sharding import shard_of, user_hash
from trackway.types import TimeRange

_CHUNK_ROWS = 8192


def export_events(
    reader: EventReader,
    project: Project,
    time_range: TimeRange,
    event_names: set[str] | None = None,
    limit: int | None = None,
    as_of: int | datetime | None = None,
    time_in_ms: bool = True,
    row_filter: Callable[[pa.Table], npt.NDArray[np.bool_]] | None = None,
    distinct_ids: Collection[str] | None = None,
) -> Iterator[dict[str, Any]]:
    """``row_filter`` (the query layer's compiled ``where``) keeps the rows it marks true;
    ``distinct_ids`` keeps the events sent with one of these ids (reading their shards only).
    ``$resolved_distinct_id`` is the canonical id as of now, also when reading the past.
    The version is opened here, so that one the table no longer holds fails before any row."""
    snapshot = reader.snapshot(project, as_of)
    shards, users = None, None
    if distinct_ids is not None:
        users = pa.array(sorted(distinct_ids), pa.string())
        hashes = np.fromiter((user_hash(d) for d in distinct_ids), np.int64, len(distinct_ids))
        shards = set(shard_of(hashes, project.shards).tolist())
        if snapshot is not None and SENT_HASH in snapshot.column_names():
            shards = None  # rows are stored under the users their ids resolved to then
    tables: list[tuple[Any, str | None]] = []
    if snapshot is not None:
        tables += [(snapshot.root / part.path, None) for part in snapshot.parts(shards, time_range)]
        if as_of is not None and not all(path.exists() for path, _ in tables):
            raise version_error(snapshot.root, as_of, files_gone=True)
    if as_of is None:
        tail = reader.tail_events(project, snapshot)
        if tail:
            tables.append((events_to_table(tail, project.shards), "tail"))
    return _rows(
        reader, project, tables, time_range, event_names, limit, time_in_ms, row_filter, users
    )


def _rows(
    reader: EventReader,
    project: Project,
    tables: list[tuple[Any, str | None]],
    time_range: TimeRange,
    event_names: set[str] | None,
    limit: int | None,
    time_in_ms: bool,
    row_filter: Callable[[pa.Table], npt.NDArray[np.bool_]] | None,
    users: pa.Array | None,
) -> Iterator[dict[str, Any]]:
    deletions = DeletionList(ProjectPaths(reader.data_dir, project.id).deletions)
    remaining = limit
    identity: IdentityMap | None = None
    for source, kind in tables:
        table = source if kind == "tail" else pq.read_table(source)
        table = _filter(table, time_range, event_names, deletions, users)
        if row_filter is not None and table.num_rows:
            table = table.filter(pa.array(row_filter(table)))
        for start in range(0, table.num_rows, _CHUNK_ROWS):
            chunk = table.slice(start, _CHUNK_ROWS)
            if remaining is not None:
                chunk = chunk.slice(0, remaining)
                remaining -= chunk.num_rows
            if identity is None:
                identity = reader.identity(project)
            yield from _resolved(table_to_events(chunk, time_in_ms), chunk, identity)
            if remaining is not None and remaining <= 0:
                return


def _resolved(
    events: list[dict[str, Any]], chunk: pa.Table, identity: IdentityMap
) -> list[dict[str, Any]]:
    """Adds ``$resolved_distinct_id``, looking up each distinct id of the chunk once."""
    sent = pc.unique(chunk.column("distinct_id")).to_pylist()
    canonical = {d: identity.canonical(d) for d in sent}
    for event in events:
        properties = event["properties"]
        properties["$resolved_distinct_id"] = canonical[properties["distinct_id"]]
    return events


def _filter(
    table: pa.Table,
    time_range: TimeRange,
    names: set[str] | None,
    deletions: DeletionList,
    users: pa.Array | None,
) -> pa.Table:
    times = table.column("time")
    mask = pc.and_(pc.greater_equal(times, time_range[0]), pc.less(times, time_range[1]))
    if users is not None:
        mask = pc.and_(mask, pc.is_in(table.column("distinct_id").cast(pa.string()), users))
    if names is not None:
        mask = pc.and_(
            mask, pc.is_in(table.column("event").cast(pa.string()), pa.array(sorted(names)))
        )
    keep = deletions.keep_mask(
        sent_hashes(table.column("user_hash").combine_chunks(), sent_column(table)),
        table.column("received_ms").to_numpy(),
    )
    if keep is not None:
        mask = pc.and_(mask, pa.array(keep))
    return table.filter(mask) if not np.all(mask.to_numpy(zero_copy_only=False)) else table
