"""Funnels and retention against ClickHouse (chDB, in process) where its functions share our
semantics (docs/behaviour.md):

* ``windowFunnel(window)(time, step1 in range, step2, ...)`` is the furthest step of a
  user's attempts in loose order, counted once per user (``uniques``), when every step is
  one event name of its own and there are no gaps, exclusions or held properties. Its
  window is inclusive and it sorts equal times by condition index, as our tie rule does.
* With ``strict_order`` it agrees with our strict order when no user repeats an event name
  or has two events at one time (ClickHouse does not retry from a later step-1 event, and
  puts events matching no condition first among ties).
* ``retention(birth, day 1, day 2, ...)`` is first-time, calendar-day retention for the
  periods from 1 on.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.query.answers import answer
from tests.query.store import event, new_project, reader, store
from trackway.query.behaviour.spec import FunnelSpec, Length, RetentionSpec, Step

Events = list[dict[str, Any]]
NAMES = ["View", "Cart", "Buy", "Open", "Home"]
ZONES = ["UTC", "America/New_York", "Europe/Paris"]
RANGES = [(date(2026, 10, 31), date(2026, 11, 2)), (date(2026, 3, 28), date(2026, 3, 30))]
WINDOWS = [Length(1, "second"), Length(1, "minute"), Length(1, "hour"), Length(1, "day")]
COMPARE = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _midnight(day: date, tz: str) -> int:
    return int(datetime.combine(day, datetime.min.time(), ZoneInfo(tz)).timestamp() * 1000)


@st.composite
def streams(draw: st.DrawFn, first: date, last: date, tz: str, distinct: bool) -> Events:
    """Events around the range on a few clustered moments; with ``distinct``, no user has
    one name twice or two events at one time."""
    start = _midnight(first, tz) - 7_200_000
    end = _midnight(last + timedelta(days=1), tz) + 7_200_000
    moments = draw(st.lists(st.integers(start, end), min_size=1, max_size=4))
    offsets = [0, 0, 1, 999, 1_000, 60_000, 3_600_000, 86_400_000, -1]
    events = []
    for u in range(draw(st.integers(1, 8))):
        names = draw(st.lists(st.sampled_from(NAMES), max_size=12, unique=distinct))
        taken: set[int] = set()
        for i, name in enumerate(names):
            time = draw(st.sampled_from(moments)) + draw(st.sampled_from(offsets))
            if distinct:
                while time in taken:
                    time += 7
                taken.add(time)
            events.append(event(name, f"u{u}", time, f"{u}-{i}"))
    return events


def _sql_values(events: Events) -> str:
    rows = [
        f"('{e['properties']['distinct_id']}', '{e['event']}', {e['properties']['time']})"
        for e in events
    ]
    return f"values('user String, name String, time Int64', {', '.join(rows)})"


def clickhouse(sql: str) -> list[list[Any]]:
    answer = chdb.query(sql, "JSONCompact")  # type: ignore[no-untyped-call]  # chdb has no types
    rows: list[list[Any]] = json.loads(answer.bytes())["data"]
    return rows


def _run(events: Events, run: Any, spec: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        project = new_project(data_dir)
        store(data_dir, project, [events[::2]], events[1::2])
        result: dict[str, Any] = run(reader(data_dir), project, spec)
        return result


def funnel_levels(events: Events, spec: FunnelSpec, mode: str) -> list[int]:
    """ClickHouse's step counts: users whose level is at least k."""
    tz = spec.timezone or "UTC"
    names = [s.event for s in spec.steps]
    start, end = _midnight(spec.from_date, tz), _midnight(spec.to_date + timedelta(days=1), tz)
    conditions = [f"name = '{names[0]}' AND time >= {start} AND time < {end}"]
    conditions += [f"name = '{n}'" for n in names[1:]]
    parameters = f"{spec.window.ms()}" + (", 'strict_order'" if mode else "")
    sql = (
        f"SELECT level FROM (SELECT user, windowFunnel({parameters})"
        f"(toUInt64(time), {', '.join(conditions)}) AS level "
        f"FROM {_sql_values(events)} GROUP BY user)"
    )
    levels = [row[0] for row in clickhouse(sql)]
    return [sum(level >= k for level in levels) for k in range(1, len(names) + 1)]


