"""Raw export: the events as they were received, without deduplication.

Reads the parts of a snapshot (optionally an earlier version) whose time overlaps the range,
plus the uncommitted tail for the current version; deleted users are left out. Compaction
may already have dropped exact duplicates from the parts it rewrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trackway.projects import Project
from trackway.storage.columns import events_to_table, table_to_events
from trackway.storage.deletions import DeletionList
from trackway.storage.layout import ProjectPaths
from trackway.storage.scan import EventReader, TimeRange

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
) -> Iterator[dict[str, Any]]:
    """``row_filter`` (the query layer's compiled ``where``) keeps the rows it marks true."""
    snapshot = reader.snapshot(project, as_of)
    deletions = DeletionList(ProjectPaths(reader.data_dir, project.id).deletions)
    tables: list[tuple[Any, str | None]] = []
    if snapshot is not None:
        tables += [(snapshot.root / part.path, None) for part in snapshot.parts(None, time_range)]
    if as_of is None:
        tail = reader.tail_events(project, snapshot)
        if tail:
            tables.append((events_to_table(tail, project.shards), "tail"))
    remaining = limit
    for source, kind in tables:
        table = source if kind == "tail" else pq.read_table(source)
        table = _filter(table, time_range, event_names, deletions)
        if row_filter is not None and table.num_rows:
            table = table.filter(pa.array(row_filter(table)))
        for start in range(0, table.num_rows, _CHUNK_ROWS):
            chunk = table.slice(start, _CHUNK_ROWS)
            if remaining is not None:
                chunk = chunk.slice(0, remaining)
                remaining -= chunk.num_rows
            yield from table_to_events(chunk, time_in_ms)
            if remaining is not None and remaining <= 0:
                return


def _filter(
    table: pa.Table, time_range: TimeRange, names: set[str] | None, deletions: DeletionList
) -> pa.Table:
    times = table.column("time")
    mask = pc.and_(pc.greater_equal(times, time_range[0]), pc.less(times, time_range[1]))
    if names is not None:
        mask = pc.and_(
            mask, pc.is_in(table.column("event").cast(pa.string()), pa.array(sorted(names)))
        )
    keep = deletions.keep_mask(
        table.column("user_hash").to_numpy(), table.column("received_ms").to_numpy()
    )
    if keep is not None:
        mask = pc.and_(mask, pa.array(keep))
    return table.filter(mask) if not np.all(mask.to_numpy(zero_copy_only=False)) else table
