"""Insights queries on trackway against DuckDB and chDB, on the same generated events.

Four queries (see ``QUERIES``) run on every engine and their answers are checked equal:
exact counts, sums and averages within ``REL_TOL``. Each engine runs in its own worker
process (``--worker``), so engines never share a process, an allocator or a thread pool:

- **warm**: one worker per engine and mode opens the data once, runs each query once
  untimed, then ``--runs`` times timed; the median is reported.
- **cold**: one fresh worker per run, with the files already in the OS cache (one untimed
  cold run goes first). The timer covers opening the data and the query, not imports or the
  engine's own start-up (see ``_start_engine``), which is reported apart.

Modes per peer: *memory* (a table built once in the process from the Parquet file: DuckDB
``CREATE TABLE``, chDB ``ENGINE = Memory``), *parquet* (``read_parquet`` / ``file(..., Parquet)`` on the same rows,
zstd, 128k-row groups), and, cold only, *native* (the engine's own database on disk:
a DuckDB file, a chDB MergeTree). trackway warm is a second call on the same
``EventReader`` (decoded columns cached) and is compared with the peers' warm memory; trackway
cold is a fresh process reading its Delta table and is compared with the peers' cold Parquet.

    .venv/bin/python -m bench.insights --size S
    .venv/bin/python -m bench.insights --size M --runs 3 --only duckdb,trackway
    .venv/bin/python -m bench.insights --size S --through-ingest  # also over HTTP /import
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec

from bench.harness import Runner, Suite, main, open_sql, same_rows
from bench.prepared import DAY_MS, DAYS, END_MS, FIRST_DAY, START_MS, Paths
from bench.through_ingest import ThroughIngest
from trackway.projects import ProjectCatalog
from trackway.query.breakdowns import Breakdown
from trackway.query.insights.spec import InsightsSpec, Metric


@dataclass(frozen=True, slots=True)
class Query:
    key: str
    title: str
    duckdb: str  # SQL with {src} for the table or the Parquet reader
    chdb: str
    spec: InsightsSpec
    answer: Callable[[dict[str, Any]], list[Any]]  # trackway result -> canonical rows


_RANGE = f"time >= {START_MS} AND time < {END_MS}"


def _spec(**fields: Any) -> InsightsSpec:
    last = FIRST_DAY + timedelta(days=DAYS - 1)
    return InsightsSpec(from_date=FIRST_DAY, to_date=last, unit="day", **fields)


def _series(result: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    return [s for s in result["series"] if s["metric"] == metric]


def _q1_answer(result: dict[str, Any]) -> list[Any]:
    (series,) = _series(result, "A")
    return [[b, _int(v)] for b, v in zip(result["buckets"], series["values"], strict=True) if v]


def _q2_answer(result: dict[str, Any]) -> list[Any]:
    rows = []
    for series in _series(result, "A"):
        for bucket, value in zip(result["buckets"], series["values"], strict=True):
            if value:
                rows.append([bucket, series["segment"][0], _int(value)])
    return sorted(rows)


def _q3_answer(result: dict[str, Any]) -> list[Any]:
    rows = [
        [s["segment"][0], _int(s["total"])]
        for s in _series(result, "A")
        if s["segment"] != ["$other"]
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def _q4_answer(result: dict[str, Any]) -> list[Any]:
    (total,), (mean,) = _series(result, "A"), _series(result, "B")
    return [
        [b, s, a]
        for b, s, a in zip(result["buckets"], total["values"], mean["values"], strict=True)
        if a is not None and not (isinstance(a, float) and math.isnan(a))
    ]


def _int(value: Any) -> int:
    if float(value) != int(value):
        raise ValueError(f"Expected a whole count, got {value!r}")
    return int(value)


QUERIES = (
    Query(
        "Q1",
        "'Page View' events per day",
        f"SELECT time // {DAY_MS} AS day, count(*) FROM {{src}}"
        f" WHERE event = 'Page View' AND {_RANGE} GROUP BY day ORDER BY day",
        f"SELECT intDiv(time, {DAY_MS}) AS day, count() FROM {{src}}"
        f" WHERE event = 'Page View' AND {_RANGE} GROUP BY day ORDER BY day",
        _spec(metrics=[Metric(event="Page View", measure="total")]),
        _q1_answer,
    ),
    Query(
        "Q2",
        "unique users per day of 'Page View' by browser",
        f"SELECT time // {DAY_MS} AS day, browser, count(DISTINCT user_id) FROM {{src}}"
        f" WHERE event = 'Page View' AND {_RANGE} GROUP BY day, browser ORDER BY day, browser",
        f"SELECT intDiv(time, {DAY_MS}) AS day, browser, uniqExact(user_id) FROM {{src}}"
        f" WHERE event = 'Page View' AND {_RANGE} GROUP BY day, browser ORDER BY day, browser",
        _spec(
            metrics=[Metric(event="Page View", measure="unique")],
            breakdowns=[Breakdown(property="browser")],
            limit=10,
        ),
        _q2_answer,
    ),
    Query(
        "Q3",
        "top 100 product_id by unique users, all events",
        f"SELECT product_id, count(DISTINCT user_id) AS users FROM {{src}}"
        f" WHERE product_id IS NOT NULL AND {_RANGE}"
        " GROUP BY product_id ORDER BY users DESC, product_id LIMIT 100",
        f"SELECT product_id, uniqExact(user_id) AS users FROM {{src}}"
        f" WHERE product_id IS NOT NULL AND {_RANGE}"
        " GROUP BY product_id ORDER BY users DESC, product_id LIMIT 100",
        _spec(
            metrics=[Metric(measure="unique")],
            breakdowns=[Breakdown(property="product_id")],
            limit=100,
        ),
        _q3_answer,
    ),
    Query(
        "Q4",
        "sum and average of price per day, Purchase",
        f"SELECT time // {DAY_MS} AS day, sum(price), avg(price) FROM {{src}}"
        f" WHERE event = 'Purchase' AND price IS NOT NULL AND {_RANGE} GROUP BY day ORDER BY day",
        f"SELECT intDiv(time, {DAY_MS}) AS day, sum(price), avg(price) FROM {{src}}"
        f" WHERE event = 'Purchase' AND price IS NOT NULL AND {_RANGE} GROUP BY day ORDER BY day",
        _spec(
            metrics=[
                Metric(event="Purchase", measure="sum", property="price"),
                Metric(event="Purchase", measure="avg", property="price"),
            ]
        ),
        _q4_answer,
    ),
)
QUERY_BY_KEY = {q.key: q for q in QUERIES}


# --- Engines (run inside a worker) --------------------------------------------------------


def open_engine(engine: str, mode: str, paths: Paths) -> Runner:
    """Open the data for one engine and mode; the returned runner answers one query."""
    if engine == "trackway":
        return _trackway_runner(paths.trackway)
    sql = open_sql(engine, mode, paths)

    def run(key: str) -> list[Any]:
        query = QUERY_BY_KEY[key]
        return _rows(query, sql(query.duckdb if engine == "duckdb" else query.chdb))

    return run


def _trackway_runner(data_dir: Path) -> Runner:
    # Only trackway's worker imports its query path (numba kernels).
    from trackway.query.reports import run_report  # noqa: PLC0415
    from trackway.storage.scan import EventReader  # noqa: PLC0415

    reader = EventReader(data_dir, cache_bytes=4 << 30)
    (project,) = ProjectCatalog(data_dir).all()

    def run(key: str) -> list[Any]:
        query = QUERY_BY_KEY[key]
        return query.answer(msgspec.to_builtins(run_report(reader, project, query.spec)))

    return run


def _warm_up_trackway(data_dir: Path) -> None:
    run = _trackway_runner(data_dir)
    for query in QUERIES:
        run(query.key)


def _rows(query: Query, rows: list[tuple[Any, ...]]) -> list[Any]:
    """SQL rows to the canonical answer: ISO days, plain ints and floats."""
    if query.key == "Q3":
        return [[str(v), int(n)] for v, n in rows]
    out = []
    for day, *rest in rows:
        label = (FIRST_DAY + timedelta(days=int(day) - START_MS // DAY_MS)).isoformat()
        out.append([label, *(v if isinstance(v, (str, float)) else int(v) for v in rest)])
    return sorted(out) if query.key == "Q2" else out


def same_answer(query: str, a: list[Any], b: list[Any], tie_tolerant: bool) -> list[str]:
    """Differences between two canonical answers (empty when equal)."""
    if query == "Q3" and tie_tolerant:
        return _top_differences(a, b)
    return same_rows(a, b)


def _top_differences(a: list[Any], b: list[Any]) -> list[str]:
    """Top lists are equal when their counts are, and every value above the last count is
    in both: which of the values tied at the cut are shown is the engine's choice."""
    problems = []
    counts_a, counts_b = [n for _, n in a], [n for _, n in b]
    if counts_a != counts_b:
        problems.append(f"counts differ: {counts_a[:10]}... vs {counts_b[:10]}...")
    cut = min(counts_a + counts_b, default=0)
    above_a = {tuple(r) for r in a if r[1] > cut}
    above_b = {tuple(r) for r in b if r[1] > cut}
    if above_a != above_b:
        problems.append(
            f"above the cut ({cut}): only left {sorted(above_a - above_b)[:5]},"
            f" only right {sorted(above_b - above_a)[:5]}"
        )
    return problems


SUITE = Suite(
    name="insights",
    titles={q.key: q.title for q in QUERIES},
    open=open_engine,
    warm_up_trackway=_warm_up_trackway,
    same_answer=same_answer,
    extension=ThroughIngest({q.key: (q.spec, q.answer) for q in QUERIES}),
)


if __name__ == "__main__":
    sys.exit(main(SUITE, __doc__.splitlines()[0]))
