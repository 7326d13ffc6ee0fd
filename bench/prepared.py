"""The data every query benchmark reads, prepared once per size and seed: trackway's Delta
table (as ``EventTable.append`` writes it), the same rows flattened for the peers in one
Parquet file, a DuckDB database file and a chDB MergeTree, and a tiny trackway table to
warm an engine up without touching the measured data."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from trackway.datagen import generate, to_table
from trackway.projects import ProjectCatalog
from trackway.storage.columns import column_type, conform
from trackway.storage.events_table import EventTable
from trackway.storage.layout import ProjectPaths

SIZES = {"S": (1_000_000, 100_000), "M": (10_000_000, 1_000_000)}
FIRST_DAY = date(2026, 6, 1)  # datagen's default start_ms is 2026-06-01T00:00Z
DAYS = 30
DAY_MS = 86_400_000
START_MS = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)
END_MS = START_MS + DAYS * DAY_MS
ROW_GROUP = 128 * 1024  # several row groups per file, so the peers scan Parquet in parallel
DATA_VERSION = 4  # bump when the prepared files change shape (4: parts in the scan's layout)
# The prepared data is shared by every suite: it depends only on the size and the seed.
DATA_ROOT = Path(tempfile.gettempdir()) / "trackway-bench-insights"


@dataclass(frozen=True, slots=True)
class Paths:
    root: Path

    @property
    def parquet(self) -> Path:
        return self.root / "events.parquet"

    @property
    def duckdb(self) -> Path:
        return self.root / "events.duckdb"

    @property
    def chdb(self) -> Path:
        return self.root / "chdb"

    @property
    def trackway(self) -> Path:
        return self.root / "trackway"

    @property
    def tiny(self) -> Path:
        """2,000 events in trackway's format: warms trackway up without touching the data."""
        return self.root / "trackway-tiny"

    @property
    def ready(self) -> Path:
        return self.root / "ready.json"


def prepare(size: str, seed: int, root: Path, regenerate: bool) -> dict[str, Any]:
    """Generate the events once per (size, seed) and store them in every engine's format."""
    paths = Paths(root)
    wanted = {"version": DATA_VERSION, "size": size, "seed": seed}
    if not regenerate and paths.ready.exists():
        ready = json.loads(paths.ready.read_text())
        if {k: ready.get(k) for k in wanted} == wanted:
            return dict(ready)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    events, users = SIZES[size]
    started = time.perf_counter()
    table = to_table(generate(events, users, days=DAYS, start_ms=START_MS, seed=seed), shards=8)
    timings = {"generate_s": time.perf_counter() - started}
    # The peers get trackway's rows in trackway's order (shard, user, time), its user hash
    # as the user id and the same property values: equal answers are then expected exactly.
    flat = pa.table(
        {
            "user_id": table.column("user_hash"),
            "time": table.column("time"),
            "event": pc.cast(table.column("event"), pa.string()),
            "browser": pc.cast(table.column("ps_browser"), pa.string()),
            "product_id": table.column("ps_product_id"),
            "price": table.column("pf_price"),
        }
    )
    assert pc.min(flat.column("time")).as_py() >= START_MS
    assert pc.max(flat.column("time")).as_py() < END_MS
    started = time.perf_counter()
    pq.write_table(
        flat, paths.parquet, row_group_size=ROW_GROUP, compression="zstd", compression_level=3
    )
    timings["parquet_s"] = time.perf_counter() - started
    started = time.perf_counter()
    _load_trackway(table, paths.trackway)
    timings["trackway_load_s"] = time.perf_counter() - started
    tiny = generate(2_000, 200, days=DAYS, start_ms=START_MS, seed=seed)
    _load_trackway(to_table(tiny, shards=8), paths.tiny)
    del table
    started = time.perf_counter()
    _load_duckdb_native(paths)
    timings["duckdb_load_s"] = time.perf_counter() - started
    started = time.perf_counter()
    _load_chdb_native(paths)
    timings["chdb_load_s"] = time.perf_counter() - started
    ready = {**wanted, "events": flat.num_rows, "users": users, "timings": timings}
    ready["bytes"] = {
        "parquet": paths.parquet.stat().st_size,
        "duckdb": paths.duckdb.stat().st_size,
        "chdb": _tree_bytes(paths.chdb),
        "trackway": _tree_bytes(paths.trackway),
    }
    paths.ready.write_text(json.dumps(ready, indent=2))
    return ready


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def _load_trackway(table: pa.Table, data_dir: Path) -> None:
    # In the types the storage worker writes (events_to_table): datagen.to_table leaves
    # ps_product_id a plain string, which every scan would re-encode as a dictionary.
    table = pa.table(
        {name: conform(table.column(name), column_type(name)) for name in table.column_names}
    )
    project = ProjectCatalog(data_dir).create("bench")
    EventTable(ProjectPaths(data_dir, project.id).events).append(table, {})


def _load_duckdb_native(paths: Paths) -> None:
    import duckdb  # noqa: PLC0415 - only loading needs it

    with duckdb.connect(str(paths.duckdb)) as con:
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{paths.parquet}')")


CHDB_COLUMNS = (
    "user_id Int64, time Int64, event LowCardinality(String), browser LowCardinality(String),"
    " product_id Nullable(String), price Nullable(Float64)"
)


def chdb_session(path: str | None) -> Any:
    """A chDB session (chdb ships no type information)."""
    from chdb import session  # noqa: PLC0415 - only chDB's processes need it

    return cast(Any, session).Session(path)


def _load_chdb_native(paths: Paths) -> None:
    sess = chdb_session(str(paths.chdb))
    try:
        sess.query(
            f"CREATE TABLE events ({CHDB_COLUMNS}) ENGINE = MergeTree ORDER BY (user_id, time)"
        )
        sess.query(f"INSERT INTO events SELECT * FROM file('{paths.parquet}', 'Parquet')")
        sess.query("OPTIMIZE TABLE events FINAL")
    finally:
        sess.close()
