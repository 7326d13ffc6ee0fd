"""Loading data through ingest, for the through-ingest modes of the query benchmarks: a
fresh ``trackway serve`` (HTTP process pinned to one core, its storage worker to another),
projects made with the CLI, the rows of a direct-layout table sent over ``/import`` and
left to the storage worker, and what that cost.

What a load reports: events acknowledged per second (first send to last acknowledgement),
import -> visible events per second (first send to the moment the worker had committed
every acknowledged event), when the worker settled (compaction done too), the CPU-seconds
of the HTTP process, the worker and the clients over that span, and the memory of both
server processes (VmRSS now and VmHWM, the peak).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable

from bench.imports import Target, send, write_events
from bench.serve import Served, create_project
from trackway.projects import ProjectCatalog
from trackway.storage.layout import ProjectPaths

THROUGH_ROOT = Path(tempfile.gettempdir()) / "trackway-bench-through-ingest"
# The issue's targets for the path itself (events per second).
WORKER_PER_CORE_TARGET = 100_000
VISIBLE_TARGET = 100_000


def add_options(parser: argparse.ArgumentParser, flag: bool = True) -> None:
    """The through-ingest options; ``flag``: with ``--through-ingest`` to turn the mode on."""
    cores = sorted(os.sched_getaffinity(0))
    group = parser.add_argument_group("through ingest")
    if flag:
        group.add_argument(
            "--through-ingest",
            action="store_true",
            help="also load the same rows into a fresh `trackway serve` over HTTP /import"
            " and query it over HTTP (bench/README.md)",
        )
    group.add_argument("--http-core", type=int, default=cores[0], help="-1: do not pin")
    group.add_argument("--worker-core", type=int, default=cores[-1], help="-1: do not pin")
    group.add_argument("--import-clients", type=int, default=2, help="processes per project")
    group.add_argument("--import-connections", type=int, default=4, help="per client process")
    group.add_argument("--gzip", action="store_true", help="gzip the /import bodies")
    group.add_argument(
        "--through-root",
        type=Path,
        default=THROUGH_ROOT,
        help="the served data directory goes here (emptied first)",
    )


@dataclass(frozen=True, slots=True)
class Source:
    """A project to create and the rows to send it."""

    name: str
    rows: pa.Table  # in the stored layout (a direct table read back)
    id_merge: str = "simplified"
    timed: bool = True  # False: sent before the measured load (a warm-up project)


@dataclass(slots=True)
class Loaded:
    server: Served
    projects: dict[str, dict[str, Any]]  # name -> {"id", "name", "token", "secret"}
    report: dict[str, Any] = field(default_factory=dict)


def stored_rows(data_dir: Path, project_id: int | None = None) -> pa.Table:
    """The rows of a direct-layout events table (the only project, or ``project_id``)."""
    if project_id is None:
        (project,) = ProjectCatalog(data_dir).all()
        project_id = project.id
    return DeltaTable(str(ProjectPaths(data_dir, project_id).events)).to_pyarrow_table()


def _core(value: int) -> int | None:
    return None if value < 0 else value


def load(
    args: argparse.Namespace, work: Path, sources: list[Source], env: dict[str, str] | None = None
) -> Loaded:
    """Make the projects, start the server pinned (``env`` added to its environment), send
    the untimed sources and then the timed ones together, and measure until the worker has
    stored and settled."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data_dir = work / "data"
    projects = {s.name: create_project(data_dir, s.name, s.id_merge) for s in sources}
    encoded: dict[str, Path] = {}
    started = time.perf_counter()
    for source in sources:
        encoded[source.name] = work / f"{source.name}.arrow"
        write_events(source.rows, encoded[source.name])
    encode_s = time.perf_counter() - started
    http_core, worker_core = _core(args.http_core), _core(args.worker_core)
    server = Served(data_dir, work / "server.log", env)
    loaded = Loaded(server, projects)
    try:
        listening_s = server.start(http_core, worker_core)

        def targets(timed: bool) -> list[tuple[Target, Path]]:
            return [
                (
                    Target.events(
                        server.port,
                        projects[s.name]["id"],
                        projects[s.name]["secret"],
                        args.gzip,
                    ),
                    encoded[s.name],
                )
                for s in sources
                if s.timed == timed
            ]

        if warm_up := targets(False):
            untimed = send(warm_up, 1, 1)
            _check_sent(untimed, sum(s.rows.num_rows for s in sources if not s.timed))
            server.wait_quiet()
        server.pin(http_core, worker_core)  # threads started since inherit; again to be sure
        cpu_before = server.cpu()
        load_average = os.getloadavg()[0]
        sent = send(targets(True), args.import_clients, args.import_connections)
        cpu_acked = server.cpu()
        stored_at = server.wait_stored()
        cpu_stored = server.cpu()
        settled_at = server.wait_quiet()
        cpu_settled = server.cpu()
        loaded.report = {
            "encode_s": encode_s,
            "listening_s": listening_s,
            "pinned": {"http": http_core, "worker": worker_core},
            "load_average": {"before": load_average, "after": os.getloadavg()[0]},
            "cores_seen": server.cores(),
            "sent": sent,
            "acked_s": sent["last_ack"] - sent["start"],
            "stored_s": stored_at - sent["start"],
            "settled_s": settled_at - sent["start"],
            "cpu_s": {
                "acked": _spent(cpu_before, cpu_acked),
                "stored": _spent(cpu_before, cpu_stored),
                "settled": _spent(cpu_before, cpu_settled),
            },
            "memory_after_load": server.memory(),
            "tables": {s.name: server.table_shape(projects[s.name]["id"]) for s in sources},
        }
        _check_sent(sent, sum(s.rows.num_rows for s in sources if s.timed))
        for source in sources:
            shape = loaded.report["tables"][source.name]
            if shape["rows"] != source.rows.num_rows:
                raise AssertionError(
                    f"project {source.name!r} holds {shape['rows']} rows after the load,"
                    f" expected {source.rows.num_rows}"
                )
    except BaseException:
        print(f"the load failed; the server's output ends:\n{server.log_tail()}", flush=True)
        server.stop()
        raise
    return loaded


