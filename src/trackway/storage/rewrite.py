"""Rewriting parts: swap some of a table's files for new ones in one Delta commit.

Compaction of events and of profiles ends here. Each shard's new part is written before the
commit (one shard's rows in memory at a time); one commit for every shard rewritten, rather
than one each, keeps the log short: a table opens by listing its log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable

from trackway.storage.events_table import Part
from trackway.storage.part_files import commit_parts


def replace_parts(
    table: DeltaTable, root: Path, removed: Sequence[Part], merged: Iterable[tuple[int, pa.Table]]
) -> None:
    """Swap ``removed`` for one new part per (shard, rows) of ``merged``, rows already in
    order, in one commit on the version ``table`` holds. ``merged`` may be lazy: each shard
    is merged only when written."""
    commit_parts(root, merged, [(p.path, p.size, p.shard) for p in removed], table=table)
