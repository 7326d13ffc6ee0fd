"""``--through-ingest`` for ``bench.identity``: its events sent over HTTP ``/import`` to a
fresh ``trackway serve`` twice, into a project with simplified ID merge ("on") and one
with none ("off"), then Q5 asked over the native API with identity on and off:

- **warm**: the median of ``--runs`` after one untimed run, in one server;
- **first of a process**: per run a restarted server, its worker settled, the funnel once on
  project "tiny" (kernels, first imports), then the query;
- **after a new commit**: per run a new batch of events sent to both projects and committed
  by the worker, then the first query of each project;
- **with events in the log tail**: the worker paused (``SIGSTOP``), a further batch sent,
  then the first query of each project, which reads the batch from the log.

Each batch brings ``--identity-batch-users`` new users: in the commit's batch every user's
anonymous ``Page View`` and ``Add to Cart`` on a new device, and half the users' identified
``Checkout`` and ``Purchase`` (the device merged in the same commit); in the tail's batch
the other half's (merges of devices whose events an earlier commit holds). Base answers must
equal the direct layout's; every later answer must equal DuckDB's (``bench.identity``'s SQL)
over the generated rows plus every batch sent so far. A difference is an error exit.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from bench.behaviour import _funnel_spec, duckdb_funnel
from bench.identity_data import CACHE_BYTES, STEPS, identified, sources
from bench.imports import Target, send, write_events
from bench.prepared import DAY_MS, DAYS, START_MS
from bench.serve import Served
from bench.through_load import (
    Source,
    load,
    load_lines,
    memory_line,
    stored_rows,
    timed_calls,
    verdict,
)
from trackway.datagen import generate
from trackway.storage.sharding import user_hash

CASES = ("off", "on")
TARGET = 1.3  # identity on at most this many times off
MEASURES = {
    "warm": "warm",
    "first": "first of a process",
    "commit": "after a new commit",
    "tail": "events in the log tail",
}


def batch(run: int, users: int, part: str) -> tuple[pa.Table, pa.Table]:
    """Round ``run``'s batch (``part`` "commit" or "tail"): the stored-layout rows to send
    and the same rows flat, as the peers' Parquet file holds them."""
    rows: list[tuple[str, str, str | None, int, str]] = []  # sent, device, uid, time, event
    day = START_MS + 10 * DAY_MS + run * 3_600_000
    for k in range(users):
        device, uid, t = f"ldev{run}-{k}", f"late{run}-{k}", day + k * 1000
        if part == "commit":
            rows.append((f"$device:{device}", device, None, t, "Page View"))
            rows.append((f"$device:{device}", device, None, t + 60_000, "Add to Cart"))
        if (part == "commit") == (k % 2 == 0):
            rows.append((uid, device, uid, t + 120_000, "Checkout"))
            rows.append((uid, device, uid, t + 180_000, "Purchase"))
    sent, devices, uids, times, events = (list(c) for c in zip(*rows, strict=True))
    n = len(rows)
    stored = pa.table(
        {
            "time": pa.array(times, pa.int64()),
            "event": pa.array(events, pa.string()),
            "distinct_id": pa.array(sent, pa.string()),
            "insert_id": pa.array([f"x{run}{part[0]}{i}" for i in range(n)], pa.string()),
            "received_ms": pa.array(np.zeros(n, np.int64)),
            "ps_browser": pa.array(["Chrome"] * n, pa.string()),
            "ps_$device_id": pa.array(devices, pa.string()),
            "ps_$user_id": pa.array(uids, pa.string()),
        }
    )
    flat = pa.table(
        {
            "sent": pa.array(sent, pa.string()),
            "device": pa.array(devices, pa.string()),
            "uid": pa.array(uids, pa.string()),
            "user_id": pa.array([user_hash(s) for s in sent], pa.int64()),
            "time": pa.array(times, pa.int64()),
            "event": pa.array(events, pa.string()),
            "browser": pa.array(["Chrome"] * n, pa.string()),
        }
    )
    return stored, flat


