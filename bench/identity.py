"""What identity resolution and behavioural cohorts cost: the Q5 funnel (bench.behaviour)
with identity on and off, and filtered by a behavioural cohort, on trackway, DuckDB and chDB,
same generated data, same run.

Data: datagen's events (S or M) where one user in ten is anonymous-then-identified: the
first half of their events are sent as ``$device:dev-N`` with only ``$device_id``, the rest
as ``user-N`` with both ``$device_id`` and ``$user_id`` (simplified ID merge). trackway
holds the table twice: project 1 with ``id_merge`` simplified (on), project 2 with none
(off). The peers get the same rows with the sent id, device and user id as columns; "on"
resolves ids through a device -> first user map built in the same SQL.

- **off / on**: Q5 over the ids as sent, then resolved.
- **cohort**: Q5 (on) over the users who did ``Viewed Pricing`` at least twice in the
  30 days (trackway: a saved cohort and ``where: cohort(N)``; peers: ``IN (subquery)``).

Timings: **warm** = median of ``--runs`` after one untimed run, in one process; **first** =
the first query of a fresh reader/connection over data already in the OS cache (trackway
builds the identity map and re-homes rows then; a new commit or merge costs about this).

    .venv/bin/python -m bench.identity --size M --runs 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.behaviour import LAST_DAY, _funnel_spec, chdb_funnel, duckdb_funnel
from bench.prepared import DAYS, END_MS, FIRST_DAY, SIZES, START_MS, chdb_session
from trackway.datagen import BROWSERS, EVENT_NAMES, FUNNEL, Events, generate
from trackway.projects import Project, ProjectCatalog
from trackway.query.behaviour.spec import FunnelSpec
from trackway.query.cohorts.spec import CohortDefinition
from trackway.query.reports import run_report
from trackway.services import cohorts
from trackway.services.context import Services
from trackway.storage.columns import column_type, conform
from trackway.storage.events_table import EventTable
from trackway.storage.layout import ProjectPaths
from trackway.storage.scan import EventReader
from trackway.storage.sharding import shard_of, user_hash

ROOT = Path(tempfile.gettempdir()) / "trackway-bench-identity"
IDENTIFIED_EVERY = 10  # one user in ten starts anonymous
COHORT_EVENT = "Viewed Pricing"
COHORT_AT_LEAST = 2
CACHE_BYTES = 8 << 30
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
    wanted = {"size": size, "seed": seed, "version": 1}
    if ready.exists() and json.loads(ready.read_text()) == wanted:
        return root
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    n, users = SIZES[size]
    table, flat = identified(generate(n, users, days=DAYS, start_ms=START_MS, seed=seed))
    catalog = ProjectCatalog(root / "trackway")
    for name, mode in (("identity on", "simplified"), ("identity off", "none")):
        project = catalog.create(name, mode)  # type: ignore[arg-type]
        EventTable(ProjectPaths(root / "trackway", project.id).events).append(table, {})
    pq.write_table(flat, root / "events.parquet", row_group_size=128 * 1024)
    ready.write_text(json.dumps(wanted))
    return root


# --- The peers: Q5's SQL (bench.behaviour) over the ids as sent, resolved, or a cohort ----

_MAP = (
    "SELECT {device_key} AS did, {arg_min}(uid, time) AS mapped FROM events"
    " WHERE device IS NOT NULL AND uid IS NOT NULL GROUP BY device"
)
_IN_RANGE = f"time >= {START_MS} AND time < {END_MS}"


def _sources(engine: str) -> dict[str, str]:
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


def _duckdb(parquet: Path) -> Callable[[str], list[int]]:
    import duckdb  # noqa: PLC0415 - only the peers need it

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{parquet}')")
    sql = duckdb_funnel(STEPS)
    sources = _sources("duckdb")

    def run(case: str) -> list[int]:
        rows = con.execute(sql.format(src=sources[case])).fetchall()
        users = {int(k): int(c) for k, c in rows}
        return [users.get(k, 0) for k in range(1, len(STEPS) + 1)]

    return run


def _chdb(parquet: Path) -> Callable[[str], list[int]]:
    sess = chdb_session(None)
    sess.query(
        "CREATE TABLE events (sent String, device Nullable(String), uid Nullable(String),"
        " user_id Int64, time Int64, event LowCardinality(String),"
        " browser LowCardinality(String)) ENGINE = Memory"
    )
    sess.query(f"INSERT INTO events SELECT * FROM file('{parquet}', 'Parquet')")
    sql = chdb_funnel(STEPS)
    sources = _sources("chdb")

    def run(case: str) -> list[int]:
        result = sess.query(sql.format(src=sources[case]), "CSV")
        levels = {
            int(level): int(c)
            for level, c in (line.split(",") for line in result.bytes().decode().split())
        }
        return [sum(c for lv, c in levels.items() if lv >= k) for k in range(1, len(STEPS) + 1)]

    return run


def _saved_cohort(data_dir: Path, project: Project) -> int:
    """The behavioural cohort, saved once in the project: its id."""
    services = Services.open(data_dir)
    for saved in cohorts.cohorts(services, project):
        if saved.name == "bench pricing viewers":
            return saved.id
    condition = {
        "did": {
            "event": COHORT_EVENT,
            "at_least": COHORT_AT_LEAST,
            "from_date": FIRST_DAY.isoformat(),
            "to_date": LAST_DAY.isoformat(),
        }
    }
    definition = CohortDefinition(name="bench pricing viewers", condition=condition)
    return cohorts.add_cohort(services, project, definition, int(time.time() * 1000)).id


# --- trackway -------------------------------------------------------------------------------


def _trackway(data_dir: Path, fresh: bool = False) -> Callable[[str], list[int]]:
    catalog = ProjectCatalog(data_dir)
    on, off = catalog.by_id(1), catalog.by_id(2)
    assert on is not None and off is not None
    cohort = _saved_cohort(data_dir, on)
    plain = _funnel_spec(STEPS)
    filtered = msgspec.structs.replace(plain, where=f"cohort({cohort})")
    state: dict[str, EventReader] = {}

    def reader() -> EventReader:
        if fresh or "r" not in state:
            state["r"] = EventReader(data_dir, CACHE_BYTES)
        return state["r"]

    def run(case: str) -> list[int]:
        project: Project = off if case == "off" else on
        spec: FunnelSpec = filtered if case == "cohort" else plain
        result = run_report(reader(), project, spec)
        return [int(s.count) for s in result.steps]

    return run


CASES = ("off", "on", "cohort")
TARGETS = {"on": ("off", 1.3), "cohort": ("on", 2.0)}  # case: (compared with, at most)


def _timed(run: Callable[[str], list[int]], case: str, runs: int) -> tuple[list[int], float]:
    answer = run(case)  # untimed: warms caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        again = run(case)
        times.append(time.perf_counter() - started)
        assert again == answer, (case, again, answer)
    return answer, statistics.median(times) * 1000


def _first(make: Callable[[], Callable[[str], list[int]]], case: str, runs: int) -> float:
    """trackway's first query on a fresh reader (Parquet decode, identity map, re-homing)."""
    times = []
    for _ in range(runs):
        run = make()
        started = time.perf_counter()
        run(case)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default="trackway,duckdb,chdb")
    args = parser.parse_args(argv)
    root = prepare(args.size, args.seed, ROOT / f"{args.size}-seed{args.seed}")
    engines = {
        "trackway": lambda: _trackway(root / "trackway"),
        "duckdb": lambda: _duckdb(root / "events.parquet"),
        "chdb": lambda: _chdb(root / "events.parquet"),
    }
    answers: dict[str, dict[str, list[int]]] = {}
    warm: dict[str, dict[str, float]] = {}
    for engine in args.only.split(","):
        run = engines[engine]()
        answers[engine], warm[engine] = {}, {}
        for case in CASES:
            answers[engine][case], warm[engine][case] = _timed(run, case, args.runs)
        del run
    first = {}
    if "trackway" in answers:
        for case in CASES:
            first[case] = _first(lambda: _trackway(root / "trackway", fresh=True), case, args.runs)
    print(f"\nsize {args.size}, seed {args.seed}, runs {args.runs}; Q5 step counts and ms\n")
    print(f"| case | {' | '.join(f'{e} warm' for e in answers)} | trackway first |")
    print(f"|---|{'---|' * (len(answers) + 1)}")
    for case in CASES:
        cells = [f"{warm[e][case]:.1f}" for e in answers]
        print(f"| {case} | {' | '.join(cells)} | {first.get(case, float('nan')):.1f} |")
    for case, (base, limit) in TARGETS.items():
        ratios = ", ".join(f"{e} {warm[e][case] / warm[e][base]:.2f}x" for e in answers)
        line = f"{case} / {base} (warm): {ratios}"
        if first:
            line += f"; trackway first {first[case] / first[base]:.2f}x"
        print(f"{line}  (target for trackway: <= {limit}x)")
    reference = next(iter(answers.values()))
    for engine, got in answers.items():
        status = "same" if got == reference else f"DIFFERENT: {got} vs {reference}"
        print(f"answers {engine}: {status}")
    print(json.dumps({"answers": answers.get("trackway", reference)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
