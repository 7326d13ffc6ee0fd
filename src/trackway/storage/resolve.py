"""Identity resolved when rows are written: each row is stored under the user its distinct_id
resolves to by the merges known then, on that user's shard, with the hash of the id it was
sent with kept beside it (``sent_hash``, null where the two are one).

Reads then move only the rows whose id resolves differently now (merges newer than their
part, rekey.py); deletions and deduplication compare the id that was sent.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.storage.arrays import arrow_of, numpy_of, valid_of, values_of
from trackway.storage.columns import SENT_HASH
from trackway.storage.identity import IdentityMap, Pairs, resolve_hashes
from trackway.storage.sharding import shard_of


def sent_hashes(user_hash: pa.Array, sent: pa.Array | None) -> npt.NDArray[np.int64]:
    """Per row, the hash of the distinct_id it was sent with."""
    users = np.asarray(numpy_of(user_hash), np.int64)
    if sent is None or sent.null_count == len(sent):
        return users
    return np.where(valid_of(sent), values_of(sent), users)


def sent_column(table: pa.Table) -> pa.Array | None:
    if SENT_HASH not in table.column_names:
        return None
    column = table.column(SENT_HASH)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def resolve_table(table: pa.Table, identity: IdentityMap, shards: int) -> pa.Table:
    """Rows as sent (``events_to_table``) stored under their resolved users instead, in
    (shard, user, time) order; unchanged when no row's id is merged."""
    if not identity or table.num_rows == 0:
        return table
    sent = np.asarray(numpy_of(table.column("user_hash")), np.int64)
    keys = resolve_hashes(sent, identity.hashes())
    moved = keys != sent
    if not moved.any():
        return table
    shard = shard_of(keys, shards)
    times = np.asarray(numpy_of(table.column("time")), np.int64)
    order = np.lexsort((times, keys, shard))
    rows = stored_under(
        table.drop_columns(["shard"]).take(arrow_of(order)), keys[order], sent[order]
    )
    return rows.add_column(0, "shard", arrow_of(shard[order]))


def stored_under(
    table: pa.Table, users: npt.NDArray[np.int64], sent: npt.NDArray[np.int64]
) -> pa.Table:
    """``table`` (rows in that order) stored under ``users``: its first columns the users'
    hashes and the sent ids' hashes, null where the two are one."""
    moved = users != sent
    validity = pa.py_buffer(np.packbits(moved, bitorder="little"))
    buffers = [validity, pa.py_buffer(np.ascontiguousarray(sent, np.int64))]
    kept = pa.Array.from_buffers(pa.int64(), len(sent), buffers)
    rest = table.drop_columns([c for c in ("user_hash", SENT_HASH) if c in table.column_names])
    return rest.add_column(0, "user_hash", arrow_of(users)).add_column(1, SENT_HASH, kept)


def resolved_keys(
    stored: npt.NDArray[np.int64], sent: pa.Array, pairs: Pairs
) -> npt.NDArray[np.int64]:
    """Each row's canonical user: a row sent as the user it is stored under (``sent`` null)
    moves only if that user was merged since, looked up once per run of one user's rows; a
    row stored under another user than it was sent as is looked up by its sent id."""
    sources, targets = pairs
    if len(stored) == 0:
        return stored
    starts = np.flatnonzero(np.concatenate(([True], stored[1:] != stored[:-1])))
    firsts = stored[starts]
    at = np.minimum(np.searchsorted(sources, firsts), max(len(sources) - 1, 0))
    merged = (sources[at] == firsts) if len(sources) else np.zeros(len(firsts), bool)
    keys = stored
    if merged.any():
        lengths = np.diff(np.append(starts, len(stored)))
        keys = np.repeat(np.where(merged, targets[at], firsts), lengths)
    others = np.flatnonzero(valid_of(sent)) if sent.null_count < len(sent) else None
    if others is not None and len(others):
        resolved = resolve_hashes(values_of(sent)[others], pairs)
        changed = resolved != keys[others]
        if changed.any():  # (most were resolved when written: nothing to copy)
            keys = keys.copy() if keys is stored else keys
            keys[others[changed]] = resolved[changed]
    return keys
