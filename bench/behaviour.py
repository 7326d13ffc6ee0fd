"""Behavioural queries (funnels, retention, flows) on trackway against DuckDB and chDB.

The same generated events, engines, modes, worker processes and answer checks as
``bench.insights`` (the shared machinery is ``bench.harness``); the queries follow
docs/behaviour.md, and the peers' SQL is written to give exactly trackway's numbers:

- **Q5** 4-step loose funnel Page View -> Add to Cart -> Checkout -> Purchase, 7-day window
  from step 1, step 1 in the 30 days, uniques (users reaching each step).
- **Q6** Q5 by browser (on the step-1 event; datagen's browser is per user).
- **Q7** N-day retention: birth = first-ever ``Signed Up``, returns = any event strictly
  later, calendar UTC days 0-14, cohorts by day of birth.
- **Q8** what follows ``Add to Cart`` (every anchor in the range, next event within 7 days,
  ``$end`` if none).
- **L20**, **L50** 20- and 50-step loose funnels cycling through datagen's 30 event names,
  7-day window; chDB's ``windowFunnel`` takes at most 32 conditions, so chDB skips L50.
- **M30**, **M1** Q5 as Mixpanel's ``/funnels`` asks it: a funnel of its own per start day
  (30 buckets) and as one 30-day bucket; users per step and bucket. chDB skips both.

    .venv/bin/python -m bench.behaviour --size S
    .venv/bin/python -m bench.behaviour --size S --only duckdb,chdb --queries Q5,L20
    .venv/bin/python -m bench.behaviour --size S --through-ingest  # also over HTTP /import
"""

from __future__ import annotations

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
from trackway.datagen import EVENT_NAMES, FUNNEL
from trackway.projects import ProjectCatalog
from trackway.query.behaviour.spec import (
    FlowsSpec,
    FunnelSpec,
    Length,
    RetentionSpec,
    StartPeriods,
    Step,
)
from trackway.query.breakdowns import Breakdown

WINDOW = Length(7, "day")
WINDOW_MS = WINDOW.ms()
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
RETENTION_DAYS = 14  # periods 0 .. 14
BORN = "Signed Up"
ANCHOR = "Add to Cart"
END = "$end"
# The long funnels cycle through datagen's names in its order: the shopping funnel first
# (so they extend Q5), then the 26 others. A name comes back only 30 steps later, never
# as two steps in a row (windowFunnel would let one event be both).
LONG_STEPS = [EVENT_NAMES[i % len(EVENT_NAMES)] for i in range(50)]
CHDB_MAX_CONDITIONS = 32  # windowFunnel: "Too many event arguments"

Spec = FunnelSpec | RetentionSpec | FlowsSpec
Rows = list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Query:
    key: str
    title: str
    duckdb: str | None  # SQL with {src} for the table or the Parquet reader; None: skipped
    chdb: str | None
    spec: Spec
    answer: Callable[[dict[str, Any]], list[Any]]  # trackway result -> canonical rows
    duckdb_rows: Callable[[Rows], list[Any]]  # DuckDB rows -> canonical rows
    chdb_rows: Callable[[Rows], list[Any]]
    skip: dict[str, str]  # engine -> why it does not run this query


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _names(steps: list[str]) -> str:
    return ", ".join(_quote(n) for n in dict.fromkeys(steps))


_IN_RANGE = f"time >= {START_MS} AND time < {END_MS}"


# --- Funnels ------------------------------------------------------------------------------


