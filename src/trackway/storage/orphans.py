"""Removing files a crash left behind: written into a Delta table but never committed.

A data file that no action still in the table's log names (an ``add`` or ``remove`` of a
commit, or of a checkpoint, which carries the state of the commits the log cleanup deleted)
can only come from a write or a compaction cut short. Files of older versions are named
there and stay for time travel until vacuum. (File times cannot decide this: a file
system's coarse clock may date a file before the commit that came just before it.)
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote

import orjson
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

logger = logging.getLogger(__name__)


def remove_orphan_files(root: Path) -> list[Path]:
    if not DeltaTable.is_deltatable(str(root)):
        return []
    table = DeltaTable(str(root))
    known = {Path(uri.removeprefix("file://")).resolve() for uri in table.file_uris()}
    known |= {(root / path).resolve() for path in _named(root / "_delta_log")}
    removed = []
    for path in root.rglob("*.parquet"):
        if "_delta_log" in path.parts or path.resolve() in known:
            continue
        path.unlink()
        removed.append(path)
    if removed:
        logger.warning("removed %d uncommitted files under %s", len(removed), root)
    return removed


def _named(log_dir: Path) -> set[str]:
    """Every data file path an ``add`` or ``remove`` action still in the log names."""
    paths: set[str] = set()
    for commit in log_dir.glob("*.json"):
        for line in commit.read_bytes().splitlines():
            if b'"add"' not in line and b'"remove"' not in line:
                continue
            action = orjson.loads(line)
            for kind in ("add", "remove"):
                found = action.get(kind)
                if isinstance(found, dict) and isinstance(found.get("path"), str):
                    paths.add(unquote(found["path"]))
    for checkpoint in log_dir.glob("*.checkpoint*.parquet"):
        names = pq.ParquetFile(checkpoint).schema_arrow.names
        kinds = [kind for kind in ("add", "remove") if kind in names]
        actions = pq.read_table(checkpoint, columns=kinds)
        for kind in kinds:
            named = pc.struct_field(actions.column(kind), "path").drop_null()
            paths.update(unquote(path) for path in named.to_pylist())
    return paths