class Oracle:
    """Q5 on DuckDB over the generated rows and every batch added: the expected answers."""

    def __init__(self, parquet: Path) -> None:
        import duckdb  # noqa: PLC0415 - only this mode needs it in the main process

        self.con = duckdb.connect()
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet('{parquet}')")
        self.sql = duckdb_funnel(STEPS)

    def add(self, flat: pa.Table) -> None:
        self.con.register("batch", flat)
        self.con.execute("INSERT INTO events SELECT * FROM batch")
        self.con.unregister("batch")

    def answer(self, case: str) -> list[int]:
        rows = self.con.execute(self.sql.format(src=sources("duckdb")[case])).fetchall()
        users = {int(k): int(c) for k, c in rows}
        return [users.get(k, 0) for k in range(1, len(STEPS) + 1)]


def run(
    args: argparse.Namespace,
    root: Path,
    direct: dict[str, dict[str, Any]],
) -> tuple[list[str], dict[str, Any], bool]:
    """The through-ingest measures; ``direct`` holds the direct run's ``answers``, ``warm``
    and ``first`` (per case). Returns the lines to print, the report, and whether every
    answer matched."""
    work = args.through_root / f"identity-{args.size}-seed{args.seed}"
    print(f"  through ingest: loading {work} ...", flush=True)
    rows = stored_rows(root / "trackway", 1)
    tiny = identified(generate(2_000, 200, days=DAYS, start_ms=START_MS, seed=args.seed))[0]
    loaded = load(
        args,
        work,
        [
            Source("tiny", tiny, timed=False),
            Source("on", rows, "simplified"),
            Source("off", rows, "none"),
        ],
        {"TRACKWAY_SCAN_CACHE_BYTES": str(CACHE_BYTES)},
    )
    server, projects = loaded.server, loaded.projects
    body = msgspec.json.encode(_funnel_spec(STEPS))

    def query(name: str) -> Callable[[], list[int]]:
        project = projects[name]
        path = f"/api/v1/projects/{project['id']}/funnels"

        def call() -> list[int]:
            result = server.request("POST", path, project["secret"], body)
            return [int(s["count"]) for s in result["steps"]]

        return call

    times: dict[str, dict[str, list[float]]] = {m: {c: [] for c in CASES} for m in MEASURES}
    problems: list[str] = []
    report: dict[str, Any] = {"load": loaded.report, "work": str(work)}
    try:
        server.unpin()
        for case in CASES:
            answer, warm, _ = timed_calls(server, query(case), args.runs)
            times["warm"][case] = warm
            expected = direct["answers"].get("trackway", {}).get(case)
            if answer != expected:
                problems.append(f"{case} warm: {answer} vs the direct layout's {expected}")
        report["memory_after_warm"] = server.memory()
        report["first_start"] = _first_of_process(server, query, args.runs, times, direct, problems)
        oracle = Oracle(root / "events.parquet")
        for round_ in range(args.runs + 1):
            _new_data(server, projects, oracle, round_, args, query, times, problems)
        report["memory_at_end"] = server.memory()
        report["batches"] = {"users": args.identity_batch_users, "rounds": args.runs + 1}
    finally:
        server.stop()
    lines = _render(report, times, direct, problems, args.runs)
    report["times_ms"] = {
        m: {c: [t * 1000 for t in ts] for c, ts in v.items()} for m, v in times.items()
    }
    report["problems"] = problems
    return lines, {"through_ingest": report}, not problems


def _first_of_process(
    server: Served,
    query: Callable[[str], Callable[[], list[int]]],
    runs: int,
    times: dict[str, dict[str, list[float]]],
    direct: dict[str, dict[str, Any]],
    problems: list[str],
) -> dict[str, float]:
    listening, warm_up = [], []
    for case in CASES:
        for attempt in range(runs + 1):  # the first attempt is not timed
            started = server.restart()
            server.wait_quiet()
            warm_up_call, call = query("tiny"), query(case)
            before = time.perf_counter()
            warm_up_call()
            ready = time.perf_counter()
            answer = call()
            took = time.perf_counter() - ready
            if answer != direct["answers"].get("trackway", {}).get(case):
                problems.append(f"{case} first of a process: {answer}")
            if attempt:
                times["first"][case].append(took)
                listening.append(started)
                warm_up.append(ready - before)
    for case in CASES:  # warm again for the rounds that follow
        query(case)()
    return {
        "listening_median_s": statistics.median(listening),
        "warm_up_median_s": statistics.median(warm_up),
    }