def duckdb_funnel(steps: list[str], by_browser: bool = False, period_days: int = 0) -> str:
    """Loose uniques funnel in plain SQL: every step-1 event in the range starts an attempt;
    step k of an attempt is the first step-k event after its step k-1 (ASOF join on the
    user's event order) if it is within the window of the start. An attempt's first
    reachable step-k event leads on at least as well as any later one, so following the
    first each time finds the furthest step. The event order is time, then the lowest step
    the name matches (docs/behaviour.md), then the name; only step events take part. With
    ``period_days``, users per step and period of start days: a user counts in each period
    where one of their attempts starts, at the furthest step of those attempts."""
    rank: dict[str, int] = {}
    for k, name in enumerate(steps, start=1):
        rank.setdefault(name, k)
    order = "CASE event " + " ".join(f"WHEN {_quote(n)} THEN {k}" for n, k in rank.items()) + " END"
    by = ", browser" if by_browser else ""
    ctes = [
        f"ev AS MATERIALIZED (SELECT user_id, time, event{by}, row_number() OVER"
        f" (PARTITION BY user_id ORDER BY time, {order}, event) AS seq"
        f" FROM {{src}} WHERE event IN ({_names(steps)}))",
        f"s1 AS (SELECT user_id{by}, time AS t0, seq FROM ev"
        f" WHERE event = {_quote(steps[0])} AND {_IN_RANGE})",
    ]
    by_a = ", a.browser" if by_browser else ""
    for k in range(2, len(steps) + 1):
        ctes.append(
            f"s{k} AS (SELECT a.user_id{by_a}, a.t0, b.seq FROM s{k - 1} a"
            f" ASOF JOIN (SELECT user_id, seq, time FROM ev WHERE event = {_quote(steps[k - 1])}) b"
            f" ON a.user_id = b.user_id AND b.seq > a.seq WHERE b.time <= a.t0 + {WINDOW_MS})"
        )
    if period_days:
        by += f", (t0 - {START_MS}) // {period_days * DAY_MS} AS period"
    counts = " UNION ALL ".join(
        f"SELECT {k} AS step{by}, count(DISTINCT user_id) FROM s{k} GROUP BY ALL"
        for k in range(1, len(steps) + 1)
    )
    return "WITH " + ",\n".join(ctes) + "\n" + counts


def chdb_funnel(steps: list[str], by_browser: bool = False) -> str:
    """windowFunnel per user (its furthest level over all chains starting at a step-1 event
    in the range), then users per level. Ties sort by condition number, which is the
    documented order when every name is one step. Parquet columns are Nullable, and
    windowFunnel takes at most 8 Nullable arguments: hence ``assumeNotNull``."""
    conditions = [f"event = {_quote(steps[0])} AND {_IN_RANGE}"]
    conditions += [f"event = {_quote(n)}" for n in steps[1:]]
    by, any_by = ("browser, ", "any(browser) AS browser, ") if by_browser else ("", "")
    return (
        f"SELECT {by}level, count() FROM ("
        f"SELECT user_id, {any_by}windowFunnel({WINDOW_MS})(toUInt64(time), {', '.join(conditions)})"
        " AS level FROM (SELECT user_id, assumeNotNull(time) AS time,"
        " assumeNotNull(event) AS event, browser"
        f" FROM {{src}} WHERE event IN ({_names(steps)})) GROUP BY user_id)"
        f" WHERE level > 0 GROUP BY {by}level"
    )


def _funnel_spec(steps: list[str], by_browser: bool = False) -> FunnelSpec:
    return FunnelSpec(
        from_date=FIRST_DAY,
        to_date=LAST_DAY,
        steps=[Step(event=name) for name in steps],
        window=WINDOW,
        breakdowns=[Breakdown(property="browser")] if by_browser else [],
    )


def _funnel_answer(result: dict[str, Any]) -> list[Any]:
    return [[s["step"], int(s["count"])] for s in result["steps"]]


def _segments_answer(result: dict[str, Any]) -> list[Any]:
    rows = [
        [*row["segment"], *(int(c) for c in row["counts"])] for row in result["segments"]["rows"]
    ]
    return sorted(rows)


def _steps_rows(n: int) -> Callable[[Rows], list[Any]]:
    """(step, users) -> [step, users] for every step, 0 where no row."""

    def convert(rows: Rows) -> list[Any]:
        users = {int(k): int(c) for k, c in rows}
        return [[k, users.get(k, 0)] for k in range(1, n + 1)]

    return convert


def _levels_rows(n: int) -> Callable[[Rows], list[Any]]:
    """(furthest level, users) -> users reaching at least each step."""

    def convert(rows: Rows) -> list[Any]:
        at_level = {int(level): int(c) for level, c in rows}
        return [[k, sum(c for lv, c in at_level.items() if lv >= k)] for k in range(1, n + 1)]

    return convert


def _browser_steps_rows(n: int) -> Callable[[Rows], list[Any]]:
    def convert(rows: Rows) -> list[Any]:
        users: dict[str, list[int]] = {}
        for k, browser, c in rows:
            users.setdefault(str(browser), [0] * n)[int(k) - 1] = int(c)
        return sorted([b, *c] for b, c in users.items())

    return convert


