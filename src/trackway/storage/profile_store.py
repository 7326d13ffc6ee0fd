"""User and group profiles: a Delta table per kind whose rows are profile states.

Each pass of the storage worker appends the new state of every profile it changed, tagged
with a sequence number (the table version it creates); the current profile is the row with
the highest sequence, a deleted profile a tombstone row. Properties are typed columns, as
for events, so profiles read as columns keyed by user for shard-local joins.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from trackway.storage.columns import add_cells, cell_arrays, column_properties
from trackway.storage.layout import LOG_APP_PREFIX
from trackway.storage.profile_updates import Profile, apply_logged
from trackway.storage.sharding import shard_of, user_hash

GROUP_SEPARATOR = "\x1f"


def profile_key(update: dict[str, Any]) -> str:
    if "$distinct_id" in update:
        return str(update["$distinct_id"])
    return f"{update['$group_key']}{GROUP_SEPARATOR}{update['$group_id']}"


def load_states(
    root: Path, as_of: int | None = None, erasures: bool = False
) -> tuple[dict[str, Profile], DeltaTable | None]:
    """The current profiles of a table (latest row per key, tombstones dropped). With
    ``erasures``, each state also says when its user's data was last erased (``erased_ms``),
    which the writers need and readers do not show."""
    if not DeltaTable.is_deltatable(str(root)):
        return {}, None
    table = DeltaTable(str(root))
    if as_of is not None:
        table.load_as_version(as_of)
    return states_of(table, erasures), table


def states_of(table: DeltaTable, erasures: bool = False) -> dict[str, Profile]:
    """``load_states`` of a table already open, at the version it holds."""
    return _latest_states(table.to_pyarrow_table(), erasures)


def lookup_states(root: Path, keys: Collection[str]) -> dict[str, Profile]:
    """The current states (with ``erased_ms``) of some keys only: the rows of their user hashes,
    found by the table's statistics and a filter, never the whole table in memory."""
    if not keys or not DeltaTable.is_deltatable(str(root)):
        return {}
    hashes = pa.array({key_hash(key) for key in keys}, pa.int64())
    dataset = DeltaTable(str(root)).to_pyarrow_dataset()
    # The hash column first (new users are common and cost no more); whole rows only for
    # the hashes found.
    present = dataset.to_table(columns=["user_hash"], filter=pc.field("user_hash").isin(hashes))
    if present.num_rows == 0:
        return {}
    found_hashes = pc.unique(present.column(0).combine_chunks())
    data = dataset.to_table(filter=pc.field("user_hash").isin(found_hashes))
    found = _latest_states(data, erasures=True)
    return {key: found[key] for key in keys if key in found}


def key_hash(key: str) -> int:
    """The user hash a profile's rows are stored under (a group profile: its group id's)."""
    return user_hash(key.rsplit(GROUP_SEPARATOR, maxsplit=1)[-1])


def _latest_states(data: pa.Table, erasures: bool) -> dict[str, Profile]:
    if data.num_rows == 0:
        return {}
    order = np.argsort(data.column("seq").to_numpy(), kind="stable")
    data = data.take(order)
    props = column_properties(data)
    keys = data.column("key").to_pylist()
    deleted = data.column("deleted").to_pylist()
    created = data.column("created_ms").to_pylist()
    last_seen = data.column("last_seen_ms").to_pylist()
    erased = (
        data.column("erased_ms").to_pylist()
        if "erased_ms" in data.column_names
        else [None] * len(keys)
    )
    states: dict[str, Profile] = {}
    for row, key in enumerate(keys):
        if deleted[row]:
            states.pop(key, None)
        else:
            states[key] = {
                "properties": props[row],
                "created_ms": created[row],
                "last_seen_ms": last_seen[row],
            }
            if erasures and erased[row] is not None:
                states[key]["erased_ms"] = erased[row]
    return states


