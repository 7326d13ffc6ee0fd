"""Compaction of a profile table: parts merged by size tier, keeping current states only.

Every pass that changes profiles adds a part per shard it touched, each row a state of one
profile; the current profile is the latest (by ``seq``). The parts of a shard are merged as
the events' are (compaction.py: by size tier, with a backstop), and a merge keeps only the
latest row of each profile among the parts it merges: any older row elsewhere is
superseded, any newer one wins anyway. A deleted profile's row (a tombstone) must stay while
an older state of it might remain in a part left out, so only a merge of every part of the
shard drops tombstones. A deletion has the shards of the deleted profiles merged whole, so
that the current version holds nothing of them; the files of their older states go with the
vacuum once the retention window has passed.
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
from trackway.storage.compaction import parts_to_merge
from trackway.storage.deletions import Deletion
from trackway.storage.events_table import Part, parts_of
from trackway.storage.profile_store import ProfileStore
from trackway.storage.rewrite import replace_parts
from trackway.storage.sharding import shard_of


def compact_profiles(store: ProfileStore, settings: Settings, shards: Collection[int] = ()) -> int:
    """Compact every shard that needs it, and merge ``shards`` whole whatever their parts;
    returns how many merges it made. Current profiles read the same before and after."""
    root = store.root
    whole = set(shards)
    rewritten = 0
    while DeltaTable.is_deltatable(str(root)):
        table = DeltaTable(str(root))
        by_shard: dict[int, list[Part]] = {}
        for part in parts_of(table):
            by_shard.setdefault(part.shard, []).append(part)
        due: dict[int, tuple[list[Part], bool]] = {}
        for shard, parts in sorted(by_shard.items()):
            chosen = parts if shard in whole else parts_to_merge(parts, settings)
            if chosen is not None:
                due[shard] = (chosen, len(chosen) == len(parts))
        whole = set()  # one whole merge each is enough
        if not due:
            break
        merged = (
            (shard, current_rows(root, chosen, drop_deleted))
            for shard, (chosen, drop_deleted) in due.items()
        )
        replace_parts(table, root, [p for chosen, _ in due.values() for p in chosen], merged)
        rewritten += len(due)
    return rewritten


def shards_of(deletions: Iterable[Deletion], shards: int) -> set[int]:
    """The shards the deleted users' profiles live on."""
    hashes = np.fromiter((d.user_hash for d in deletions), np.int64)
    return set(shard_of(hashes, shards).tolist())


def current_rows(root: Path, parts: list[Part], drop_deleted: bool) -> pa.Table:
    """The latest row of each profile in ``parts``, by user; with ``drop_deleted`` (``parts``
    are all of the shard's) none for a deleted profile."""
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
    if drop_deleted:
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
