"""Rows re-homed onto the shard of the unit a report counts: the resolved user (identity
clusters) or a group.

Each source shard's rows, already merged, deduplicated and filtered, get a new key (NO_KEY
drops the row). Rows whose key is the one they are stored under stay; the others move to
the shard of their new key, where they are sorted and merged in among the staying rows (in
order already). Of rows with equal key and time, those that stayed come first, then the
others by source shard and position, so the result is deterministic. A shard that keeps
all of its rows and receives none is returned as stored: under identity, rows are stored
under the users they resolved to when written (resolve.py), so only merges newer than a
part move anything.
"""

from __future__ import annotations

import hashlib
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
from trackway.storage.columns import SENT_HASH
from trackway.storage.identity import IdentityMap
from trackway.storage.merge_kernel import merge_positions
from trackway.storage.resolve import resolved_keys, sent_hashes
from trackway.storage.sharding import shard_of, user_hash

Keys = npt.NDArray[np.int64]
NO_KEY = np.iinfo(np.int64).min  # a row without a unit (no group value): dropped


@dataclass(frozen=True, slots=True)
class Rekey:
    """How rows get their unit: ``columns`` it reads, ``keys(columns)`` per row, the
    ``label`` (the unit's id as text) of each row, a ``fingerprint`` of everything the keys
    depend on, and the ``family`` of units (rows with equal keys get equal labels within
    one family): caches are kept under them."""

    columns: tuple[str, ...]
    keys: Callable[[dict[str, pa.Array]], Keys]
    labels: Callable[[dict[str, pa.Array], Keys], pa.Array]
    fingerprint: Hashable
    family: Hashable


def identity_rekey(identity: IdentityMap) -> Rekey:
    """Rows to their users' canonical ids: each row's id as sent (rows stored under a user
    resolved when written keep the sent id's hash beside it) looked up in ``identity``."""
    pairs = identity.hashes()

    def keys(columns: dict[str, pa.Array]) -> Keys:
        return resolved_keys(_numpy(columns["user_hash"]), columns[SENT_HASH], pairs)

    def labels(columns: dict[str, pa.Array], _: Keys) -> pa.Array:
        ids = columns["distinct_id"]
        unique = pc.unique(ids)
        resolved = strings_of([identity.canonical(d) for d in unique.to_pylist()])
        return resolved.take(pc.index_in(ids, unique))

    return Rekey(("user_hash", SENT_HASH), keys, labels, identity.fingerprint, "identity")


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
    fingerprint = ("group", group, tuple(columns_of_group))
    return Rekey(wanted, keys, labels, fingerprint, fingerprint)


Rows = npt.NDArray[np.int64]
Piece = tuple[int, Rows, bool]  # (source index, rows it sends, whether they stay in place)
Load = Callable[[str], pa.Array]  # a source's column in its scan order


@dataclass(frozen=True, slots=True)
class Source:
    """A source shard: its scanned columns, the key its rows are cached under (None while it
    has an uncommitted tail) and how to read any other of its columns."""

    shard: int
    columns: dict[str, pa.Array]
    key: Hashable | None
    load: Load


Target = tuple[int, dict[str, pa.Array], Hashable | None]


Moves = list[tuple[int, Rows, bool, str]]  # (target shard, rows, stay, their signature)
ALL: Rows = np.empty(0, np.int64)  # stands for every row of a source, in order


def pieces_of(source: Source, keys: Keys, shards: int) -> Moves:
    """Where a source's rows go, as (target shard, rows, whether they stay, a signature of
    what they bring): those whose key is the one they are stored under stay (in order
    already), the others go to their new key's shard (NO_KEY rows nowhere)."""
    moved = np.flatnonzero(keys != _numpy(source.columns["user_hash"]))
    out: Moves = []
    if len(moved) < len(keys):
        # The rest stay (ALL: every row, without making a list of them).
        stay = np.delete(np.arange(len(keys), dtype=np.int64), moved) if len(moved) else ALL
        out.append((source.shard, stay, True, _digest(moved)))
    moved = moved[keys[moved] != NO_KEY]
    shard = shard_of(keys[moved], shards)
    for target in np.unique(shard).tolist():
        rows = moved[shard == target]
        out.append((int(target), rows, False, _digest(rows, keys[rows])))
    return out


