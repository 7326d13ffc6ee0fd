"""What the query benchmarks (``bench.insights``, ``bench.behaviour``) share: the peers' SQL
runners, the worker processes, the answer checks and the result table (the data they read
is ``bench.prepared``'s).

A benchmark is a ``Suite``: its query keys and titles, how an engine in a mode answers a
query (a ``Runner`` from ``Suite.open``), how answers compare, and which engine cannot run
which query. ``main`` does the rest: prepares the data, runs every engine and mode in its
own worker process (``python -m bench.<suite> --worker <job>``), checks the answers, prints
the table and writes the report.

- **warm**: one worker per engine and mode opens the data once, runs each query once
  untimed, then ``--runs`` times timed; the median is reported.
- **cold**: one fresh worker per run, with the files already in the OS cache (one untimed
  cold run goes first). The timer covers opening the data and the query, not imports or the
  engine's own start-up (see ``start_engine``), which is reported apart.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol, cast

import pyarrow as pa

from bench.prepared import CHDB_COLUMNS, DATA_ROOT, SIZES, Paths, chdb_session, prepare

REPO = Path(__file__).resolve().parent.parent
ENGINES = ("duckdb", "chdb", "trackway")
PEERS = ("duckdb", "chdb")
REL_TOL = 1e-9
# The column every mode of the result table shows; trackway has one mode in two of them.
COLUMNS = ("warm-memory", "warm-parquet", "cold-native", "cold-parquet")
MODES = {
    "duckdb": COLUMNS,
    "chdb": COLUMNS,
    "trackway": ("warm", "cold"),
}
COLUMN_OF = {"warm": "warm-memory", "cold": "cold-parquet"}
WORKER_TIMEOUT_S = 3600

Runner = Callable[[str], list[Any]]  # query key -> the canonical answer
Sql = Callable[[str], list[tuple[Any, ...]]]  # SQL with {src} -> rows


def _no_skip(engine: str, query: str) -> str | None:
    return None


def _no_notes(summary: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    return [], {}


class Extension(Protocol):
    """A mode added to a suite's command line (``bench.through_ingest``): its options, and
    a run after the engines' that reads their results and returns the lines to print, what
    to add to the report, and whether its answers matched."""

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(
        self,
        suite: Suite,
        args: argparse.Namespace,
        root: Path,
        results: dict[str, dict[str, dict[str, Any]]],
    ) -> tuple[list[str], dict[str, Any], bool] | None: ...


@dataclass(frozen=True, slots=True)
class Suite:
    name: str  # the module bench.<name> runs the workers; results go to <name>.json
    titles: dict[str, str]  # query key -> title, in the order the queries run
    open: Callable[[str, str, Paths], Runner]  # (engine, mode, paths) -> runner
    warm_up_trackway: Callable[[Path], None]  # answer the queries on a tiny table
    same_answer: Callable[[str, list[Any], list[Any], bool], list[str]]
    # (engine, query) -> why that engine does not run that query, or None
    skip: Callable[[str, str], str | None] = field(default=_no_skip)
    # summary -> lines printed below the table and entries added to the report
    notes: Callable[[dict[str, Any]], tuple[list[str], dict[str, Any]]] = field(default=_no_notes)
    report: dict[str, Any] = field(default_factory=dict)  # added to the report as is
    extension: Extension | None = None


# --- The peers (run inside a worker) ------------------------------------------------------


def open_sql(engine: str, mode: str, paths: Paths) -> Sql:
    """Open the data for one peer and mode; the returned function runs SQL in which
    ``{src}`` stands for the table or the Parquet reader."""
    return _open_duckdb(mode, paths) if engine == "duckdb" else _open_chdb(mode, paths)


def _open_duckdb(mode: str, paths: Paths) -> Sql:
    import duckdb  # noqa: PLC0415 - only this engine's process needs it

    if mode.endswith("native"):
        con = duckdb.connect(str(paths.duckdb), read_only=True)
        src = "events"
    else:
        con = duckdb.connect()
        src = f"read_parquet('{paths.parquet}')"
    # Its progress bar (queries over 2 s) would print to the worker's stdout, the report.
    con.execute("SET enable_progress_bar = false")
    if mode.endswith("memory"):
        con.execute(f"CREATE TABLE events AS SELECT * FROM {src}")
        src = "events"

    def run(sql: str) -> list[tuple[Any, ...]]:
        return con.execute(sql.format(src=src)).fetchall()

    return run


def _open_chdb(mode: str, paths: Paths) -> Sql:
    sess = chdb_session(f"file:{paths.chdb}?mode=ro" if mode.endswith("native") else None)
    src = f"file('{paths.parquet}', 'Parquet')"
    if mode.endswith("memory"):
        sess.query(f"CREATE TABLE events ({CHDB_COLUMNS}) ENGINE = Memory")
        sess.query(f"INSERT INTO events SELECT * FROM {src}")
    if not mode.endswith("parquet"):
        src = "events"

    def run(sql: str) -> list[tuple[Any, ...]]:
        # "ArrowTable" would import pandas (~0.2 s) on first use; read the IPC bytes instead.
        result = sess.query(sql.format(src=src), "Arrow")
        table = pa.ipc.open_file(pa.py_buffer(result.bytes())).read_all()
        return [tuple(r.values()) for r in table.to_pylist()]

    return run


def start_engine(suite: Suite, engine: str, paths: Paths) -> float:
    """Start the engine without touching the measured data and return how long it took, so
    cold timings are about the data. The peers answer ``SELECT 1``; trackway answers the
    suite's queries on a tiny table of its own, which loads its compiled kernels from numba's
    cache and makes the imports its first query makes (deltalake, and pandas through
    ``pa.table``) - work a server does once per process."""
    started = time.perf_counter()
    if engine == "duckdb":
        import duckdb  # noqa: PLC0415 - only this engine's process needs it

        duckdb.connect().execute("SELECT 1").fetchall()
    elif engine == "chdb":
        import chdb  # noqa: PLC0415 - only this engine's process needs it

        cast(Any, chdb).query("SELECT 1", "CSV")
    else:
        suite.warm_up_trackway(paths.tiny)
    return time.perf_counter() - started


def timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """The call's result, wall seconds and CPU seconds (all the process's threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def worker(suite: Suite, job: dict[str, Any]) -> dict[str, Any]:
    """Run one engine and mode: warm (open once, time each query ``runs`` times after one
    untimed run) or cold (time open + one query)."""
    engine, mode, paths = job["engine"], job["mode"], Paths(Path(job["root"]))
    queries: list[str] = job["queries"]
    out: dict[str, Any] = {"boot_s": start_engine(suite, engine, paths)}
    if mode.startswith("cold"):
        (query,) = queries
        answer, wall, cpu = timed(lambda: suite.open(engine, mode, paths)(query))
        out[query] = {"times_s": [wall], "cpu_s": [cpu], "answer": answer}
        return out
    run, out["open_s"], _ = timed(lambda: suite.open(engine, mode, paths))
    for query in queries:
        answer, first, _ = timed(lambda: run(query))  # noqa: B023 - called at once
        times, cpus = [], []
        for _ in range(job["runs"]):
            again, wall, cpu = timed(lambda: run(query))  # noqa: B023 - called at once
            times.append(wall)
            cpus.append(cpu)
            problems = suite.same_answer(query, answer, again, False)
            if problems:
                raise AssertionError(f"{engine} {mode} {query}: answer changed: {problems}")
        out[query] = {"first_s": first, "times_s": times, "cpu_s": cpus, "answer": answer}
    return out


