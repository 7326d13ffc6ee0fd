"""The latest events received: a live view's feed, newest arrival first.

Raw like export (what was received, not deduplicated; deleted users left out), ordered by
``received_ms`` rather than by event time, and including the uncommitted log tail. Parts are
visited newest first by an upper bound of their arrival times (their ``received_ms``
statistic, else the file's modification time, which is never earlier), and the visit stops
as soon as no further part can hold a newer event than those already kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trackway.projects import Project
from trackway.storage.batches import events_to_table
from trackway.storage.columns import table_to_events
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import Snapshot
from trackway.storage.layout import ProjectPaths
from trackway.storage.resolve import sent_column, sent_hashes
from trackway.storage.scan import EventReader


@dataclass(frozen=True, slots=True)
class LatestEvents:
    events: list[dict[str, Any]]  # newest arrival first
    cursor: int  # the greatest received_ms seen: the next call's ``after``
    truncated: bool  # more events arrived after ``after`` than ``limit``


def latest_events(
    reader: EventReader, project: Project, limit: int, after_ms: int = -1
) -> LatestEvents:
    """Up to ``limit`` events received after ``after_ms``, newest arrival first."""
    snapshot = reader.snapshot(project)
    deletions = DeletionList(ProjectPaths(reader.data_dir, project.id).deletions)
    # (received_ms, time, event) of the newest rows so far; one more than asked for tells
    # whether more arrived.
    kept: list[tuple[int, int, dict[str, Any]]] = []
    tail = reader.tail_events(project, snapshot)
    if tail:
        kept = _merge(kept, events_to_table(tail, project.shards), after_ms, deletions, limit)
    if snapshot is not None:
        for bound, path in _parts_newest_first(snapshot):
            floor = kept[limit][0] if len(kept) > limit else -1
            if bound <= after_ms or bound < floor:
                break  # no part from here on holds an event newer than those kept
            arrivals = pq.read_table(path, columns=["received_ms"]).column("received_ms")
            newest = pc.max(arrivals).as_py()
            if newest is None or newest <= after_ms or newest < floor:
                continue
            kept = _merge(kept, pq.read_table(path), after_ms, deletions, limit)
    if not kept:
        return LatestEvents([], after_ms, False)
    return LatestEvents([e for _, _, e in kept[:limit]], kept[0][0], len(kept) > limit)


def _parts_newest_first(snapshot: Snapshot) -> list[tuple[int, str]]:
    actions = pa.RecordBatchReader.from_stream(
        snapshot.table.get_add_actions(flatten=True)
    ).read_all()
    paths = actions.column("path").to_pylist()
    modified = actions.column("modification_time").to_pylist()
    stats = (
        actions.column("max.received_ms").to_pylist()
        if "max.received_ms" in actions.column_names
        else [None] * len(paths)
    )
    bounds = [int(s) if s is not None else int(m) for s, m in zip(stats, modified, strict=True)]
    ranked = sorted(zip(bounds, paths, strict=True), reverse=True)
    return [(bound, str(snapshot.root / path)) for bound, path in ranked]


def _merge(
    kept: list[tuple[int, int, dict[str, Any]]],
    table: pa.Table,
    after_ms: int,
    deletions: DeletionList,
    limit: int,
) -> list[tuple[int, int, dict[str, Any]]]:
    """``kept`` with the newest rows of ``table`` received after ``after_ms`` added, cut to
    ``limit`` + 1 (arrival, then event time, descending)."""
    mask = pc.greater(table.column("received_ms"), after_ms)
    keep = deletions.keep_mask(
        sent_hashes(table.column("user_hash").combine_chunks(), sent_column(table)),
        table.column("received_ms").to_numpy(),
    )
    if keep is not None:
        mask = pc.and_(mask, pa.array(keep))
    table = table.filter(mask)
    order = pc.sort_indices(
        table, sort_keys=[("received_ms", "descending"), ("time", "descending")]
    )
    newest = table.take(order[: limit + 1])
    received = newest.column("received_ms").to_pylist()
    times = newest.column("time").to_pylist()
    rows = zip(received, times, table_to_events(newest), strict=True)
    merged = sorted([*kept, *rows], key=lambda row: (row[0], row[1]), reverse=True)
    return merged[: limit + 1]
