"""Compaction of a profile table: a shard's parts merged into one of current profiles only.

Every pass that changes profiles adds a part per shard it touched, each row a state of one
profile; the current profile is the latest (by ``seq``). When a shard holds more than
``compaction_trigger_parts`` parts, or a deletion has to erase profiles from it, all its
parts are merged into one that keeps the latest row of each profile and drops the deleted
ones (tombstones): every part of the shard takes part, so no older state can come back. One
commit swaps the parts of every shard rewritten. The files of the older states, a deleted
user's among them, then go with the vacuum once the retention window has passed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from trackway.settings import Settings
from trackway.storage.columns import column_type, conform, parse_property_column
from trackway.storage.deletions import Deletion
from trackway.storage.events_table import Part, parts_of
from trackway.storage.profile_store import ProfileStore
from trackway.storage.rewrite import replace_parts
from trackway.storage.sharding import shard_of


def compact_profiles(store: ProfileStore, settings: Settings, shards: Collection[int] = ()) -> int:
    """Compact every shard with too many parts, and ``shards`` whatever their parts;
    returns how many shards were rewritten. Current profiles read the same before and after."""
    root = store.root
    if not DeltaTable.is_deltatable(str(root)):
        return 0
    table = DeltaTable(str(root))
    by_shard: dict[int, list[Part]] = {}
    for part in parts_of(table):
        by_shard.setdefault(part.shard, []).append(part)
    due = {
        shard: parts
        for shard, parts in sorted(by_shard.items())
        if len(parts) > settings.compaction_trigger_parts or shard in shards
    }
    if due:
        merged = ((shard, current_rows(root, parts)) for shard, parts in due.items())
        replace_parts(table, root, [p for parts in due.values() for p in parts], merged)
    return len(due)


def shards_of(deletions: Iterable[Deletion], shards: int) -> set[int]:
    """The shards the deleted users' profiles live on."""
    hashes = np.fromiter((d.user_hash for d in deletions), np.int64)
    return set(shard_of(hashes, shards).tolist())


def current_rows(root: Path, parts: list[Part]) -> pa.Table:
    """The latest row of each profile in ``parts``, deleted profiles left out, by user."""
    merged = pa.concat_tables(
        [_conformed(pq.read_table(root / p.path)) for p in parts],
        promote_options="permissive",
    )
    if merged.num_rows == 0:
        return merged
    keys = merged.column("key").combine_chunks().dictionary_encode().indices.to_numpy()
    seqs = merged.column("seq").to_numpy()
    order = np.lexsort((seqs, keys))
    ordered = keys[order]
    last = np.ones(len(order), bool)
    last[:-1] = ordered[1:] != ordered[:-1]
    latest = merged.take(order[last])
    latest = latest.filter(pc.invert(latest.column("deleted").fill_null(False)))
    return latest.take(np.argsort(latest.column("user_hash").to_numpy(), kind="stable"))


def _conformed(table: pa.Table) -> pa.Table:
    """Property columns in their canonical types, so parts of other shapes concatenate."""
    columns = [
        conform(table.column(name), column_type(name))
        if parse_property_column(name) is not None
        else table.column(name)
        for name in table.column_names
    ]
    return pa.table(columns, names=table.column_names)
