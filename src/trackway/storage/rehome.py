"""Re-homing old parts in the background: under ID merge, rows are stored under the users
their ids resolved to when written (resolve.py); merges that come later leave rows a read
must move. Compaction re-homes the parts it rewrites anyway, but large parts are rewritten
rarely: every ``rehome_interval_ms`` the storage worker looks at each part's rows against
the merges committed by then, and rewrites together, per shard, the parts where at least
``rehome_permille`` of the rows would move (those of another shard to a new part there), in
one commit. Reads then move only rows of merges newer than that.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trackway.settings import Settings
from trackway.storage.arrays import numpy_of
from trackway.storage.columns import SENT_HASH, column_type, conform
from trackway.storage.compaction import Rehoming, homes, merge_parts
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable, Part, Snapshot
from trackway.storage.identity import Pairs
from trackway.storage.resolve import resolved_keys
from trackway.storage.rewrite import replace_parts


def rehome_project(
    table: EventTable, deletions: DeletionList, settings: Settings, rehoming: Rehoming
) -> int:
    """Rewrite the parts whose rows newer merges move enough of; returns how many."""
    snapshot = table.snapshot()
    if snapshot is None:
        return 0
    known = rehoming.identity(snapshot)
    pairs = known.hashes()
    due: dict[int, list[Part]] = {}
    for part in snapshot.parts():
        moved = moved_rows(snapshot, part, pairs)
        if moved and moved * 1000 >= settings.rehome_permille * max(part.rows, 1):
            due.setdefault(part.shard, []).append(part)
    if not due:
        return 0
    merged = (
        piece
        for shard, chosen in sorted(due.items())
        for piece in homes(shard, merge_parts(snapshot, chosen, deletions, known), rehoming)
    )
    removed = [part for chosen in due.values() for part in chosen]
    replace_parts(snapshot.table, snapshot.root, removed, merged)
    return len(removed)


def moved_rows(snapshot: Snapshot, part: Part, pairs: Pairs) -> int:
    """How many of the part's rows belong to another user than they are stored under."""
    parquet = pq.ParquetFile(snapshot.root / part.path)
    present = [c for c in ("user_hash", SENT_HASH) if c in parquet.schema_arrow.names]
    rows = parquet.read(columns=present)
    stored = np.asarray(numpy_of(conform(rows.column("user_hash"), column_type("user_hash"))))
    sent = (
        conform(rows.column(SENT_HASH), column_type(SENT_HASH))
        if SENT_HASH in present
        else pa.nulls(len(stored), pa.int64())
    )
    return int(np.count_nonzero(resolved_keys(stored, sent, pairs) != stored))
