"""Memory and throughput of user profiles through ingest: for each count in ``--profiles``
(default 100k and 1M, the users of sizes S and M), a fresh ``trackway serve`` (HTTP process
and storage worker pinned as in the through-ingest modes) takes one ``$set`` update per
profile over ``/engage`` (JSON array bodies of 2000 updates, the project's token in each),
its worker stores them, and a profile query (``/api/2.0/engage`` with a ``where``) reads
them all. Reported: updates acknowledged and stored per second, each process's CPU-seconds,
and the RSS of the HTTP process and of the worker (VmRSS and its peak, VmHWM) after the
load and after the queries. The query's total must equal the generated count.

    .venv/bin/python -m bench.profiles
    .venv/bin/python -m bench.profiles --profiles 100000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from bench.imports import Target, profile_lines, send, write_lines
from bench.serve import Served, create_project
from bench.through_load import THROUGH_ROOT, add_options, memory_line

REPO = Path(__file__).resolve().parent.parent
PLANS = ("free", "starter", "pro", "enterprise")
PLAN_WEIGHTS = (0.6, 0.25, 0.12, 0.03)
COUNTRIES = tuple(f"C{c:02d}" for c in range(40))
WHERE = 'properties["plan"] == "pro"'


def profiles(count: int, seed: int) -> tuple[pa.Array, dict[str, pa.Array], int]:
    """The ids ``user-0`` ... (datagen's users), four properties each, and how many have
    plan "pro"."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(len(PLANS), count, p=PLAN_WEIGHTS)
    properties = {
        "plan": pa.array(PLANS).take(pa.array(plan)),
        "country": pa.array(COUNTRIES).take(pa.array(rng.integers(0, len(COUNTRIES), count))),
        "age": pa.array(rng.integers(18, 80, count)),
        "ltv": pa.array(np.round(rng.gamma(2.0, 40.0, count), 2)),
    }
    ids = pa.array([f"user-{u}" for u in range(count)], pa.string())
    return ids, properties, int((plan == PLANS.index("pro")).sum())


def check(lines: pa.Array, ids: pa.Array, properties: dict[str, pa.Array], token: str) -> None:
    """Raise unless a sample of the encoded updates decodes to the updates built as dicts."""
    rows = sorted({0, len(ids) - 1, *range(0, len(ids), max(1, len(ids) // 500))})
    for row in rows:
        expected = {
            "$token": token,
            "$distinct_id": ids[row].as_py(),
            "$set": {name: values[row].as_py() for name, values in properties.items()},
        }
        got = orjson.loads(lines[row].as_py()[:-1])  # without the comma that follows it
        if got != expected:
            raise AssertionError(f"update {row} encodes as {got}, expected {expected}")


def measure(count: int, args: argparse.Namespace) -> dict[str, Any]:
    work = args.through_root / f"profiles-{count}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    project = create_project(work / "data", "profiles")
    ids, properties, pro = profiles(count, args.seed)
    lines = work / "profiles.arrow"
    encoded = profile_lines(ids, properties, project["token"])
    check(encoded, ids, properties, project["token"])
    write_lines(encoded, lines)
    http_core = None if args.http_core < 0 else args.http_core
    worker_core = None if args.worker_core < 0 else args.worker_core
    server = Served(work / "data", work / "server.log")
    try:
        server.start(http_core, worker_core)
        idle = server.memory()
        cpu_before = server.cpu()
        target = Target.profiles(server.port, args.gzip)
        sent = send([(target, lines)], args.import_clients, args.import_connections)
        if sent["errors"] or sent["events"] != count:
            raise RuntimeError(f"{sent['events']} of {count} acknowledged: {sent['errors']}")
        stored_at = server.wait_stored()
        cpu = server.cpu()
        server.wait_quiet()
        loaded = server.memory()
        server.unpin()
        times, totals = [], []
        for _ in range(args.runs + 1):
            started = time.perf_counter()
            answer = server.request(
                "GET", "/api/2.0/engage", project["secret"], params={"where": WHERE}
            )
            times.append(time.perf_counter() - started)
            totals.append(answer["total"])
        queried = server.memory()
    except BaseException:
        print(f"the profile load failed; the server's output ends:\n{server.log_tail()}")
        raise
    finally:
        server.stop()
    return {
        "profiles": count,
        "sent": sent,
        "acked_per_s": count / (sent["last_ack"] - sent["start"]),
        "stored_per_s": count / (stored_at - sent["start"]),
        "cpu_s": {k: cpu[k] - cpu_before[k] for k in cpu},
        "memory": {"started": idle, "after_load": loaded, "after_queries": queried},
        "engage_first_ms": times[0] * 1000,
        "engage_warm_ms": statistics.median(times[1:]) * 1000,
        "pro_expected": pro,
        "pro_totals": totals,
        "match": all(t == pro for t in totals),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", default="100000,1000000", help="counts, comma-separated")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="warm /engage queries after the first")
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/profiles.json")
    add_options(parser, flag=False)
    parser.set_defaults(through_root=THROUGH_ROOT)
    args = parser.parse_args(argv)
    results = []
    for count in (int(c) for c in args.profiles.split(",") if c):
        result = measure(count, args)
        results.append(result)
        cpu = result["cpu_s"]
        print(
            f"\n{count:,} profiles over /engage: acked {result['acked_per_s']:,.0f}/s, stored"
            f" {result['stored_per_s']:,.0f}/s; CPU-s HTTP {cpu['http']:.1f}, worker"
            f" {cpu['worker']:.1f}, clients {result['sent']['client_cpu_s']:.1f}"
        )
        print(
            f"  /api/2.0/engage where {WHERE}: first {result['engage_first_ms']:.0f} ms, warm"
            f" {result['engage_warm_ms']:.0f} ms; total {result['pro_totals'][0]:,}"
            f" ({'equals' if result['match'] else 'DIFFERS FROM'} the {result['pro_expected']:,}"
            " generated)"
        )
        print("  memory, MB (VmRSS now / VmHWM peak):")
        for stage, label in (
            ("started", "started, empty"),
            ("after_load", "after the load"),
            ("after_queries", "after the queries"),
        ):
            print(memory_line(label, result["memory"][stage]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"cpus": os.cpu_count(), "load_average": os.getloadavg(), "results": results}
    args.out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {args.out}")
    return 0 if all(r["match"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
