"""Rewriting parts: swap some of a table's files for new ones in one Delta commit.

Compaction of events and of profiles ends here. Each shard's new part is written before the
commit (one shard's rows in memory at a time) and deleted again if anything fails before the
commit succeeds, so a failure leaves no orphan behind. One commit for every shard rewritten,
rather than one each, keeps the log short: a table opens by listing its log.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.transaction import AddAction, RemoveAction

from trackway.storage.events_table import DICTIONARY_PAGE_BYTES, ENCODINGS, Part

# Statistics a reader prunes parts by, where the table has the column.
_STATS_COLUMNS = ("time", "user_hash")


def replace_parts(
    table: DeltaTable, root: Path, removed: Sequence[Part], merged: Iterable[tuple[int, pa.Table]]
) -> None:
    """Swap ``removed`` for one new part per (shard, rows) of ``merged``, rows already in
    order, in one commit. ``merged`` may be lazy: each shard is merged only when written."""
    written: list[Path] = []
    try:
        adds = [_write(root, shard, rows, written) for shard, rows in merged]
        now = int(time.time() * 1000)
        actions: list[AddAction | RemoveAction] = [add for add in adds if add is not None]
        actions += [
            RemoveAction(p.path, False, now, p.size, {"shard": str(p.shard)}) for p in removed
        ]
        table.create_write_transaction(actions, "append", table.schema(), partition_by=["shard"])
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)  # never committed: leave no orphan behind
        raise


def _write(root: Path, shard: int, rows: pa.Table, written: list[Path]) -> AddAction | None:
    if rows.num_rows == 0:
        return None
    relative = f"shard={shard}/part-{uuid.uuid4()}-c000.zstd.parquet"
    path = root / relative
    data = rows.drop_columns(["shard"]) if "shard" in rows.column_names else rows
    written.append(path)
    # The layout appends have (events_table's writer properties): one row group, large
    # dictionary pages, no dictionary for nearly unique columns, times as deltas.
    pq.write_table(
        data,
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=max(data.num_rows, 1),
        dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES,
        use_dictionary=[c for c in data.column_names if c not in ENCODINGS],
        column_encoding={c: e for c, e in ENCODINGS.items() if c in data.column_names},
    )
    now = int(time.time() * 1000)
    return AddAction(relative, path.stat().st_size, {"shard": str(shard)}, now, False, _stats(data))


def _stats(data: pa.Table) -> str:
    """Delta file statistics: the row count, and the bounds of the columns reads prune by."""
    mins: dict[str, int] = {}
    maxes: dict[str, int] = {}
    for column in _STATS_COLUMNS:
        if column in data.column_names:
            bounds = pc.min_max(data.column(column))
            mins[column] = bounds["min"].as_py()
            maxes[column] = bounds["max"].as_py()
    return json.dumps(
        {"numRecords": data.num_rows, "minValues": mins, "maxValues": maxes, "nullCount": {}}
    )
