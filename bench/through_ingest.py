"""``--through-ingest`` for ``bench.insights`` and ``bench.behaviour``: the rows of the
direct layout sent over HTTP ``/import`` to a fresh ``trackway serve``, left to its storage
worker, then queried over HTTP, next to the direct layout's times from the same run.

After the suite's engines have run (their answers are the reference), :class:`ThroughIngest`
loads the served data directory (``bench.through_load``: the suite's tiny table into
project "tiny" first, untimed, then every row of the measured table into project "bench"),
widens both server processes to every core, as the direct runs have, and asks:

- **warm**: each query once untimed, then ``--runs`` times, in the same server, through
  the native API (``POST /api/v1/projects/{id}/<kind>`` with the suite's spec) and, for
  funnels, Mixpanel's ``GET /api/2.0/funnels`` (one 30-day bucket);
- **cold**: per run a restarted server (start to listening reported apart), its worker
  settled, the suite's queries answered once on project "tiny" (numba's cached kernels
  loaded, first imports made: what the direct cold runs leave out too), then the query.

Every answer must equal the direct layout's; a difference makes the exit code 1.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson

from bench.harness import Suite
from bench.prepared import Paths
from bench.serve import Served
from bench.through_load import (
    Source,
    add_options,
    load,
    load_lines,
    memory_line,
    overhead_ms,
    stored_rows,
    timed_calls,
    verdict,
)
from trackway.query.behaviour.spec import FunnelSpec
from trackway.query.reports import REPORTS

DIRECT_TARGET = 1.2  # through ingest at most this many times the direct layout
# Against chDB in memory on the same rows, by report kind (at most this many times).
CHDB_TARGETS = {"insights": 1.5, "funnels": 0.6, "retention": 0.4}
FUNNEL_BUCKET_DAYS = 30

Answer = Callable[[dict[str, Any]], list[Any]]  # a result as JSON -> the canonical rows


def kind_of(spec: Any) -> str:
    return next(kind.name for kind in REPORTS.values() if isinstance(spec, kind.spec))


def mixpanel_funnel_params(spec: FunnelSpec) -> dict[str, str]:
    """Mixpanel's ``/funnels`` parameters for a funnel spec: its steps, window, dates in
    30-day buckets and its one breakdown as ``on``."""
    if spec.window is None:
        raise ValueError("Expected a funnel with a window")
    params = {
        "steps": msgspec.json.encode(spec.steps).decode(),
        "from_date": spec.from_date.isoformat(),
        "to_date": spec.to_date.isoformat(),
        "length": str(spec.window.length),
        "length_unit": spec.window.unit,
        "interval": str(FUNNEL_BUCKET_DAYS),
    }
    if spec.breakdowns:
        (breakdown,) = spec.breakdowns
        if breakdown.property is None:
            raise ValueError("Expected a breakdown by a property")
        params["on"] = f"properties[{orjson.dumps(breakdown.property).decode()}]"
    return params


def mixpanel_funnel_answer(answer: dict[str, Any], segmented: bool) -> list[Any]:
    """Mixpanel's funnel shape (one date bucket) as the suite's canonical rows: ``[step,
    users]`` per step, or ``[segment, users at each step]`` per segment, sorted."""
    (bucket,) = answer["data"].values()
    if not segmented:
        return [[k, s["count"]] for k, s in enumerate(bucket["steps"], start=1)]
    return sorted([segment, *(s["count"] for s in v["steps"])] for segment, v in bucket.items())


class ThroughIngest:
    """The through-ingest mode of a suite whose queries are report specs."""

    def __init__(self, queries: dict[str, tuple[Any, Answer]]) -> None:
        self.queries = queries  # key -> (spec, answer of the result as JSON)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_options(parser)

    def calls(
        self, server: Served, project: dict[str, Any], key: str
    ) -> list[tuple[str, Callable[[], list[Any]]]]:
        """(API, call) for each way the query is asked: native, and Mixpanel's for funnels."""
        spec, answer = self.queries[key]
        path = f"/api/v1/projects/{project['id']}/{kind_of(spec)}"
        body = msgspec.json.encode(spec)

        def native() -> list[Any]:
            return answer(server.request("POST", path, project["secret"], body))

        out = [("native", native)]
        if isinstance(spec, FunnelSpec):
            params = mixpanel_funnel_params(spec)
            segmented = bool(spec.breakdowns)

            def mixpanel() -> list[Any]:
                got = server.request("GET", "/api/2.0/funnels", project["secret"], params=params)
                return mixpanel_funnel_answer(got, segmented)

            out.append(("mixpanel", mixpanel))
        return out

    def run(
        self,
        suite: Suite,
        args: argparse.Namespace,
        root: Path,
        results: dict[str, dict[str, dict[str, Any]]],
    ) -> tuple[list[str], dict[str, Any], bool] | None:
        if not args.through_ingest:
            return None
        queries = [q for q in args.queries.split(",") if q]
        kinds = [k for k in ("warm", "cold") if k in args.modes.split(",")]
        paths = Paths(root)
        work = args.through_root / f"{suite.name}-{args.size}-seed{args.seed}"
        print(f"  through ingest: loading {work} ...", flush=True)
        sources = [
            Source("tiny", stored_rows(paths.tiny), timed=False),
            Source("bench", stored_rows(paths.trackway)),
        ]
        loaded = load(args, work, sources)
        server, bench, tiny = loaded.server, loaded.projects["bench"], loaded.projects["tiny"]
        measured: dict[str, dict[str, Any]] = {q: {} for q in queries}
        report: dict[str, Any] = {"load": loaded.report, "work": str(work)}
        try:
            server.unpin()
            report["http_overhead"] = overhead_ms(server, bench["secret"])
            if "warm" in kinds:
                for q in queries:
                    for api, call in self.calls(server, bench, q):
                        answer, times, cpu = timed_calls(server, call, args.runs)
                        measured[q][f"warm {api}"] = _cell(times, cpu, answer)
                report["memory_after_warm"] = server.memory()
            if "cold" in kinds:
                report["cold_start"] = self._cold(server, bench, tiny, queries, args.runs, measured)
                report["memory_after_cold"] = server.memory()
        finally:
            server.stop()
        lines, table, ok = _compare(suite, self.queries, measured, results, report)
        report["queries"] = table
        return lines, {"through_ingest": report}, ok

    def _cold(
        self,
        server: Served,
        bench: dict[str, Any],
        tiny: dict[str, Any],
        queries: list[str],
        runs: int,
        measured: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """Per query one untimed cold run, then ``runs`` timed, each on a restarted server."""
        listening, warm_up = [], []
        for q in queries:
            times, answers = [], []
            for run in range(runs + 1):
                started = server.restart()
                server.wait_quiet()
                (_, first), *_ = self.calls(server, bench, q)
                before = time.perf_counter()
                for other in queries:
                    self.calls(server, tiny, other)[0][1]()
                ready = time.perf_counter()
                answers.append(first())
                if run:
                    listening.append(started)
                    warm_up.append(ready - before)
                    times.append(time.perf_counter() - ready)
            if any(a != answers[0] for a in answers):
                raise AssertionError(f"{q}: cold answers differ between runs")
            measured[q]["cold native"] = _cell(times, None, answers[0])
        return {
            "listening_s": listening,
            "warm_up_s": warm_up,
            "listening_median_s": statistics.median(listening),
            "warm_up_median_s": statistics.median(warm_up),
        }


def _cell(times: list[float], cpu: float | None, answer: list[Any]) -> dict[str, Any]:
    return {
        "times_ms": [t * 1000 for t in times],
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "server_cpu_ms": None if cpu is None else cpu * 1000,
        "answer": answer,
    }


def _median_ms(
    results: dict[str, dict[str, dict[str, Any]]], engine: str, mode: str, q: str
) -> float | None:
    entry = results.get(engine, {}).get(mode, {}).get(q, {})
    return statistics.median(entry["times_s"]) * 1000 if "times_s" in entry else None


def _reference(results: dict[str, dict[str, dict[str, Any]]], q: str) -> tuple[str, Any] | None:
    """The direct layout's answer (trackway warm, else cold), else the first peer's."""
    order = [("trackway", "warm"), ("trackway", "cold")]
    order += [(e, m) for e, modes in results.items() for m in modes if e != "trackway"]
    for engine, mode in order:
        entry = results.get(engine, {}).get(mode, {}).get(q, {})
        if "answer" in entry:
            return f"{engine} {mode}", entry["answer"]
    return None


def _compare(
    suite: Suite,
    specs: dict[str, tuple[Any, Answer]],
    measured: dict[str, dict[str, Any]],
    results: dict[str, dict[str, dict[str, Any]]],
    report: dict[str, Any],
) -> tuple[list[str], dict[str, Any], bool]:
    """The table of through-ingest times against the direct layout and the peers, the
    targets, and whether every answer equalled the reference."""
    load_text, targets = load_lines(report["load"])
    http = report["http_overhead"]["median_ms"]
    lines = [
        *load_text,
        "\nthrough ingest, per query, ms (median and min of the runs; srv cpu: the HTTP"
        " process's mean CPU per run from /proc, 10 ms ticks; +http: the direct layout's median plus"
        f" the HTTP overhead, {http:.2f} ms for GET /api/v1/me; chdb and duckdb: warm-memory):",
    ]
    header = (
        f"  {'':<14}{'median':>9}{'min':>8}{'srv cpu':>8}{'direct':>9}{'+http':>9}"
        f"{'through/+http':>24}{'chdb':>9}{'duckdb':>9}{'through/chdb':>24}"
    )
    ok = True
    for q, cells in measured.items():
        lines += [f"\n{q}  {suite.titles[q]}", header]
        reference = _reference(results, q)
        for name, cell in cells.items():
            row, met = _row(q, name, cell, results, http, kind_of(specs[q][0]))
            lines.append(row)
            targets += met
            cell["problems"] = (
                suite.same_answer(q, reference[1], cell["answer"], True)
                if reference is not None
                else ["no direct answer to compare with"]
            )
            if cell["problems"]:
                ok = False
                lines.append(f"    {name}: ANSWER DIFFERS from {reference}: {cell['problems']}")
        if reference is not None and all(not c["problems"] for c in cells.values()):
            lines.append(f"  answers equal {reference[0]}'s ({', '.join(cells)})")
    cold = report.get("cold_start")
    if cold:
        lines.append(
            f"\ncold: restart to listening (interpreter, imports, app) median"
            f" {cold['listening_median_s']:.2f} s; the queries once on project 'tiny' (cached"
            f" kernels, first imports) median {cold['warm_up_median_s']:.2f} s; neither is in"
            " the cold times"
        )
    lines.append("memory, MB (VmRSS now / VmHWM peak):")
    lines.append(memory_line("after the load", report["load"]["memory_after_load"]))
    for key, label in MEMORY_LABELS.items():
        if key in report:
            lines.append(memory_line(label, report[key]))
    missed = [t for t in targets if not t["met"]]
    lines.append(f"\ntargets through ingest: {len(targets) - len(missed)} of {len(targets)} MET")
    lines += [f"  MISSED {t['target']}: {t['value']:,.2f}" for t in missed]
    report["targets"] = targets
    return lines, measured, ok


MEMORY_LABELS = {
    "memory_after_warm": "after the warm queries",
    "memory_after_cold": "a restarted server after its cold query",
}


def _row(
    q: str,
    name: str,
    cell: dict[str, Any],
    results: dict[str, dict[str, dict[str, Any]]],
    http: float,
    kind: str,
) -> tuple[str, list[dict[str, Any]]]:
    """One line of the table and the targets it judges."""
    mode = name.split(maxsplit=1)[0]
    targets = []
    row = f"  {name:<14}{cell['median_ms']:>9.1f}{cell['min_ms']:>8.1f}"
    cpu = cell["server_cpu_ms"]
    row += f"{cpu:>8.0f}" if cpu is not None else f"{'-':>8}"
    direct = _median_ms(results, "trackway", mode, q)
    if direct is not None:
        ratio = cell["vs_direct"] = cell["median_ms"] / (direct + http)
        met = verdict(ratio, DIRECT_TARGET)
        row += f"{direct:>9.1f}{direct + http:>9.1f}{ratio:>9.2f}x <= {DIRECT_TARGET:<4} {met:<6}"
        targets.append(
            _target(f"{q} {name}: through / (direct + http) <= {DIRECT_TARGET}", ratio, met)
        )
    else:
        row += f"{'-':>9}{'-':>9}{'-':>24}"
    chdb = _median_ms(results, "chdb", "warm-memory", q) if mode == "warm" else None
    duck = _median_ms(results, "duckdb", "warm-memory", q) if mode == "warm" else None
    row += f"{chdb:>9.1f}" if chdb is not None else f"{'-':>9}"
    row += f"{duck:>9.1f}" if duck is not None else f"{'-':>9}"
    limit = CHDB_TARGETS.get(kind)
    if chdb is not None:
        vs = cell["vs_chdb"] = cell["median_ms"] / chdb
        if limit is None:
            row += f"{vs:>9.2f}x (no target)"
        else:
            met = verdict(vs, limit)
            row += f"{vs:>9.2f}x <= {limit:<4} {met:<6}"
            targets.append(_target(f"{q} {name}: through / chDB in memory <= {limit}", vs, met))
    return row, targets


def _target(text: str, value: float, met: str) -> dict[str, Any]:
    return {"target": text, "value": value, "met": met == "MET"}