class ProfileStore:
    """The storage worker's writer of one profile table. It looks up the profiles a pass
    touches and keeps at most ``cache_entries`` of them in memory (least recently used out)."""

    def __init__(self, root: Path, cache_entries: int = 100_000) -> None:
        self.root = root
        self.cache_entries = cache_entries
        # key -> current state, or None for "no profile"; valid because this worker is the
        # table's only writer.
        self._cache: OrderedDict[str, Profile | None] = OrderedDict()

    def states(self, keys: Iterable[str]) -> dict[str, Profile]:
        """The current profiles of ``keys`` (a key without one is left out)."""
        found: dict[str, Profile] = {}
        missing: list[str] = []
        for key in keys:
            if key in self._cache:
                self._cache.move_to_end(key)
                state = self._cache[key]
                if state is not None:
                    found[key] = state
            else:
                missing.append(key)
        if missing:
            loaded = lookup_states(self.root, missing)
            found.update(loaded)
            for key in missing:
                self._remember(key, loaded.get(key))
        return found

    def _remember(self, key: str, state: Profile | None) -> None:
        self._cache[key] = state
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_entries:
            self._cache.popitem(last=False)

    def applied_offset(self, writer: str) -> int:
        if not DeltaTable.is_deltatable(str(self.root)):
            return 0
        return DeltaTable(str(self.root)).transaction_version(LOG_APP_PREFIX + writer) or 0

    def apply(
        self,
        groups: list[dict[str, Any]],
        offsets: Mapping[str, int],
        shards: int,
        erasures: Mapping[str, int],
    ) -> None:
        """Apply the updates of log records not yet in the table, then append the new states.
        ``erasures`` maps deleted users to their deletion time. The in-memory states change
        only once the commit succeeded, so a failed pass can be retried."""
        states = self.states(
            {profile_key(update): None for group in groups for update in group["items"]}
        )
        working: dict[str, Profile | None] = {}
        applied = {w: self.applied_offset(w) for w in {g["writer"] for g in groups}}
        for group in groups:
            if group["offset"] < applied[group["writer"]]:
                continue  # a replay after a crash: this record is in the table already
            for update in group["items"]:
                key = profile_key(update)
                current = working[key] if key in working else copy.deepcopy(states.get(key))
                counts, new = apply_logged(current, update, group["received_ms"], erasures.get(key))
                if counts:
                    working[key] = new
        if working:
            self._append(working, offsets, shards)
            self._settle(working)

    def delete(self, deletions: Mapping[str, int], shards: int) -> None:
        """Apply deletions (key -> deletion time) to profiles that predate them."""
        states = self.states(deletions)
        gone: dict[str, Profile | None] = {
            key: None
            for key, at in deletions.items()
            if key in states and states[key].get("erased_ms", -1) < at
        }
        if gone:
            self._append(gone, {}, shards)
            self._settle(gone)

    def _settle(self, changed: dict[str, Profile | None]) -> None:
        for key, state in changed.items():
            self._remember(key, state)

    def _append(
        self, changed: dict[str, Profile | None], offsets: Mapping[str, int], shards: int
    ) -> None:
        exists = DeltaTable.is_deltatable(str(self.root))
        seq = DeltaTable(str(self.root)).version() + 1 if exists else 0
        keys = list(changed)
        n = len(keys)
        hashes = np.fromiter(map(key_hash, keys), np.int64, n)
        cells: dict[str, tuple[list[int], list[Any]]] = {}
        names: dict[tuple[str, str], str] = {}
        for row, key in enumerate(keys):
            state = changed[key]
            if state is not None:
                add_cells(cells, names, row, state["properties"])
        order = np.lexsort((hashes, shard_of(hashes, shards)))
        states = [changed[k] for k in keys]
        arrays: dict[str, pa.Array] = {
            "shard": pa.array(shard_of(hashes, shards)[order]),
            "user_hash": pa.array(hashes[order]),
            "key": pa.array(keys, pa.string()).take(order),
            "seq": pa.array(np.full(n, seq, np.int64)),
            "deleted": pa.array([s is None for s in states], pa.bool_()).take(order),
            "created_ms": pa.array(
                [s["created_ms"] if s else None for s in states], pa.int64()
            ).take(order),
            "last_seen_ms": pa.array(
                [s["last_seen_ms"] if s else None for s in states], pa.int64()
            ).take(order),
            "erased_ms": pa.array(
                [s.get("erased_ms") if s else None for s in states], pa.int64()
            ).take(order),
        }
        arrays.update(cell_arrays(cells, n, order))
        now = int(time.time() * 1000)
        write_deltalake(
            str(self.root),
            pa.table(arrays),
            partition_by=["shard"],
            mode="append",
            schema_mode="merge",
            commit_properties=CommitProperties(
                app_transactions=[
                    Transaction(LOG_APP_PREFIX + w, o, now) for w, o in offsets.items()
                ]
            ),
        )
