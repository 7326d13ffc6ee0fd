"""Rows re-homed onto the shard of the unit a report counts: the resolved user (identity
clusters) or a group.

Each source shard's rows, already merged, deduplicated and filtered, get a new key (NO_KEY
drops the row); rows then move to the shard of their new key and each target shard is put
back in (key, time) order: the rows that kept their key and shard are in order already, the
others are sorted and merged in. Of rows with equal key and time, those that stayed come
first, then the others by source shard and position, so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trackway.storage.arrays import arrow_of, numpy_of, strings_of, valid_of, values_of
from trackway.storage.cache import ColumnCache
from trackway.storage.identity import IdentityMap, resolve_hashes
from trackway.storage.merge_kernel import merge_positions
from trackway.storage.sharding import shard_of, user_hash

Keys = npt.NDArray[np.int64]
NO_KEY = np.iinfo(np.int64).min  # a row without a unit (no group value): dropped


@dataclass(frozen=True, slots=True)
class Rekey:
    """How rows get their unit: ``columns`` it reads, ``keys(columns)`` per row, the
    ``label`` (the unit's id as text) of each row, and a ``fingerprint`` for caches."""

    columns: tuple[str, ...]
    keys: Callable[[dict[str, pa.Array]], Keys]
    labels: Callable[[dict[str, pa.Array], Keys], pa.Array]
    fingerprint: Hashable


def identity_rekey(identity: IdentityMap) -> Rekey:
    pairs = identity.hashes()

    def keys(columns: dict[str, pa.Array]) -> Keys:
        return resolve_hashes(np.asarray(numpy_of(columns["user_hash"]), np.int64), pairs)

    def labels(columns: dict[str, pa.Array], _: Keys) -> pa.Array:
        ids = columns["distinct_id"]
        unique = pc.unique(ids)
        resolved = strings_of([identity.canonical(d) for d in unique.to_pylist()])
        return resolved.take(pc.index_in(ids, unique))

    return Rekey(("user_hash",), keys, labels, identity.fingerprint)


def group_rekey(columns_of_group: list[str], group: str) -> Rekey:
    """The unit is the value of the event property ``group`` (a string or an integer)."""

    def text(columns: dict[str, pa.Array]) -> pa.Array:
        parts = [columns[c].cast(pa.string()) for c in columns_of_group if c in columns]
        if not parts:
            return pa.nulls(len(columns["user_hash"]), pa.string())
        return pc.coalesce(*parts) if len(parts) > 1 else parts[0]

    def keys(columns: dict[str, pa.Array]) -> Keys:
        values = text(columns)
        encoded = values.dictionary_encode()
        hashes = np.fromiter(
            (user_hash(v) for v in encoded.dictionary.to_pylist()),
            np.int64,
            len(encoded.dictionary),
        )
        indices = encoded.indices
        codes = np.where(valid_of(indices), values_of(indices), -1)
        out = np.full(len(values), NO_KEY, np.int64)
        known = codes >= 0
        out[known] = hashes[codes[known]]
        return out

    def labels(columns: dict[str, pa.Array], _: Keys) -> pa.Array:
        return text(columns)

    wanted = ("user_hash", *columns_of_group)
    return Rekey(wanted, keys, labels, ("group", group, tuple(columns_of_group)))


def targets(sources: list[Keys], shards: int) -> dict[int, list[tuple[int, npt.NDArray[np.int64]]]]:
    """Per target shard, the rows each source sends it: (source index, rows)."""
    out: dict[int, list[tuple[int, npt.NDArray[np.int64]]]] = {}
    for source, keys in enumerate(sources):
        kept = np.flatnonzero(keys != NO_KEY)
        shard = shard_of(keys[kept], shards)
        for target in np.unique(shard).tolist():
            out.setdefault(int(target), []).append((source, kept[shard == target]))
    return out


Source = tuple[dict[str, pa.Array], Hashable | None]  # a source shard's columns and cache key
Target = tuple[int, dict[str, pa.Array], Hashable | None]


def rekeyed(
    sources: list[Source],
    source_shards: list[int],
    rekey: Rekey,
    columns: list[str],
    wanted: set[int],
    shards: int,
    cache: ColumnCache,
    parallel: Callable[[Callable[[int], Target], list[int]], Iterable[Target]],
) -> list[Target]:
    """The wanted target shards' ``columns``, their rows re-homed by ``rekey``. Everything
    derived is cached while every source is stable (no uncommitted tail)."""
    stable = all(key is not None for _, key in sources)
    base = (tuple(key for _, key in sources), rekey.fingerprint) if stable else None

    def remember(key: Hashable, make: Callable[[], Any]) -> Any:
        if base is None:
            return make()
        found = cache.get((base, key))
        if found is None:
            found = make()
            cache.put((base, key), found, _nbytes(found))
        return found

    def keys_of(source: int) -> Keys:
        return rekey.keys(sources[source][0])

    keys: list[Keys] = [remember(("keys", i), partial(keys_of, i)) for i in range(len(sources))]
    plan: dict[int, list[tuple[int, npt.NDArray[np.int64]]]] = remember(
        "plan", lambda: targets(keys, shards)
    )

    def source_column(source: int, column: str) -> pa.Array:
        if column == "user_hash":
            return arrow_of(keys[source])
        if column == "distinct_id":
            return remember(
                ("labels", source),
                lambda: rekey.labels(sources[source][0], keys[source]),
            )
        return sources[source][0][column]

    def one(target: int) -> Target:
        pieces = plan[target]

        def ordering() -> npt.NDArray[np.int64]:
            times = np.concatenate([_numpy(sources[s][0]["time"])[r] for s, r in pieces])
            users = np.concatenate([keys[s][r] for s, r in pieces])
            # Rows that keep their key and shard are in order already; only the others
            # (few) are sorted, then merged in.
            stay = np.concatenate(
                [
                    np.full(len(r), source_shards[s] == target)
                    & (keys[s][r] == _numpy(sources[s][0]["user_hash"])[r])
                    for s, r in pieces
                ]
            )
            kept, moved = np.flatnonzero(stay), np.flatnonzero(~stay)
            moved = moved[np.lexsort((times[moved], users[moved]))]
            merged = merge_positions(users[kept], times[kept], users[moved], times[moved])
            both = np.concatenate((kept, moved))
            return np.asarray(both[merged], np.int64)

        order = remember(("order", target), ordering)

        def gather(column: str) -> pa.Array:
            if column == "shard":
                return arrow_of(np.full(len(order), target, np.int16))
            chunks = [_take(source_column(s, column), r) for s, r in pieces]
            return pa.chunked_array(chunks).combine_chunks().take(arrow_of(order))

        out = {c: remember(("column", target, c), partial(gather, c)) for c in columns}
        return target, out, None if base is None else (base, target)

    return list(parallel(one, sorted(t for t in plan if t in wanted)))


def _take(array: pa.Array, rows: npt.NDArray[np.int64]) -> pa.Array:
    return array if len(rows) == len(array) else array.take(arrow_of(rows))


def _numpy(array: pa.Array) -> npt.NDArray[np.int64]:
    return np.asarray(numpy_of(array), np.int64)


def _nbytes(value: Any) -> int:
    if isinstance(value, pa.Array):
        return int(value.nbytes)
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(int(r.nbytes) for pieces in value.values() for _, r in pieces)
    return 64