def rekeyed(
    sources: list[Source],
    rekey: Rekey,
    columns: list[str],
    wanted: set[int],
    shards: int,
    cache: ColumnCache,
    parallel: Callable[[Callable[[int], Target], list[int]], Iterable[Target]],
    dedupe: bool,
) -> list[Target]:
    """The wanted target shards' ``columns``, their rows re-homed by ``rekey``. A target that
    keeps exactly its own rows is its source as it is; others put the moved rows in order
    among the staying ones and, with ``dedupe`` (copies of one event may be stored under two
    users), drop copies that meet. A target's rows are cached under what flows into it (its
    sources' stable keys and the signatures of their pieces): a new merge or a commit
    rebuilds only the targets it changes."""

    def remember(key: Hashable | None, make: Callable[[], Any]) -> Any:
        if key is None:
            return make()
        found = cache.get(key)
        if found is None:
            found = make()
            cache.put(key, found, _nbytes(found))
        return found

    def stable(*parts: Hashable | None) -> Hashable | None:
        return None if any(p is None for p in parts) else (*parts, rekey.fingerprint)

    def keys_of(i: int) -> Keys:
        return rekey.keys(sources[i].columns)

    keys: list[Keys] = [
        remember(stable("keys", s.key), partial(keys_of, i)) for i, s in enumerate(sources)
    ]
    plan: dict[int, list[tuple[int, Rows, bool, str]]] = {}
    for i, source in enumerate(sources):
        found = remember(stable("pieces", source.key), partial(pieces_of, source, keys[i], shards))
        for target, rows, stays, signature in found:
            plan.setdefault(target, []).append((i, rows, stays, signature))

    def source_column(source: int, column: str) -> pa.Array:
        if column == "user_hash":
            return arrow_of(keys[source])
        if column == "distinct_id":
            return remember(
                stable("labels", sources[source].key),
                lambda: rekey.labels(sources[source].columns, keys[source]),
            )
        return sources[source].columns[column]

    def one(target: int) -> Target:
        inflow = sorted(plan[target], key=lambda p: (not p[2], p[0]))  # the staying rows first
        if len(inflow) == 1 and inflow[0][2] and inflow[0][1] is ALL:
            # Its own rows, all in place: the source's columns as they are.
            own = inflow[0][0]
            columns_of = sources[own].columns
            out = {c: columns_of[c] if c == "user_hash" else source_column(own, c) for c in columns}
            same = sources[own].key
            return target, out, None if same is None else ("same", same, rekey.family)
        pieces: list[Piece] = [
            (s, np.arange(len(keys[s]), dtype=np.int64) if rows is ALL else rows, stays)
            for s, rows, stays, _ in inflow
        ]
        _, rows, stays = pieces[0]
        key: Hashable | None = None
        if all(sources[s].key is not None for s, _, _ in pieces):
            content = tuple((sources[s].key, stays, sig) for s, _, stays, sig in inflow)
            key = ("rekeyed", target, rekey.family, content)

        def ordering() -> Rows:
            times = np.concatenate([_numpy(sources[s].columns["time"])[r] for s, r, _ in pieces])
            users = np.concatenate([keys[s][r] for s, r, _ in pieces])
            kept = np.arange(len(rows) if stays else 0, dtype=np.int64)
            moved = np.arange(len(kept), len(users), dtype=np.int64)
            moved = moved[np.lexsort((times[moved], users[moved]))]
            merged = merge_positions(users[kept], times[kept], users[moved], times[moved])
            order = np.asarray(np.concatenate((kept, moved))[merged], np.int64)
            if dedupe:
                order = _without_copies(order, users, times, len(kept), pieces, sources)
            return order

        order = remember(None if key is None else (key, "order"), ordering)

        def gather(column: str) -> pa.Array:
            if column == "shard":
                return arrow_of(np.full(len(order), target, np.int16))
            chunks = [_take(source_column(s, column), r) for s, r, _ in pieces]
            return pa.chunked_array(chunks).combine_chunks().take(arrow_of(order))

        out = {c: remember(None if key is None else (key, c), partial(gather, c)) for c in columns}
        return target, out, key

    return list(parallel(one, sorted(t for t in plan if t in wanted)))


def _digest(*arrays: npt.NDArray[np.int64]) -> str:
    found = hashlib.blake2b(digest_size=16)
    for array in arrays:
        found.update(np.ascontiguousarray(array).tobytes())
    return found.hexdigest()


def _without_copies(
    order: Rows,
    users: Keys,
    times: Keys,
    kept: int,
    pieces: list[Piece],
    sources: list[Source],
) -> Rows:
    """``order`` without the copies of one event (equal sent id, time, event, insert_id) that
    moved rows bring next to each other or to staying rows: the latest received is kept.
    Only runs of equal (user, time) holding a moved row (position ``kept`` on) can hold any."""
    u, t = users[order], times[order]
    same = np.flatnonzero((u[1:] == u[:-1]) & (t[1:] == t[:-1]))
    if len(same) == 0:
        return order
    candidates = np.union1d(same, same + 1)
    run = np.cumsum(~np.isin(candidates - 1, same))
    bounds = np.cumsum([0] + [len(r) for _, r, _ in pieces])
    positions = order[candidates]
    piece = np.searchsorted(bounds, positions, side="right") - 1
    # Copies stored under one user in one source were dropped by its merge already: a run can
    # hold copies only if it has a moved row and rows of two (source, stored user) pairs.
    stored = np.empty(len(positions), np.int64)
    for p in np.unique(piece).tolist():
        at = np.flatnonzero(piece == p)
        s, rows, _ = pieces[p]
        stored[at] = _numpy(sources[s].columns["user_hash"])[rows[positions[at] - bounds[p]]]
    origin = np.unique(np.stack([run, piece, stored]), axis=1)
    runs, origins = np.unique(origin[0], return_counts=True)
    suspect = np.intersect1d(runs[origins > 1], run[positions >= kept])
    chosen = np.isin(run, suspect)
    candidates, positions, piece = candidates[chosen], positions[chosen], piece[chosen]
    if len(candidates) == 0:
        return order
    best: dict[tuple[Any, ...], tuple[int, int]] = {}
    for p in np.unique(piece).tolist():
        s, rows, _ = pieces[p]
        at = np.flatnonzero(piece == p)
        taken = arrow_of(rows[positions[at] - bounds[p]])
        load = sources[s].load
        sent = sent_hashes(load("user_hash").take(taken), load(SENT_HASH).take(taken))
        names = load("event").take(taken).cast(pa.string()).to_pylist()
        insert_ids = load("insert_id").take(taken).to_pylist()
        received = _numpy(load("received_ms").take(taken))
        for j, c in enumerate(at.tolist()):
            key = (int(sent[j]), int(t[candidates[c]]), names[j], insert_ids[j])
            known = best.get(key)
            if known is None or received[j] > known[1]:
                best[key] = (int(candidates[c]), int(received[j]))
    keep = np.ones(len(order), bool)
    keep[candidates] = False
    keep[[position for position, _ in best.values()]] = True
    return order[keep]


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
