"""Removing files a crash left behind: written into a Delta table but never committed.

The storage worker is a table's only writer, so when it starts, a data file that the latest
version does not reference and that is newer than the latest commit can only come from a
write or compaction cut short. Files of older versions are older than the latest commit and
stay for time travel until vacuum.
"""

from __future__ import annotations

import logging
from pathlib import Path

from deltalake import DeltaTable

logger = logging.getLogger(__name__)


def remove_orphan_files(root: Path) -> list[Path]:
    if not DeltaTable.is_deltatable(str(root)):
        return []
    table = DeltaTable(str(root))
    referenced = {Path(uri.removeprefix("file://")).resolve() for uri in table.file_uris()}
    last_commit_s = table.history(1)[0]["timestamp"] / 1000
    removed = []
    for path in root.rglob("*.parquet"):
        if "_delta_log" in path.parts or path.resolve() in referenced:
            continue
        if path.stat().st_mtime > last_commit_s:
            path.unlink()
            removed.append(path)
    if removed:
        logger.warning("removed %d uncommitted files under %s", len(removed), root)
    return removed
