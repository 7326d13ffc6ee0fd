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

``--through-ingest`` also sends the rows over HTTP ``/import`` to a ``trackway serve`` and
asks there (``bench.identity_ingest``).

    .venv/bin/python -m bench.identity --size M --runs 3
    .venv/bin/python -m bench.identity --size S --through-ingest
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from bench import identity_ingest
from bench.behaviour import LAST_DAY, _funnel_spec
from bench.identity_data import (
    CACHE_BYTES,
    COHORT_AT_LEAST,
    COHORT_EVENT,
    ROOT,
    STEPS,
    chdb_runner,
    duckdb_runner,
    prepare,
)
from bench.prepared import FIRST_DAY, SIZES
from bench.through_load import add_options
from trackway.projects import Project, ProjectCatalog
from trackway.query.behaviour.spec import FunnelSpec
from trackway.query.cohorts.spec import CohortDefinition
from trackway.query.reports import run_report
from trackway.services import cohorts
from trackway.services.context import Services
from trackway.storage.scan import EventReader

REPO = Path(__file__).resolve().parent.parent


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
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/identity.json")
    add_options(parser)
    parser.add_argument(
        "--identity-batch-users",
        type=int,
        default=1000,
        help="through ingest: new users in each batch of the commit and log-tail runs",
    )
    args = parser.parse_args(argv)
    if args.through_ingest and "trackway" not in args.only.split(","):
        parser.error("--through-ingest compares with trackway's direct runs: keep it in --only")
    root = prepare(args.size, args.seed, ROOT / f"{args.size}-seed{args.seed}")
    engines = {
        "trackway": lambda: _trackway(root / "trackway"),
        "duckdb": lambda: duckdb_runner(root / "events.parquet"),
        "chdb": lambda: chdb_runner(root / "events.parquet"),
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
    matched = all(got == reference for got in answers.values())
    report: dict[str, Any] = {"size": args.size, "runs": args.runs, "answers": answers}
    report |= {"warm_ms": warm, "first_ms": first}
    if args.through_ingest:
        direct = {"answers": answers, "warm": warm, "first": first}
        lines, through, through_matched = identity_ingest.run(args, root, direct)
        print("\n".join(lines))
        report |= through
        matched = matched and through_matched
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(f"wrote {args.out}")
    print(json.dumps({"answers": answers.get("trackway", reference)}))
    return 0 if matched else 1


if __name__ == "__main__":
    raise SystemExit(main())