def _check_sent(sent: dict[str, Any], expected: int) -> None:
    if sent["errors"] or sent["events"] != expected:
        raise RuntimeError(
            f"{sent['events']} of {expected} events acknowledged; errors: {sent['errors']}"
        )


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in before}


# --- Reporting ------------------------------------------------------------------------------


def verdict(value: float, limit: float, at_most: bool = True) -> str:
    met = value <= limit if at_most else value >= limit
    return "MET" if met else "MISSED"


def load_lines(report: dict[str, Any]) -> tuple[list[str], list[dict[str, Any]]]:
    """The load's summary lines and its targets (each with ``met``)."""
    sent = report["sent"]
    events = sent["events"]
    cpu = report["cpu_s"]["stored"]
    worker_rate = events / cpu["worker"] if cpu["worker"] else float("inf")
    http_rate = events / cpu["http"] if cpu["http"] else float("inf")
    visible_rate = events / report["stored_s"]
    pinned = report["pinned"]
    lines = [
        f"\nthrough ingest: {events:,} events in {sent['requests']:,} /import requests from"
        f" {sent['clients']} client processes x {sent['connections']} connections"
        f" (gzip {'on' if sent['gzip'] else 'off'}); HTTP process on core {pinned['http']},"
        f" storage worker on core {pinned['worker']} (their threads ran on cores"
        f" {report['cores_seen']['http']} and {report['cores_seen']['worker']})",
        f"  acked {events / report['acked_s']:,.0f} events/s ({report['acked_s']:.1f} s);"
        f" import -> visible (all committed) {visible_rate:,.0f} events/s"
        f" ({report['stored_s']:.1f} s from the first send); settled (compaction done)"
        f" after {report['settled_s']:.1f} s",
        f"  CPU-s to committed: HTTP {cpu['http']:.1f} ({http_rate:,.0f} events per CPU-s),"
        f" worker {cpu['worker']:.1f} ({worker_rate:,.0f} events per CPU-s),"
        f" clients {sent['client_cpu_s']:.1f}; to settled: HTTP"
        f" {report['cpu_s']['settled']['http']:.1f}, worker"
        f" {report['cpu_s']['settled']['worker']:.1f}",
        f"  share of its core used: HTTP {report['cpu_s']['acked']['http'] / report['acked_s']:.0%}"
        f" (first send to last ack), worker {cpu['worker'] / report['stored_s']:.0%} (to"
        " committed); under 100% while behind, something else had the core (load average"
        f" {report['load_average']['before']:.1f} before, {report['load_average']['after']:.1f}"
        " after, on all cores)",
        f"  encoding the bodies beforehand took {report['encode_s']:.1f} s; tables: "
        + ", ".join(
            f"{name} version {t['version']}, {t['parts']} parts"
            for name, t in report["tables"].items()
        ),
    ]
    targets = [
        {
            "target": f"storage worker >= {WORKER_PER_CORE_TARGET:,} events/s per core",
            "value": worker_rate,
            "met": worker_rate >= WORKER_PER_CORE_TARGET,
        },
        {
            "target": f"import -> visible >= {VISIBLE_TARGET:,} events/s",
            "value": visible_rate,
            "met": visible_rate >= VISIBLE_TARGET,
        },
    ]
    return lines, targets


def memory_line(label: str, memory: dict[str, dict[str, float]]) -> str:
    def one(m: dict[str, float]) -> str:
        return f"{m.get('rss_mb', 0):,.0f} / {m.get('hwm_mb', 0):,.0f}" if m else "-"

    return f"  {label}: HTTP {one(memory['http'])}, worker {one(memory['worker'])}"


def timed_calls(
    server: Served, call: Callable[[], Any], runs: int
) -> tuple[Any, list[float], float]:
    """One untimed call, then ``runs`` timed: (first answer, wall seconds, the HTTP
    process's mean CPU-seconds per call, from /proc ticks)."""
    first = call()
    times = []
    before = server.cpu()["http"]
    for _ in range(runs):
        started = time.perf_counter()
        again = call()
        times.append(time.perf_counter() - started)
        if again != first:
            raise AssertionError(f"an answer changed between runs: {again!r} vs {first!r}")
    cpu = (server.cpu()["http"] - before) / runs
    return first, times, cpu


def overhead_ms(server: Served, secret: str, runs: int = 50) -> dict[str, float]:
    """An authenticated API round trip that does no work (``GET /api/v1/me``): routing,
    authentication, the hop to a worker thread, a small JSON answer, HTTP both ways."""
    server.request("GET", "/api/v1/me", secret)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        server.request("GET", "/api/v1/me", secret)
        times.append((time.perf_counter() - started) * 1000)
    return {"median_ms": statistics.median(times), "min_ms": min(times)}
