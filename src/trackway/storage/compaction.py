"""Compaction: merge a shard's small parts into one, re-sorted, without duplicates.

When a shard holds more than ``compaction_trigger_parts`` parts, every part smaller than
``compaction_target_bytes`` is merged into one new part in a single Delta commit that removes
them. The parts that remain are that one plus parts already at the target size, so the
number of files per shard stays bounded however long the server runs. The merge drops exact
duplicates (the latest ingested copy wins) and the rows of deleted users.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trackway.settings import Settings
from trackway.storage.columns import column_type, conform
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import DEDUPLICATED_KEY, EventTable, Part, Snapshot


def compact_project(table: EventTable, deletions: DeletionList, settings: Settings) -> int:
    """Compact every shard that needs it; returns how many shards were rewritten."""
    snapshot = table.snapshot()
    if snapshot is None:
        return 0
    by_shard: dict[int, list[Part]] = {}
    for part in snapshot.parts():
        by_shard.setdefault(part.shard, []).append(part)
    rewritten = 0
    for shard, parts in sorted(by_shard.items()):
        small = [p for p in parts if p.size < settings.compaction_target_bytes]
        if len(parts) > settings.compaction_trigger_parts and len(small) > 1:
            table.replace_parts(snapshot, shard, small, merge_parts(snapshot, small, deletions))
            snapshot = table.snapshot() or snapshot
            rewritten += 1
    return rewritten


def _conformed(table: pa.Table) -> pa.Table:
    """Every column in its canonical type, so parts written in different shapes concatenate."""
    columns = [conform(table.column(name), column_type(name)) for name in table.column_names]
    return pa.table(columns, names=table.column_names)


def merge_parts(snapshot: Snapshot, parts: list[Part], deletions: DeletionList) -> pa.Table:
    tables = [_conformed(pq.read_table(snapshot.root / p.path)) for p in parts]
    merged = pa.concat_tables(tables, promote_options="permissive").unify_dictionaries()
    users = merged.column("user_hash").to_numpy()
    times = merged.column("time").to_numpy()
    received = merged.column("received_ms").to_numpy()
    events = merged.column("event").combine_chunks().indices.to_numpy()
    insert_ids = merged.column("insert_id").combine_chunks().dictionary_encode().indices.to_numpy()
    # Sorted by the dedupe key with the latest copy first, then one row kept per key.
    order = np.lexsort((-received, insert_ids, events, times, users))
    key = np.stack([users[order], times[order], events[order], insert_ids[order]])
    first = np.ones(len(order), bool)
    first[1:] = (key[:, 1:] != key[:, :-1]).any(axis=0)
    order = order[first]
    keep = deletions.keep_mask(users[order], received[order])
    if keep is not None:
        order = order[keep]
    out = merged.take(order).combine_chunks()
    if out.column("insert_id").null_count or out.column("event").null_count:
        return out  # nulls compared unequal above, but the scan's dedupe finds them equal
    return out.replace_schema_metadata({**(out.schema.metadata or {}), DEDUPLICATED_KEY: b"1"})