@st.composite
def funnel_cases(draw: st.DrawFn, distinct: bool) -> tuple[Events, FunnelSpec]:
    tz = draw(st.sampled_from(ZONES))
    first, last = draw(st.sampled_from(RANGES))
    names = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=4, unique=True))
    spec = FunnelSpec(
        from_date=first,
        to_date=last,
        steps=[Step(event=n) for n in names],
        window=draw(st.sampled_from(WINDOWS)),
        timezone=tz,
    )
    events = draw(streams(first, last, tz, distinct))
    events.append(event("Anchor", "anchor", _midnight(first, tz), "anchor"))
    return events, spec


def _counts(result: dict[str, Any]) -> list[int]:
    return [s["count"] for s in result["steps"]]


@COMPARE
@given(case=funnel_cases(distinct=False))
def test_loose_funnel_matches_window_funnel(case: tuple[Events, FunnelSpec]) -> None:
    events, spec = case
    assert _counts(_run(events, answer, spec)) == funnel_levels(events, spec, "")


@COMPARE
@given(case=funnel_cases(distinct=True))
def test_strict_funnel_matches_window_funnel_strict_order(
    case: tuple[Events, FunnelSpec],
) -> None:
    events, spec = case
    strict = FunnelSpec(
        **{**{f: getattr(spec, f) for f in spec.__struct_fields__}, "order": "strict"}
    )
    assert _counts(_run(events, answer, strict)) == funnel_levels(events, strict, "strict_order")


def retention_counts(events: Events, spec: RetentionSpec) -> dict[str, list[int]]:
    """Per cohort day: its size, then the users back on day 1 .. ``periods``."""
    tz = spec.timezone or "UTC"
    day = f"toDate(fromUnixTimestamp64Milli(time), '{tz}')"
    returns = [f"{day} = cohort + {i} AND time > birth" for i in range(1, spec.periods + 1)]
    sql = (
        f"WITH births AS (SELECT user, min(time) AS birth FROM {_sql_values(events)} "
        f"WHERE name = '{spec.born.event}' GROUP BY user) "
        f"SELECT toString(cohort), sumForEach(r) FROM ("
        f"SELECT user, cohort, retention({day} = cohort AND time = birth, "
        f"{', '.join(returns)}) AS r FROM ("
        f"SELECT e.user AS user, e.time AS time, b.birth AS birth, "
        f"toDate(fromUnixTimestamp64Milli(b.birth), '{tz}') AS cohort "
        f"FROM {_sql_values(events)} AS e INNER JOIN births AS b ON e.user = b.user) "
        f"WHERE cohort >= '{spec.from_date}' AND cohort <= '{spec.to_date}' "
        f"GROUP BY user, cohort) GROUP BY cohort"
    )
    return {cohort: list(r) for cohort, r in clickhouse(sql)}


@COMPARE
@given(data=st.data())
def test_first_time_day_retention_matches_retention(data: st.DataObject) -> None:
    tz = data.draw(st.sampled_from(ZONES))
    first, last = data.draw(st.sampled_from(RANGES))
    events = data.draw(streams(first, last, tz, distinct=False))
    events.append(event("Anchor", "anchor", _midnight(first, tz), "anchor"))
    spec = RetentionSpec(
        from_date=first,
        to_date=last,
        born=Step(event=data.draw(st.sampled_from(NAMES))),
        periods=data.draw(st.integers(1, 3)),
        timezone=tz,
    )
    result = _run(events, answer, spec)
    expected = retention_counts(events, spec)
    for cohort in result["cohorts"]:
        want = expected.get(cohort["cohort"], [0] * (spec.periods + 1))
        assert [cohort["size"], *cohort["counts"][1:]] == want, cohort["cohort"]
    assert set(expected) <= {c["cohort"] for c in result["cohorts"]}


def test_window_funnel_orders_ties_by_condition() -> None:
    """The premise of the loose comparison: equal times in step order."""
    sql = (
        "SELECT windowFunnel(10)(toUInt64(time), name = 'A', name = 'B') "
        f"FROM {_sql_values([event('B', 'u', 5, 'b'), event('A', 'u', 5, 'a')])}"
    )
    assert clickhouse(sql) == [[2]]
