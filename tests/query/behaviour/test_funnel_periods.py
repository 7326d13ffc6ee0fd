"""Funnels per start period (``per_period``, what Mixpanel's /funnels answers) against what
they must equal: the engine run once per period, over that period's dates alone, which is
how /funnels answered before one pass gave every period. Random events and specs as in
test_oracle.py (every order, counting, window, gap, exclusion, hold, grace, filter,
breakdown and limit; time zones with DST changes; users with attempts in several periods
and windows across period edges), periods of days, several days, weeks and months.

The runs per period read back one day before their own start for grace bursts, the single
run one day before ``from_date``; the streams here never chain a burst over a day, where
the two could differ."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from tests.query.answers import answer
from tests.query.behaviour.test_oracle import (
    DAY_RANGES,
    NAMES,
    ORACLE,
    WIDE_RANGES,
    ZONES,
    Events,
    _midnight,
    _places,
    funnel_specs,
    stored,
    streams,
)
from tests.query.store import event, new_project, reader, store
from trackway.projects import Project
from trackway.query.behaviour.spec import FunnelSpec, Length, StartPeriods, Step
from trackway.storage.scan import EventReader

SHORT = [StartPeriods("day"), StartPeriods("day", 2)]
LONG = [
    StartPeriods("day", 3),
    StartPeriods("day", 10),
    StartPeriods("week"),
    StartPeriods("month"),
]
LONG += [StartPeriods("week", 2), StartPeriods("month", 2)]


def periods_of(
    from_date: date, to_date: date, periods: StartPeriods
) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of each period, by date arithmetic: ``every`` units
    from the one ``from_date`` is in, cut to the range."""
    start = from_date
    if periods.unit == "week":
        start -= timedelta(days=start.weekday())
    elif periods.unit == "month":
        start = start.replace(day=1)
    out = []
    while start <= to_date:
        if periods.unit == "month":
            months = start.month - 1 + periods.every
            following = date(start.year + months // 12, months % 12 + 1, 1)
        else:
            following = start + timedelta(days=periods.every * (7 if periods.unit == "week" else 1))
        last = min(following - timedelta(days=1), to_date)
        out.append((str(start), max(start, from_date), last))
        start = following
    return out


def period_by_period(reader: EventReader, project: Project, spec: FunnelSpec) -> list[Any]:
    """Each period's funnel as its own run over the period's dates."""
    assert spec.per_period is not None
    out = []
    for label, first, last in periods_of(spec.from_date, spec.to_date, spec.per_period):
        alone = msgspec.structs.replace(spec, from_date=first, to_date=last, per_period=None)
        result = answer(reader, project, alone)
        steps = []
        for step in result["steps"]:
            times = step["time_to_convert"]
            steps.append(
                {
                    "count": step["count"],
                    "avg_ms": None if times is None else times["avg_ms"],
                    "avg_from_start_ms": None if times is None else times["avg_from_start_ms"],
                }
            )
        found = {"period": label, "steps": steps}
        if spec.breakdowns:
            found["segments"] = result["segments"]
        out.append(found)
    return out


def check(reader: EventReader, project: Project, spec: FunnelSpec) -> None:
    result = answer(reader, project, spec)
    assert result["steps"] == []
    assert result["periods"] == period_by_period(reader, project, spec), spec


# Around a period's edge: before it, on it and after it, by up to the windows drawn.
EDGE_OFFSETS = [-86_400_000, -3_600_000, -60_000, -1, 0, 1, 60_000, 3_600_000, 86_400_000]


@st.composite
def edge_events(draw: st.DrawFn, edges: list[date], tz: str | None) -> Events:
    """Events of the users of ``streams`` on both sides of some of the periods' edges,
    where an attempt of one period may go on into the next."""
    out = []
    for e, edge in enumerate(draw(st.lists(st.sampled_from(edges), min_size=1, max_size=3))):
        for u in range(draw(st.integers(1, 3))):
            offsets = draw(st.lists(st.sampled_from(EDGE_OFFSETS), min_size=2, max_size=5))
            for i, offset in enumerate(sorted(offsets)):
                name = draw(st.sampled_from(NAMES)) if i else "View"
                moment = _midnight(edge, tz) + offset
                out.append(event(name, f"u{u}", moment, f"edge{e}-{u}-{i}", browser="Chrome"))
    return out


def plain(spec: FunnelSpec, counting: str) -> FunnelSpec:
    """The funnel as Mixpanel's /funnels asks for it most often (a loose funnel without
    gaps, exclusions or held properties), which takes a walk of its own in the kernel."""
    return msgspec.structs.replace(
        spec,
        steps=[msgspec.structs.replace(s, min_gap=None, max_gap=None) for s in spec.steps],
        order="loose",
        anchors=[],
        exclusions=[],
        hold_constant=[],
        counting=counting,
    )


@ORACLE
@given(data=st.data())
def test_per_period_is_each_period_alone(data: st.DataObject) -> None:
    draw = data.draw
    tz = draw(st.sampled_from(ZONES))
    short = draw(st.booleans())
    first, last = draw(st.sampled_from(DAY_RANGES if short else WIDE_RANGES))
    periods = draw(st.sampled_from(SHORT if short else LONG))
    starts = [first] + [p[1] for p in periods_of(first, last, periods)[1:]]
    events = draw(streams(first, last, tz, before=2, after=6 if short else 35))
    events += draw(edge_events([*starts, last + timedelta(days=1)], tz))
    specs = []
    for _ in range(3):
        spec = msgspec.structs.replace(
            draw(funnel_specs(first, last, tz)), per_period=periods, unit=None, drop_offs=None
        )
        if draw(st.booleans()):
            spec = plain(spec, draw(st.sampled_from(["uniques", "uniques", "sessions"])))
        specs.append(spec)
    with stored(events, _places(draw, events)) as (events_reader, project):
        for spec in specs:
            check(events_reader, project, spec)


def test_attempts_of_many_periods_share_their_later_steps(tmp_path: Path) -> None:
    """A View a day for ten days, then Cart and Buy: each day's attempt converts on the
    same two events, so the periods hold more step times than there are rows."""
    day = 86_400_000
    start = 1_780_272_000_000  # 2026-06-01 UTC
    events = [event("View", "u1", start + d * day + 3_600_000, f"v{d}") for d in range(10)]
    events += [
        event("Cart", "u1", start + 9 * day + 7_200_000, "c"),
        event("Buy", "u1", start + 9 * day + 10_800_000, "b"),
        event("View", "u2", start + 3 * day, "w"),
    ]
    project = new_project(tmp_path)
    store(tmp_path, project, [events], [])
    spec = FunnelSpec(
        from_date=date(2026, 6, 1),
        to_date=date(2026, 6, 12),
        steps=[Step(event="View"), Step(event="Cart"), Step(event="Buy")],
        window=Length(30, "day"),
        per_period=StartPeriods("day"),
    )
    result = answer(reader(tmp_path), project, spec)
    counts = [[s["count"] for s in p["steps"]] for p in result["periods"]]
    assert counts == [[1, 1, 1]] * 3 + [[2, 1, 1]] + [[1, 1, 1]] * 6 + [[0, 0, 0]] * 2
    assert result["periods"][0]["steps"][1]["avg_ms"] == 9 * day + 3_600_000
    assert result["periods"][9]["steps"][2]["avg_from_start_ms"] == 7_200_000
    check(reader(tmp_path), project, spec)
    for unit in ("week", "month"):
        check(
            reader(tmp_path), project, msgspec.structs.replace(spec, per_period=StartPeriods(unit))
        )
