"""The data of ``bench.identity`` and its peers: datagen's events where one user in ten is
anonymous-then-identified, stored twice in one trackway data directory (identity on and
off) and once flat in Parquet; and Q5's SQL over the ids as sent, resolved through a
device -> first user map, or restricted to a behavioural cohort, on DuckDB and chDB."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.behaviour import chdb_funnel, duckdb_funnel
from bench.prepared import DAYS, END_MS, SIZES, START_MS, chdb_session
from trackway.datagen import BROWSERS, EVENT_NAMES, FUNNEL, Events, generate
from trackway.projects import ProjectCatalog
from trackway.storage.columns import column_type, conform
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable
from trackway.storage.identity_scan import edges_metadata
from trackway.storage.layout import ProjectPaths
from trackway.storage.resolve import resolve_table
from trackway.storage.scan import EventReader
from trackway.storage.sharding import shard_of, user_hash

ROOT = Path(tempfile.gettempdir()) / "trackway-bench-identity"
IDENTIFIED_EVERY = 10  # one user in ten starts anonymous
COHORT_EVENT = "Viewed Pricing"
COHORT_AT_LEAST = 2
CACHE_BYTES = 8 << 30  # the scan cache of trackway's readers, in process or served
STEPS = list(FUNNEL)


def identified(events: Events) -> tuple[pa.Table, pa.Table]:
    """trackway's stored table and the peers' flat table for the identity data."""
    n = len(events)
    user = events.user  # datagen's rows are in (user, time) order
    starts = np.searchsorted(user, np.arange(events.users))
    counts = np.bincount(user, minlength=events.users)
    chosen = (user % IDENTIFIED_EVERY) == 3
    anonymous = chosen & (np.arange(n) - starts[user] < counts[user] // 2)
    user_ids = np.array([f"user-{u}" for u in range(events.users)], object)
    devices = np.array([f"dev-{u}" for u in range(events.users)], object)
    sent = np.where(anonymous, "$device:" + devices[user], user_ids[user])
    hashes = np.fromiter((user_hash(d) for d in sent), np.int64, n)
    shard = shard_of(hashes, 8)
    columns = {
        "shard": pa.array(shard),
        "user_hash": pa.array(hashes),
        "time": pa.array(events.time),
        "event": pa.DictionaryArray.from_arrays(
            pa.array(events.event.astype(np.int32)), pa.array(EVENT_NAMES)
        ),
        "distinct_id": pa.array(sent, pa.string()),
        "insert_id": pa.array(np.char.add("e", np.arange(n).astype(str))),
        "received_ms": pa.array(np.full(n, int(events.time.max()), np.int64)),
        "ps_browser": pa.DictionaryArray.from_arrays(
            pa.array(events.browser.astype(np.int32)), pa.array(BROWSERS)
        ),
        "ps_$device_id": pa.array(np.where(chosen, devices[user], None), pa.string()),
        "ps_$user_id": pa.array(np.where(chosen & ~anonymous, user_ids[user], None), pa.string()),
    }
    table = pa.table({k: conform(v, column_type(k)) for k, v in columns.items()})
    table = table.take(pa.array(np.lexsort((events.time, hashes, shard))))
    flat = pa.table(
        {
            "sent": table.column("distinct_id"),
            "device": table.column("ps_$device_id").cast(pa.string()),
            "uid": table.column("ps_$user_id").cast(pa.string()),
            "user_id": table.column("user_hash"),
            "time": table.column("time"),
            "event": table.column("event").cast(pa.string()),
            "browser": table.column("ps_browser").cast(pa.string()),
        }
    )
    return table, flat


def prepare(size: str, seed: int, root: Path) -> Path:
    """The data once per (size, seed): trackway's directory and the peers' Parquet file."""
    ready = root / "ready.json"
    wanted = {"size": size, "seed": seed, "version": 3}
    if ready.exists() and json.loads(ready.read_text()) == wanted:
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    n, users = SIZES[size]
    table, flat = identified(generate(n, users, days=DAYS, start_ms=START_MS, seed=seed))
    catalog = ProjectCatalog(root / "trackway")
    for name, mode in (("identity on", "simplified"), ("identity off", "none")):
        project = catalog.create(name, mode)  # type: ignore[arg-type]
        paths = ProjectPaths(root / "trackway", project.id)
        rows, metadata = table, None
        if mode != "none":
            # As the storage worker writes one batch: rows under their resolved users,
            # each part with its identity edges.
            known = EventReader(root / "trackway", CACHE_BYTES).identity_with(project, None, rows)
            rows = resolve_table(rows, known, project.shards)
            deletions = DeletionList(paths.deletions)
            metadata = partial(edges_metadata, mode, deletions=deletions)
        events = EventTable(paths.events)
        events.append(rows.slice(0, 0), {})  # the table's first version, without parts
        events.append(rows, {}, metadata)
    pq.write_table(flat, root / "events.parquet", row_group_size=128 * 1024)
    ready.write_text(json.dumps(wanted))
    return root


# --- The peers: Q5's SQL (bench.behaviour) over the ids as sent, resolved, or a cohort ----

_MAP = (
    "SELECT {device_key} AS did, {arg_min}(uid, time) AS mapped FROM events"
    " WHERE device IS NOT NULL AND uid IS NOT NULL GROUP BY device"
)
_IN_RANGE = f"time >= {START_MS} AND time < {END_MS}"


def sources(engine: str) -> dict[str, str]:
    device_key, arg_min = (
        ("'$device:' || device", "arg_min")
        if engine == "duckdb"
        else ("concat('$device:', device)", "argMin")
    )
    resolved = (
        "(SELECT coalesce(nullIf(m.mapped, ''), e.sent) AS user_id, e.time AS time,"
        " e.event AS event, e.browser AS browser FROM events AS e"
        f" LEFT JOIN ({_MAP.format(device_key=device_key, arg_min=arg_min)}) AS m"
        " ON e.sent = m.did)"
    )
    members = (
        f"SELECT user_id FROM {resolved} AS c WHERE event = '{COHORT_EVENT}' AND {_IN_RANGE}"
        f" GROUP BY user_id HAVING count(*) >= {COHORT_AT_LEAST}"
    )
    return {
        "off": "(SELECT sent AS user_id, time, event, browser FROM events)",
        "on": resolved,
        "cohort": f"(SELECT * FROM {resolved} AS r WHERE user_id IN ({members}))",
    }


def duckdb_runner(parquet: Path) -> Callable[[str], list[int]]:
    import duckdb  # noqa: PLC0415 - only the peers need it

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{parquet}')")
    sql = duckdb_funnel(STEPS)
    sql_of = sources("duckdb")

    def run(case: str) -> list[int]:
        rows = con.execute(sql.format(src=sql_of[case])).fetchall()
        users = {int(k): int(c) for k, c in rows}
        return [users.get(k, 0) for k in range(1, len(STEPS) + 1)]

    return run


def chdb_runner(parquet: Path) -> Callable[[str], list[int]]:
    sess = chdb_session(None)
    sess.query(
        "CREATE TABLE events (sent String, device Nullable(String), uid Nullable(String),"
        " user_id Int64, time Int64, event LowCardinality(String),"
        " browser LowCardinality(String)) ENGINE = Memory"
    )
    sess.query(f"INSERT INTO events SELECT * FROM file('{parquet}', 'Parquet')")
    sql = chdb_funnel(STEPS)
    sql_of = sources("chdb")

    def run(case: str) -> list[int]:
        result = sess.query(sql.format(src=sql_of[case]), "CSV")
        levels = {
            int(level): int(c)
            for level, c in (line.split(",") for line in result.bytes().decode().split())
        }
        return [sum(c for lv, c in levels.items() if lv >= k) for k in range(1, len(STEPS) + 1)]

    return run
