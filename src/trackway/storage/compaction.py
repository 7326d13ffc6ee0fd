"""Compaction: merge a shard's parts, re-sorted, without duplicates, few times per row.

Parts are merged by size tier, as log-structured stores do: a part's tier is how many times
``compaction_fan_in`` fits between ``compaction_base_bytes`` and its size, and when a tier holds
``compaction_fan_in`` parts they become one part of the next tier. A row is rewritten about
once per tier (log of the shard's size, not once per pass), and a shard holds at most
``fan_in - 1`` parts per tier. Parts of ``compaction_target_bytes`` and more are left alone.
As a backstop, a shard with more than ``compaction_trigger_parts`` parts has all its parts
under the target merged at once. A merge drops exact duplicates (the latest ingested copy
wins) and the rows of deleted users. One Delta commit swaps the parts of one merge in every
shard that needs one (a round); a merge that fills the next tier is the next round's.
Under ID merge, a merge also re-homes its rows: each is stored under the user its id
resolves to by the merges committed then, so reads have fewer rows to move (resolve.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trackway.settings import Settings
from trackway.storage.arrays import arrow_of, numpy_of
from trackway.storage.columns import column_type, conform
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import DEDUPLICATED_KEY, EventTable, Part, Snapshot
from trackway.storage.identity import IdentityMap, resolve_hashes
from trackway.storage.resolve import sent_column, sent_hashes, stored_under
from trackway.storage.rewrite import replace_parts
from trackway.storage.sharding import shard_of


@dataclass(frozen=True, slots=True)
class Rehoming:
    """Under ID merge: the merges known at a version, the project's number of shards, and
    the key-value metadata (identity edges) of a part from its rows."""

    identity: Callable[[Snapshot], IdentityMap]
    shards: int
    metadata: Callable[[pa.Table], dict[bytes, bytes]]


def compact_project(
    table: EventTable,
    deletions: DeletionList,
    settings: Settings,
    rehoming: Rehoming | None = None,
) -> int:
    """Compact every shard that needs it; returns how many merges it made. With
    ``rehoming``, merged rows are stored under the users their ids resolve to now: rows of a
    newer merge move, those of another shard to a new part there, in the same commit."""
    rewritten = 0
    while (snapshot := table.snapshot()) is not None:
        by_shard: dict[int, list[Part]] = {}
        for part in snapshot.parts():
            by_shard.setdefault(part.shard, []).append(part)
        due = {
            shard: chosen
            for shard, parts in sorted(by_shard.items())
            if (chosen := parts_to_merge(parts, settings)) is not None
        }
        if not due:
            break
        known = rehoming.identity(snapshot) if rehoming is not None else None
        # Merged a shard at a time, as the new parts are written: one in memory at once.
        merged = (
            piece
            for shard, chosen in due.items()
            for piece in homes(shard, merge_parts(snapshot, chosen, deletions, known), rehoming)
        )
        removed = [part for chosen in due.values() for part in chosen]
        replace_parts(snapshot.table, snapshot.root, removed, merged)
        rewritten += len(due)
    return rewritten


def homes(shard: int, rows: pa.Table, rehoming: Rehoming | None) -> list[tuple[int, pa.Table]]:
    """The merged rows of ``shard`` by the shard their users live on (rows of users resolved
    anew may belong elsewhere), each in (user, time) order still, with its metadata."""
    if rehoming is None:
        return [(shard, rows)]
    homes = shard_of(np.asarray(numpy_of(rows.column("user_hash")), np.int64), rehoming.shards)
    pieces = [(shard, rows)]
    if not np.all(homes == shard):
        pieces = [(int(h), rows.filter(arrow_of(homes == h))) for h in np.unique(homes).tolist()]
    return [(home, part.replace_schema_metadata(rehoming.metadata(part))) for home, part in pieces]


def parts_to_merge(parts: list[Part], settings: Settings) -> list[Part] | None:
    """The parts of one shard to merge next, or None when the shard is in shape."""
    small = [p for p in parts if p.size < settings.compaction_target_bytes]
    if len(parts) > settings.compaction_trigger_parts and len(small) > 1:
        return small
    fan_in = max(settings.compaction_fan_in, 2)
    tiers: dict[int, list[Part]] = {}
    for part in small:
        tiers.setdefault(size_tier(part.size, settings.compaction_base_bytes, fan_in), []).append(
            part
        )
    for tier in sorted(tiers):
        if len(tiers[tier]) >= fan_in:
            return tiers[tier]
    return None


def size_tier(size: int, base: int, fan_in: int) -> int:
    """0 below ``base``, then one more per factor ``fan_in``."""
    tier = 0
    while size >= base:
        tier += 1
        base *= fan_in
    return tier


def _conformed(table: pa.Table) -> pa.Table:
    """Every column in its canonical type, so parts written in different shapes concatenate."""
    columns = [conform(table.column(name), column_type(name)) for name in table.column_names]
    return pa.table(columns, names=table.column_names)


def merge_parts(
    snapshot: Snapshot,
    parts: list[Part],
    deletions: DeletionList,
    identity: IdentityMap | None = None,
) -> pa.Table:
    """The parts' rows in (user, time) order without duplicates or deleted users' rows;
    with ``identity``, each row under the user its id resolves to by it."""
    tables = [_conformed(pq.read_table(snapshot.root / p.path)) for p in parts]
    merged = pa.concat_tables(tables, promote_options="permissive").unify_dictionaries()
    # The id each row was sent with, which deduplication and deletions compare.
    sent = sent_hashes(merged.column("user_hash").combine_chunks(), sent_column(merged))
    users = merged.column("user_hash").to_numpy()
    if identity is not None:
        users = resolve_hashes(sent, identity.hashes())
        merged = stored_under(merged, users, sent)
    times = merged.column("time").to_numpy()
    received = merged.column("received_ms").to_numpy()
    events = merged.column("event").combine_chunks().indices.to_numpy()
    insert_ids = merged.column("insert_id").combine_chunks().dictionary_encode().indices.to_numpy()
    # Sorted by the dedupe key with the latest copy first, then one row kept per key.
    order = np.lexsort((-received, insert_ids, events, sent, times, users))
    key = np.stack([users[order], times[order], sent[order], events[order], insert_ids[order]])
    first = np.ones(len(order), bool)
    first[1:] = (key[:, 1:] != key[:, :-1]).any(axis=0)
    order = order[first]
    keep = deletions.keep_mask(sent[order], received[order])
    if keep is not None:
        order = order[keep]
    out = merged.take(order).combine_chunks()
    if out.column("insert_id").null_count or out.column("event").null_count:
        return out  # nulls compared unequal above, but the scan's dedupe finds them equal
    return out.replace_schema_metadata({**(out.schema.metadata or {}), DEDUPLICATED_KEY: b"1"})