def _browser_levels_rows(n: int) -> Callable[[Rows], list[Any]]:
    def convert(rows: Rows) -> list[Any]:
        users: dict[str, list[int]] = {}
        for browser, level, c in rows:
            counts = users.setdefault(str(browser), [0] * n)
            for k in range(int(level)):
                counts[k] += int(c)
        return sorted([b, *c] for b, c in users.items())

    return convert


def _periods_answer(result: dict[str, Any]) -> list[Any]:
    return [[p["period"], *(int(s["count"]) for s in p["steps"])] for p in result["periods"]]


def _period_steps_rows(n: int, days: int) -> Callable[[Rows], list[Any]]:
    """(step, period number, users) -> [first day, users per step] for every period."""

    def convert(rows: Rows) -> list[Any]:
        table = [[0] * n for _ in range(-(-DAYS // days))]
        for k, period, c in rows:
            table[int(period)][int(k) - 1] = int(c)
        return [
            [(FIRST_DAY + timedelta(days=p * days)).isoformat(), *counts]
            for p, counts in enumerate(table)
        ]

    return convert


# --- Retention ----------------------------------------------------------------------------

_DUCKDB_RETENTION = f"""
WITH births AS (
    SELECT user_id, min(time) AS born FROM {{src}} WHERE event = '{BORN}' GROUP BY user_id
), cohort AS (
    SELECT user_id, born, born // {DAY_MS} AS day FROM births
    WHERE born >= {START_MS} AND born < {END_MS}
)
SELECT day, -1 AS period, count(*) FROM cohort GROUP BY day
UNION ALL
SELECT c.day, e.time // {DAY_MS} - c.day AS period, count(DISTINCT e.user_id)
FROM cohort c JOIN {{src}} e USING (user_id)
WHERE e.time > c.born AND e.time < (c.day + {RETENTION_DAYS + 1}) * {DAY_MS}
GROUP BY ALL
"""

# One pass: per user the birth and every time; a user counts once per day with a return.
_CHDB_RETENTION = f"""
SELECT day, period, count() FROM (
    SELECT intDiv(born, {DAY_MS}) AS day,
        arrayJoin(arrayConcat([-1], arrayDistinct(arrayMap(t -> intDiv(t, {DAY_MS}) - day,
            arrayFilter(t -> t > born AND t < (day + {RETENTION_DAYS + 1}) * {DAY_MS}, times)))))
            AS period
    FROM (
        SELECT minIf(time, event = '{BORN}') AS born, groupArray(time) AS times FROM {{src}}
        GROUP BY user_id HAVING countIf(event = '{BORN}') > 0
    )
    WHERE born >= {START_MS} AND born < {END_MS}
) GROUP BY day, period
"""


def _retention_rows(rows: Rows) -> list[Any]:
    """(day number, period or -1 for the cohort's size, users) -> one row per day of the
    range: [day, size, users in period 0 .. 14]."""
    first = START_MS // DAY_MS
    table = [[0] * (RETENTION_DAYS + 2) for _ in range(DAYS)]
    for day, period, users in rows:
        table[int(day) - first][int(period) + 1] = int(users)
    return [[(FIRST_DAY + timedelta(days=d)).isoformat(), *row] for d, row in enumerate(table)]


def _retention_answer(result: dict[str, Any]) -> list[Any]:
    return [
        [c["cohort"], int(c["size"]), *(int(n) for n in c["counts"])] for c in result["cohorts"]
    ]


# --- Flows --------------------------------------------------------------------------------

# The next event in the user's order (time, then name: docs/behaviour.md's tie rule for
# flows), if within the window; every anchor in the range counts (totals).
_DUCKDB_FLOWS = f"""
SELECT coalesce(CASE WHEN next_time <= time + {WINDOW_MS} THEN next_event END, '{END}'),
    count(*)
FROM (
    SELECT event, time, lead(event) OVER w AS next_event, lead(time) OVER w AS next_time
    FROM {{src}} WINDOW w AS (PARTITION BY user_id ORDER BY time, event)
)
WHERE event = '{ANCHOR}' AND {_IN_RANGE}
GROUP BY ALL
"""

_CHDB_FLOWS = f"""
SELECT if(next_time != 0 AND next_time <= time + {WINDOW_MS}, next_event, '{END}') AS name,
    count()
FROM (
    SELECT event, time, leadInFrame(event) OVER w AS next_event,
        leadInFrame(time) OVER w AS next_time
    FROM {{src}}
    WINDOW w AS (PARTITION BY user_id ORDER BY time, event
                 ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING)
)
WHERE event = '{ANCHOR}' AND {_IN_RANGE}
GROUP BY name
"""


def _flows_rows(rows: Rows) -> list[Any]:
    return sorted([str(name), int(n)] for name, n in rows)


def _flows_answer(result: dict[str, Any]) -> list[Any]:
    return sorted([n["event"], int(n["count"])] for n in result["nodes"] if n["step"] == 1)


# --- The queries --------------------------------------------------------------------------


def _funnel(key: str, title: str, steps: list[str], by_browser: bool = False) -> Query:
    n = len(steps)
    skip = {}
    if n > CHDB_MAX_CONDITIONS:
        skip["chdb"] = (
            f"windowFunnel takes at most {CHDB_MAX_CONDITIONS} conditions (one per step),"
            f" this funnel has {n} steps"
        )
    return Query(
        key,
        title,
        duckdb_funnel(steps, by_browser),
        None if "chdb" in skip else chdb_funnel(steps, by_browser),
        _funnel_spec(steps, by_browser),
        _segments_answer if by_browser else _funnel_answer,
        _browser_steps_rows(n) if by_browser else _steps_rows(n),
        _browser_levels_rows(n) if by_browser else _levels_rows(n),
        skip,
    )


def _funnel_periods(key: str, title: str, days: int) -> Query:
    """Q5 as Mixpanel's /funnels asks it: a funnel of its own per period of ``days`` start
    days (``per_period``). chDB's windowFunnel gives one level per group, and attempts of
    one start day go on into later days: it would take a pass per period."""
    n = len(FUNNEL)
    return Query(
        key,
        title,
        duckdb_funnel(list(FUNNEL), period_days=days),
        None,
        msgspec.structs.replace(_funnel_spec(list(FUNNEL)), per_period=StartPeriods("day", days)),
        _periods_answer,
        _period_steps_rows(n, days),
        _period_steps_rows(n, days),
        {"chdb": "windowFunnel has no per-start-period form (a pass per period)"},
    )


QUERIES = (
    _funnel("Q5", "funnel Page View > Add to Cart > Checkout > Purchase, 7 days", list(FUNNEL)),
    _funnel("Q6", "Q5 by browser", list(FUNNEL), by_browser=True),
    _funnel_periods("M30", "Q5 per start day, 30 day buckets (Mixpanel's /funnels)", 1),
    _funnel_periods("M1", "Q5 as one 30-day bucket (Mixpanel's /funnels, interval=30)", DAYS),
    Query(
        "Q7",
        f"retention: born at first '{BORN}', any event back, days 0-{RETENTION_DAYS}",
        _DUCKDB_RETENTION,
        _CHDB_RETENTION,
        RetentionSpec(
            from_date=FIRST_DAY,
            to_date=LAST_DAY,
            born=Step(event=BORN),
            periods=RETENTION_DAYS,
            unit="day",
        ),
        _retention_answer,
        _retention_rows,
        _retention_rows,
        {},
    ),
    Query(
        "Q8",
        f"next event after '{ANCHOR}' within 7 days, every anchor",
        _DUCKDB_FLOWS,
        _CHDB_FLOWS,
        FlowsSpec(
            from_date=FIRST_DAY,
            to_date=LAST_DAY,
            anchor=Step(event=ANCHOR),
            steps=1,
            counting="totals",
            window=WINDOW,
            top=len(EVENT_NAMES) + 10,  # every name is shown: no $other
        ),
        _flows_answer,
        _flows_rows,
        _flows_rows,
        {},
    ),
    _funnel("L20", "20-step funnel cycling datagen's names, 7 days", LONG_STEPS[:20]),
    _funnel("L50", "50-step funnel cycling datagen's names, 7 days", LONG_STEPS),
)
QUERY_BY_KEY = {q.key: q for q in QUERIES}
# Targets: trackway at least this many times faster than chDB in the same column.
SPEED_TARGETS = {"Q5": 2.5, "Q6": 5.0, "Q7": 5.0, "Q8": 20.0}
# trackway's L50 costs at most 2x its Q5; 30 day buckets at most 1.2x one bucket.
COST_TARGETS = (("L50", "Q5", 2.0), ("M30", "M1", 1.2))


# --- Engines (run inside a worker) --------------------------------------------------------


def open_engine(engine: str, mode: str, paths: Paths) -> Runner:
    """Open the data for one engine and mode; the returned runner answers one query."""
    if engine == "trackway":
        return _trackway_runner(paths.trackway)
    sql = open_sql(engine, mode, paths)

    def run(key: str) -> list[Any]:
        query = QUERY_BY_KEY[key]
        if engine == "duckdb" and query.duckdb is not None:
            return query.duckdb_rows(sql(query.duckdb))
        if engine == "chdb" and query.chdb is not None:
            return query.chdb_rows(sql(query.chdb))
        raise ValueError(f"{engine} does not run {key}: {query.skip.get(engine)}")

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


def same_answer(query: str, a: list[Any], b: list[Any], tie_tolerant: bool) -> list[str]:
    """Every answer is counts: equal exactly."""
    return same_rows(a, b)


def _skip(engine: str, query: str) -> str | None:
    return QUERY_BY_KEY[query].skip.get(engine)


# --- Targets ------------------------------------------------------------------------------


def targets(summary: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The issue's targets against the measured medians: trackway warm against chDB's warm
    memory, trackway cold against chDB's cold Parquet (the columns they share). Judged on
    wall time; the CPU-time ratio is shown too, for a busy machine."""
    lines = [
        "\ntargets (trackway warm vs chdb warm-memory, trackway cold vs chdb cold-parquet;"
        " judged on wall time, CPU-time ratio in brackets):"
    ]
    entries = []
    peer_of = {"warm": "chdb warm-memory", "cold": "chdb cold-parquet"}
    for query, factor in SPEED_TARGETS.items():
        text = []
        for mode, peer in peer_of.items():
            ratio = _ratios(summary, (query, peer), (query, f"trackway {mode}"))
            if ratio is None:
                text.append(f"{mode} not measured")
                continue
            met = ratio[0] >= factor
            entries.append(
                {"query": query, "mode": mode, "target": f">= {factor:g}x faster than chDB"}
                | {"speedup": ratio[0], "cpu_speedup": ratio[1], "met": met}
            )
            text.append(f"{mode} {ratio[0]:.2f}x ({ratio[1]:.2f}x) {_verdict(met)}")
        lines.append(f"  {query} >= {factor:g}x faster than chDB: " + ", ".join(text))
    for query, base, most in COST_TARGETS:
        text = []
        for mode in ("warm", "cold"):
            ratio = _ratios(summary, (query, f"trackway {mode}"), (base, f"trackway {mode}"))
            if ratio is None:
                text.append(f"{mode} not measured")
                continue
            met = ratio[0] <= most
            entries.append(
                {"query": query, "mode": mode, "target": f"<= {most:g}x trackway's {base}"}
                | {"cost": ratio[0], "cpu_cost": ratio[1], "met": met}
            )
            text.append(f"{mode} {ratio[0]:.2f}x ({ratio[1]:.2f}x) {_verdict(met)}")
        lines.append(f"  {query} <= {most:g}x {base} on trackway: " + ", ".join(text))
    return lines, {"targets": entries}


def _ratios(
    summary: dict[str, Any], top: tuple[str, str], bottom: tuple[str, str]
) -> tuple[float, float] | None:
    """Median wall time and CPU time of one cell over another's, if both were measured."""
    a = summary.get(top[0], {}).get(top[1], {})
    b = summary.get(bottom[0], {}).get(bottom[1], {})
    if "median_ms" not in a or "median_ms" not in b or not b["median_ms"] or not b["cpu_ms"]:
        return None
    return float(a["median_ms"] / b["median_ms"]), float(a["cpu_ms"] / b["cpu_ms"])


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


SUITE = Suite(
    name="behaviour",
    titles={q.key: q.title for q in QUERIES},
    open=open_engine,
    warm_up_trackway=_warm_up_trackway,
    same_answer=same_answer,
    extension=ThroughIngest({q.key: (q.spec, q.answer) for q in QUERIES}),
    skip=_skip,
    notes=targets,
    report={
        "queries": {
            q.key: {
                "title": q.title,
                "steps": [s.event for s in q.spec.steps]
                if isinstance(q.spec, FunnelSpec)
                else None,
                "skipped": q.skip,
            }
            for q in QUERIES
        },
        "window_ms": WINDOW_MS,
    },
)

if __name__ == "__main__":
    sys.exit(main(SUITE, __doc__.splitlines()[0]))
