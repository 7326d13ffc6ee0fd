"""The events table is plain Delta Lake: other engines read the same events as the scan API.

DuckDB's own ``delta_scan`` needs an extension downloaded at run time, so DuckDB queries the
Arrow table that the ``deltalake`` package reads; Polars reads the table directly.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest
from deltalake import DeltaTable

from tests.storage.pipeline import LogFeed, canonical, event, row_of, scan_events
from trackway.log import LogRecord
from trackway.projects import ProjectCatalog
from trackway.settings import Settings
from trackway.storage.layout import ProjectPaths
from trackway.storage.scan import EventReader
from trackway.storage.worker import StorageWorker

USERS = ["u1", "u2", "alice", "o'neil", ""]


def read_with_polars(path: Path) -> dict[str, list[Any]]:
    return pl.read_delta(str(path)).to_dict(as_series=False)


def read_with_duckdb(path: Path) -> dict[str, list[Any]]:
    events = DeltaTable(str(path)).to_pyarrow_table()  # noqa: F841 - DuckDB finds it by name
    result = duckdb.sql("SELECT * EXCLUDE (shard, user_hash) FROM events ORDER BY time")
    columns: dict[str, list[Any]] = result.to_arrow_table().to_pydict()
    return columns


def read_with_duckdb_parquet(path: Path) -> dict[str, list[Any]]:
    """DuckDB's own Parquet reader over the files of the current version."""
    files = DeltaTable(str(path)).file_uris()
    result = duckdb.sql(
        "SELECT * EXCLUDE (user_hash) FROM read_parquet($files, union_by_name = true)"
        " ORDER BY time",
        params={"files": files},
    )
    assert result is not None
    columns: dict[str, list[Any]] = result.to_arrow_table().to_pydict()
    return columns


def properties(number: int, user: str) -> dict[str, Any]:
    """Every batch has the same typed columns; values (and one property's type) vary."""
    return {
        "plan": ["free", "pro"][number % 2],
        "a b.c=;{}": number,
        "ünï": 0.5 * number,
        "on": number % 2 == 0,
        "big": 2**64 - 1 - number,
        "list": [number, user, {"k": None}],
        "varies": "text" if user in ("u1", "") else number,
    }


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(read_with_polars, id="polars.read_delta"),
        pytest.param(read_with_duckdb, id="duckdb over deltalake"),
        pytest.param(read_with_duckdb_parquet, id="duckdb read_parquet"),
    ],
)
def test_other_engines_read_what_the_scan_returns(
    tmp_path: Path, read: Callable[[Path], dict[str, list[Any]]]
) -> None:
    project = ProjectCatalog(tmp_path).create("open")
    worker = StorageWorker(tmp_path, Settings(compaction_trigger_parts=2))
    with LogFeed(tmp_path) as feed:
        for number in range(5):
            received = 10_000 + number
            events = [
                event(
                    ["Sign up", "Buy"][i % 2],
                    user,
                    1_000 * (number + i),
                    f"b{number}-e{i}",
                    received,
                    **properties(number, user),
                )
                for i, user in enumerate(USERS)
            ]
            feed.append([LogRecord(project.id, "track", received, events)])
            worker.run_once()
            worker.maintain()

    columns = read(ProjectPaths(tmp_path, project.id).events)
    outside = sorted(canonical(row_of(columns, row)) for row in range(len(columns["time"])))
    property_columns = [c for c in columns if c.startswith("p") and c[2:3] == "_"]
    scanned = scan_events(EventReader(tmp_path, 1 << 20), project, property_columns)
    assert len(scanned) == 5 * len(USERS)
    assert outside == sorted(canonical(row) for _, row in scanned)
