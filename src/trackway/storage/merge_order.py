"""A shard's row order: its parts (and the log tail) merged by (user, time), duplicates
dropped.

Duplicates (equal sent distinct_id, time, event and ``$insert_id``; the latest received copy
wins) can only be rows of equal user and time, so the key columns beyond those are looked at
only in such runs, and only in runs where an event name repeats on rows not known to be
unique: of one source that is not a deduplicated part, or of two sources. (Copies stored
under two users, written before and after a merge, meet where reads re-home them: rekey.py.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.storage.arrays import arrow_of, numpy_of
from trackway.storage.columns import SENT_HASH
from trackway.storage.merge_kernel import merge_positions
from trackway.storage.resolve import sent_hashes

# What deduplication and ordering need, whatever the query asks for.
_KEY_COLUMNS = ("user_hash", SENT_HASH, "time", "event", "insert_id", "received_ms")


def merge_order(
    load: Callable[[str], pa.ChunkedArray], clean: list[bool]
) -> npt.NDArray[np.int64] | None:
    """Row order of the concatenated chunks (one per part; ``clean`` says which are free of
    duplicates): by (user, time), duplicates dropped; None when the rows already are in that
    order without duplicates. Duplicates can only sit among rows of equal (user, time) and
    event, so the other key columns are read only when such rows exist."""
    user_chunks = load("user_hash")
    users = numpy_of(user_chunks)
    times = numpy_of(load("time"))
    # Parts are written sorted, but a Delta DELETE may rewrite one in another order, and
    # several parts interleave: sort unless the rows already are in order (a cheap check).
    sorted_already = bool(
        np.all((users[1:] > users[:-1]) | ((users[1:] == users[:-1]) & (times[1:] >= times[:-1])))
    )
    order = None if sorted_already else np.lexsort((times, users)).astype(np.int64)
    u, t = (users, times) if order is None else (users[order], times[order])
    same = np.flatnonzero((u[1:] == u[:-1]) & (t[1:] == t[:-1]))
    if len(same) == 0:
        return order
    starts = np.cumsum([0] + [len(c) for c in user_chunks.chunks[:-1]])
    same = _suspect_runs(order, same, load, starts, clean)
    if len(same) == 0:
        return order
    positions = np.arange(len(users), dtype=np.int64) if order is None else order
    kept = _drop_duplicates(positions, same, {c: load(c) for c in _KEY_COLUMNS})
    return None if order is None and len(kept) == len(users) else kept


def extended(
    load: Callable[[str], pa.ChunkedArray],
    known: npt.NDArray[np.int64] | None,
    clean: list[bool],
) -> npt.NDArray[np.int64]:
    """Row order of the concatenated chunks when all but the last ``len(clean)`` are in
    ``known`` order (None: already in order) without duplicates: the newer chunks' rows (a
    new part, the log tail) are sorted and merged in, one linear pass rather than everything
    sorted again; then duplicates across them are dropped (``clean`` says which of the newer
    chunks are free of duplicates within)."""
    user_chunks = load("user_hash")
    users = np.asarray(numpy_of(user_chunks), np.int64)
    times = np.asarray(numpy_of(load("time")), np.int64)
    sizes = [len(c) for c in user_chunks.chunks]
    newer = sizes[len(sizes) - len(clean) :]
    n = len(users) - sum(newer)
    first = np.arange(n, dtype=np.int64) if known is None else known
    second = np.arange(n, len(users), dtype=np.int64)
    u, t = users[second], times[second]
    if not np.all((u[1:] > u[:-1]) | ((u[1:] == u[:-1]) & (t[1:] >= t[:-1]))):
        second = second[np.lexsort((t, u))]
    merged = merge_positions(users[first], times[first], users[second], times[second])
    order = np.concatenate((first, second))[merged]
    u, t = users[order], times[order]
    same = np.flatnonzero((u[1:] == u[:-1]) & (t[1:] == t[:-1]))
    # The known rows hold no duplicates among themselves: one clean source.
    starts = np.concatenate(([0], n + np.cumsum([0, *newer])[:-1]))
    same = _suspect_runs(order, same, load, starts, [True, *clean])
    if len(same) == 0:
        return order
    return _drop_duplicates(order, same, {c: load(c) for c in _KEY_COLUMNS})


def _suspect_runs(
    order: npt.NDArray[np.int64] | None,
    same: npt.NDArray[np.int64],
    load: Callable[[str], pa.ChunkedArray],
    starts: npt.NDArray[np.int64],
    clean: list[bool],
) -> npt.NDArray[np.int64]:
    """The positions of ``same`` (rows ``order[p]`` and ``order[p + 1]``, or ``p`` and
    ``p + 1`` without an order, share user and time) in runs that may hold duplicates: an event name occurs twice, on rows of different
    sources or of a source not known to be ``clean`` (sources are the row ranges from
    ``starts``). Most runs are different events in one millisecond, and ruling them out
    here spares reading the insert_id column, the widest of all."""
    if len(same) == 0:
        return same
    candidates = np.union1d(same, same + 1)
    # A candidate continues the run of the one before it when the two are equal.
    run = np.cumsum(~np.isin(candidates - 1, same)) - 1
    rows = candidates if order is None else order[candidates]
    source = np.searchsorted(starts, rows, side="right") - 1
    names = load("event").take(arrow_of(rows)).cast(pa.string()).to_pylist()
    first_source: dict[tuple[int, str], int] = {}
    suspects: set[int] = set()
    for r, name, s in zip(run.tolist(), names, source.tolist(), strict=True):
        seen = first_source.get((r, name))
        if seen is None:
            first_source[(r, name)] = s
        elif seen != s or not clean[s]:
            suspects.add(r)
    if not suspects:
        return same[:0]
    runs_of_same = run[np.searchsorted(candidates, same)]
    return same[np.isin(runs_of_same, np.fromiter(suspects, np.int64, len(suspects)))]


def _drop_duplicates(
    order: npt.NDArray[np.int64], same: npt.NDArray[np.int64], keys: dict[str, pa.ChunkedArray]
) -> npt.NDArray[np.int64]:
    """Within runs of equal (user, time), keep one row per (event, insert_id): the latest
    received. Such runs are rare and short, so plain Python over them is cheap."""
    events = keys["event"]
    insert_ids = keys["insert_id"]
    received = numpy_of(keys["received_ms"])
    candidates = np.union1d(same, same + 1)  # positions in ``order`` within a run
    best: dict[tuple[Any, ...], tuple[int, int]] = {}
    # The id each row was sent with: rows of two ids stored under one user differ.
    users = sent_hashes(keys["user_hash"].combine_chunks(), keys[SENT_HASH].combine_chunks())
    times = numpy_of(keys["time"])
    for position in candidates.tolist():
        row = int(order[position])
        key = (int(users[row]), int(times[row]), events[row].as_py(), insert_ids[row].as_py())
        kept = best.get(key)
        if kept is None or received[row] >= received[kept[1]]:
            best[key] = (position, row)
    keep = np.ones(len(order), bool)
    keep[candidates] = False
    keep[[position for position, _ in best.values()]] = True
    return order[keep]