# --- Orchestration ------------------------------------------------------------------------


def _spawn(suite: Suite, job: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{suite.name}", "--worker", json.dumps(job)],
        check=False,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT_S,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        return {"error": f"exit {proc.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def measure(
    suite: Suite, engine: str, mode: str, root: Path, queries: list[str], runs: int
) -> dict[str, Any]:
    """Per query: times, answers (one per run) and engine start-ups, an error, or why the
    engine does not run it."""
    out: dict[str, Any] = {}
    for q in queries:
        reason = suite.skip(engine, q)
        if reason is not None:
            out[q] = {"skipped": reason}
    queries = [q for q in queries if q not in out]
    if not queries:
        return out
    job = {"engine": engine, "mode": mode, "root": str(root), "queries": queries, "runs": runs}
    if not mode.startswith("cold"):
        result = _spawn(suite, job)
        for q in queries:
            if "error" in result:
                out[q] = {"error": result["error"]}
            else:
                out[q] = {
                    **result[q],
                    "answers": [result[q]["answer"]],
                    "boot_s": [result["boot_s"]],
                }
        return out
    for q in queries:
        _spawn(suite, {**job, "queries": [q]})  # untimed: brings the files into the OS cache
        times, cpus, answers, boots = [], [], [], []
        for _ in range(runs):
            result = _spawn(suite, {**job, "queries": [q]})
            if "error" in result:
                out[q] = {"error": result["error"]}
                break
            times += result[q]["times_s"]
            cpus += result[q]["cpu_s"]
            answers.append(result[q]["answer"])
            boots.append(result["boot_s"])
        else:
            out[q] = {
                "times_s": times,
                "cpu_s": cpus,
                "answer": answers[0],
                "answers": answers,
                "boot_s": boots,
            }
    return out


def same_rows(a: list[Any], b: list[Any]) -> list[str]:
    """Differences between two lists of rows (empty when equal): counts and strings exactly,
    floats within ``REL_TOL``."""
    problems = []
    if len(a) != len(b):
        problems.append(f"{len(a)} rows vs {len(b)} rows")
    for left, right in zip(a, b, strict=False):
        if not _rows_equal(left, right):
            problems.append(f"{left} vs {right}")
        if len(problems) >= 5:
            break
    return problems


def _rows_equal(left: list[Any], right: list[Any]) -> bool:
    if len(left) != len(right):
        return False
    for x, y in zip(left, right, strict=True):
        if isinstance(x, float) or isinstance(y, float):
            if not math.isclose(float(x), float(y), rel_tol=REL_TOL, abs_tol=0.0):
                return False
        elif x != y:
            return False
    return True


def check(
    suite: Suite, results: dict[str, dict[str, dict[str, Any]]], queries: list[str]
) -> dict[str, Any]:
    """Compare every engine's and mode's answers with the first peer's."""
    report: dict[str, Any] = {}
    for q in queries:
        reference = None
        entries = []
        for engine, modes in results.items():
            for mode, per_query in modes.items():
                entry = per_query.get(q, {})
                if "answers" not in entry:
                    continue
                if reference is None:
                    reference = (f"{engine} {mode}", entry["answer"])
                for answer in entry["answers"]:
                    problems = suite.same_answer(q, reference[1], answer, engine == "trackway")
                    if problems:
                        entries.append({"engine": engine, "mode": mode, "problems": problems})
                        break
                else:
                    entries.append({"engine": engine, "mode": mode, "problems": []})
        report[q] = {
            "reference": reference[0] if reference else None,
            "rows": len(reference[1]) if reference else 0,
            "engines": entries,
            "match": all(not e["problems"] for e in entries),
        }
    return report


def summarise(results: dict[str, dict[str, dict[str, Any]]], queries: list[str]) -> dict[str, Any]:
    """Median per engine, mode and query, and its ratio to the fastest peer in its column."""
    table: dict[str, Any] = {}
    for q in queries:
        cells: dict[str, dict[str, Any]] = {}
        for engine, modes in results.items():
            for mode, per_query in modes.items():
                entry = per_query.get(q, {})
                column = COLUMN_OF.get(mode, mode) if engine == "trackway" else mode
                cell: dict[str, Any] = {"column": column}
                if "times_s" in entry:
                    cell["median_ms"] = statistics.median(entry["times_s"]) * 1000
                    cell["times_ms"] = [t * 1000 for t in entry["times_s"]]
                    cell["cpu_ms"] = statistics.median(entry["cpu_s"]) * 1000
                    cell["boot_ms"] = statistics.median(entry["boot_s"]) * 1000
                    if "first_s" in entry:
                        cell["first_ms"] = entry["first_s"] * 1000
                elif "skipped" in entry:
                    cell["skipped"] = entry["skipped"]
                else:
                    cell["error"] = entry.get("error", "not run")
                cells[f"{engine} {mode}"] = cell
        for column in COLUMNS:
            peers = [
                c["median_ms"]
                for name, c in cells.items()
                if c["column"] == column and not name.startswith("trackway") and "median_ms" in c
            ]
            for c in cells.values():
                if c["column"] == column and "median_ms" in c and peers:
                    c["ratio"] = c["median_ms"] / min(peers)
        table[q] = cells
    return table


def render(suite: Suite, summary: dict[str, Any], checks: dict[str, Any], runs: int) -> str:
    lines = []
    for q, cells in summary.items():
        lines.append(f"\n{q}  {suite.titles[q]}   (medians of {runs} runs)")
        lines.append(f"{'':<10}" + "".join(f"{c:>27}" for c in COLUMNS))
        lines.append(f"{'engine':<10}" + f"{'wall ms':>11}{'ratio':>8}{'cpu ms':>8}" * 4)
        for engine in ENGINES:
            row = {c["column"]: c for n, c in cells.items() if n.split()[0] == engine}
            if not row:
                continue
            text = []
            for column in COLUMNS:
                cell = row.get(column)
                if cell is None:
                    text.append(f"{'-':>27}")
                elif "median_ms" in cell:
                    ratio = f"{cell['ratio']:.2f}x" if "ratio" in cell else "-"
                    text.append(f"{cell['median_ms']:>11.1f}{ratio:>8}{cell['cpu_ms']:>8.0f}")
                elif "skipped" in cell:
                    text.append(f"{'not supported':>27}")
                else:
                    text.append(f"{'error':>27}")
            lines.append(f"{engine:<10}" + "".join(text))
        verdict = checks[q]
        status = "answers match" if verdict["match"] else "ANSWERS DIFFER"
        lines.append(f"  {status} ({verdict['rows']} rows, reference {verdict['reference']})")
        for e in verdict["engines"]:
            for problem in e["problems"]:
                lines.append(f"    {e['engine']} {e['mode']}: {problem}")
        skipped = {c["skipped"]: n.split()[0] for n, c in cells.items() if "skipped" in c}
        for reason, engine in skipped.items():
            lines.append(f"    {engine}: not supported: {reason}")
        for name, c in cells.items():
            if "error" in c and c["error"] != "not run":
                lines.append(f"    {name}: {c['error'].splitlines()[-1][:200]}")
    boots: dict[str, list[float]] = {}
    for cells in summary.values():
        for name, cell in cells.items():
            if name.split()[1].startswith("cold") and "boot_ms" in cell:
                boots.setdefault(name.split()[0], []).append(cell["boot_ms"])
    lines.append(
        "\nratio: wall time over the fastest peer's in the same column; cpu: the process's"
        " CPU time (all threads). trackway warm is under warm-memory, trackway cold under"
        " cold-parquet."
    )
    if boots:
        lines.append(
            "cold = a fresh process per run, files in the OS cache; the engine's start-up is"
            " not timed (median over cold runs): "
            + ", ".join(f"{e} {statistics.median(b):.0f} ms" for e, b in boots.items())
        )
    return "\n".join(lines)


def main(suite: Suite, description: str, argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(ENGINES), help="engines, comma-separated")
    parser.add_argument("--queries", default=",".join(suite.titles))
    parser.add_argument("--modes", default="warm,cold", help="warm, cold or both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--data-root",
        type=Path,
        default=DATA_ROOT,
        help="prepared data is kept here per size and seed and reused",
    )
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / f"bench/results/{suite.name}.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    if suite.extension is not None:
        suite.extension.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(suite, json.loads(args.worker))))
        return 0
    engines = [e for e in args.only.split(",") if e]
    queries = [q for q in args.queries.split(",") if q]
    kinds = set(args.modes.split(","))
    unknown = set(engines) - set(ENGINES) | set(queries) - set(suite.titles)
    if unknown or args.runs < 1:
        parser.error(f"unknown engines or queries {sorted(unknown)}, or --runs < 1")
    root = args.data_root / f"{args.size}-seed{args.seed}"
    started = time.perf_counter()
    data = prepare(args.size, args.seed, root, args.regenerate)
    print(
        f"data: {data['events']:,} events, {data['users']:,} users in {root}"
        f" (ready in {time.perf_counter() - started:.1f} s); sizes on disk: "
        + ", ".join(f"{k} {v / 1e6:.0f} MB" for k, v in data["bytes"].items()),
        flush=True,
    )
    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        print(
            f"warning: load average {load_before[0]:.1f} before the run on {os.cpu_count()} CPUs;"
            " other processes will add noise to the timings",
            flush=True,
        )
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for engine in engines:
        for mode in MODES[engine]:
            if mode.split("-")[0] not in kinds:
                continue
            started = time.perf_counter()
            results.setdefault(engine, {})[mode] = measure(
                suite, engine, mode, root, queries, args.runs
            )
            print(f"  {engine} {mode}: {time.perf_counter() - started:.1f} s", flush=True)
    summary = summarise(results, queries)
    checks = check(suite, results, queries)
    print(render(suite, summary, checks, args.runs))
    notes, extra = suite.notes(summary)
    for line in notes:
        print(line)
    ran = suite.extension.run(suite, args, root, results) if suite.extension else None
    if ran is not None:
        print("\n".join(ran[0]))
        extra |= ran[1]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "size": args.size,
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "data": data,
        "versions": _versions(),
        "commit": _commit(),
        **suite.report,
        "timings": summary,
        "checks": checks,
        **extra,
        "answers": {
            q: {
                f"{e} {m}": per_query[q].get("answer")
                for e, modes in results.items()
                for m, per_query in modes.items()
            }
            for q in queries
        },
    }
    args.out.write_text(json.dumps(report, indent=1))
    print(f"\nwrote {args.out}")
    matched = all(c["match"] for c in checks.values()) and (ran is None or ran[2])
    return 0 if matched else 1


def _commit() -> dict[str, Any]:
    """The commit measured, and the files changed since (others edit while benches run)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    return {
        "head": git("rev-parse", "HEAD"),
        "changed": git("status", "--porcelain", "src").splitlines(),
    }


def _versions() -> dict[str, str]:
    packages = ("duckdb", "chdb", "pyarrow", "numpy", "numba", "deltalake")
    return {"python": sys.version.split()[0], **{p: metadata.version(p) for p in packages}}
