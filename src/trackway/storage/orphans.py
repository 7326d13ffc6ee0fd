"""Removing files a crash left behind: written into a Delta table but never committed.

A data file that no commit of the table's log ever added can only come from a write or a
compaction cut short. Files of older versions were added by some commit and stay for time
travel until vacuum. (File times cannot decide this: a file system's coarse clock may date a
file before the commit that came just before it.)
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote

import orjson
from deltalake import DeltaTable

logger = logging.getLogger(__name__)


def remove_orphan_files(root: Path) -> list[Path]:
    if not DeltaTable.is_deltatable(str(root)):
        return []
    table = DeltaTable(str(root))
    known = {Path(uri.removeprefix("file://")).resolve() for uri in table.file_uris()}
    known |= {(root / path).resolve() for path in _ever_added(root / "_delta_log")}
    removed = []
    for path in root.rglob("*.parquet"):
        if "_delta_log" in path.parts or path.resolve() in known:
            continue
        path.unlink()
        removed.append(path)
    if removed:
        logger.warning("removed %d uncommitted files under %s", len(removed), root)
    return removed


def _ever_added(log_dir: Path) -> set[str]:
    """Every data file path an ``add`` action of a commit still in the log names."""
    paths: set[str] = set()
    for commit in log_dir.glob("*.json"):
        for line in commit.read_bytes().splitlines():
            if b'"add"' not in line:
                continue
            action = orjson.loads(line).get("add")
            if isinstance(action, dict) and isinstance(action.get("path"), str):
                paths.add(unquote(action["path"]))
    return paths