def _new_data(
    server: Served,
    projects: dict[str, dict[str, Any]],
    oracle: Oracle,
    round_: int,
    args: argparse.Namespace,
    query: Callable[[str], Callable[[], list[int]]],
    times: dict[str, dict[str, list[float]]],
    problems: list[str],
) -> None:
    """One round: a committed batch, then one left in the log tail, each followed by the
    first query of each project; the untimed round 0 warms what a round first does."""
    for part in ("commit", "tail"):
        stored, flat = batch(round_, args.identity_batch_users, part)
        lines = Path(server.data_dir).parent / f"batch-{round_}-{part}.arrow"
        write_events(stored, lines)
        oracle.add(flat)
        if part == "tail":
            server.pause_worker()
        targets = [
            (Target.events(server.port, projects[c]["id"], projects[c]["secret"]), lines)
            for c in CASES
        ]
        sent = send(targets, 1, 1)
        if sent["errors"] or sent["events"] != 2 * stored.num_rows:
            raise RuntimeError(f"a batch was not acknowledged: {sent['errors']}")
        if part == "commit":
            server.wait_quiet()
        for case in CASES:
            call = query(case)
            started = time.perf_counter()
            answer = call()
            took = time.perf_counter() - started
            expected = oracle.answer(case)
            if answer != expected:
                problems.append(f"{case} {part} round {round_}: {answer} vs DuckDB's {expected}")
            if round_:
                times[part][case].append(took)
        if part == "tail":
            server.resume_worker()
            server.wait_quiet()


def _render(
    report: dict[str, Any],
    times: dict[str, dict[str, list[float]]],
    direct: dict[str, dict[str, Any]],
    problems: list[str],
    runs: int,
) -> list[str]:
    lines, targets = load_lines(report["load"])
    lines.append(
        f"\nidentity through ingest: Q5 over the native API, ms, medians of {runs} runs"
        " (direct: bench.identity's in-process runs above)\n"
    )
    lines.append(f"| case | {' | '.join(MEASURES.values())} | direct warm | direct first |")
    lines.append(f"|---|{'---|' * (len(MEASURES) + 2)}")
    medians = {
        m: {c: statistics.median(ts) * 1000 for c, ts in v.items()} for m, v in times.items()
    }
    for case in CASES:
        cells = [f"{medians[m][case]:.1f}" for m in MEASURES]
        cells.append(f"{direct['warm'].get('trackway', {}).get(case, float('nan')):.1f}")
        cells.append(f"{direct['first'].get(case, float('nan')):.1f}")
        lines.append(f"| {case} | {' | '.join(cells)} |")
    text = []
    for measure, label in MEASURES.items():
        ratio = medians[measure]["on"] / medians[measure]["off"]
        if measure == "warm":
            text.append(f"{label} {ratio:.2f}x")
            continue
        met = verdict(ratio, TARGET)
        text.append(f"{label} {ratio:.2f}x {met}")
        targets.append(
            {
                "target": f"identity on / off, {label} <= {TARGET}",
                "value": ratio,
                "met": met == "MET",
            }
        )
    lines.append(f"\non / off (target <= {TARGET}): " + "; ".join(text))
    first = report["first_start"]
    lines.append(
        f"first of a process: restart to listening median {first['listening_median_s']:.2f} s,"
        f" the funnel on project 'tiny' median {first['warm_up_median_s']:.2f} s; neither is timed"
    )
    lines.append("memory, MB (VmRSS now / VmHWM peak):")
    lines.append(memory_line("after the load", report["load"]["memory_after_load"]))
    lines.append(memory_line("after the warm queries", report["memory_after_warm"]))
    lines.append(
        memory_line(
            "at the end (the last restarted server, after the rounds)", report["memory_at_end"]
        )
    )
    if problems:
        lines.append("ANSWERS DIFFER:")
        lines += [f"  {p}" for p in problems[:20]]
    else:
        lines.append(
            "answers: the base answers equal the direct layout's; after every batch they equal"
            " DuckDB's over the same rows"
        )
    missed = [t for t in targets if not t["met"]]
    lines.append(f"targets through ingest: {len(targets) - len(missed)} of {len(targets)} MET")
    lines += [f"  MISSED {t['target']}: {t['value']:,.2f}" for t in missed]
    report["targets"] = targets
    return lines
