"""The Insights engine against the plain-Python reference (tests/reference/insights.py) on random
small event sets: a few users and names, times around DST changes, duplicates with different
mp_processing_time_ms, mixed-type and missing properties, rows spread over several parts
per shard and the log tail; random specs over every measure."""

from __future__ import annotations

import math
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.query.answers import answer
from tests.query.store import event, new_project, reader, store
from tests.reference import insights as reference
from trackway.query.insights.spec import Breakdown, Formula, InsightsSpec, Metric

ZONES = [None, "UTC", "America/New_York", "Europe/Paris"]
# Report windows around the 2026 DST changes of New York (Mar 8, Nov 1) and Paris (Mar 29,
# Oct 25), per unit: a handful of buckets each.
WINDOWS: dict[str, list[tuple[date, date]]] = {
    "minute": [(date(2026, 11, 1), date(2026, 11, 1)), (date(2026, 3, 29), date(2026, 3, 29))],
    "hour": [(date(2026, 10, 31), date(2026, 11, 2)), (date(2026, 3, 28), date(2026, 3, 30))],
    "day": [(date(2026, 10, 24), date(2026, 11, 2)), (date(2026, 3, 6), date(2026, 3, 10))],
    "week": [(date(2026, 10, 14), date(2026, 11, 5))],
    "month": [(date(2026, 9, 20), date(2026, 11, 10))],
    "quarter": [(date(2026, 8, 15), date(2026, 11, 10))],
}
UNITS = list(WINDOWS)
DAY_OR_LONGER = ["day", "week", "month", "quarter"]
TRANSITIONS_UTC = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),  # New York springs forward
    datetime(2026, 11, 1, 6, tzinfo=UTC),  # New York falls back
    datetime(2026, 3, 29, 1, tzinfo=UTC),  # Paris
    datetime(2026, 10, 25, 1, tzinfo=UTC),
]
BROWSERS = ["Chrome", "Firefox", "Safari", "", 1, 2.0, True, None]
PRICES = [0, 1, 2, 2.5, 3, 10, -1.5, 0.25, "3", True, None]
PLANS = [True, False, "true"]
EDGES = [0.0, 1.0, 2.5, 10.0]
MEASURES = ["total", "unique", "dau", "wau", "mau", "per_user_avg", "per_user_median"]
MEASURES += ["sum", "avg", "min", "max", *reference.QUANTILES, "distinct"]
PROPERTY_MEASURES = {"sum", "avg", "min", "max", "distinct", *reference.QUANTILES}
ADDITIVE = {"total", "unique", "sum"}
FILTERS = [None, *reference.FILTERS]
FORMULAS = ["A / 2", "(A - 1) / (A - 1)", "A * 100 / (A + 1) - -2"]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@st.composite
def event_sets(draw: st.DrawFn, first: date, last: date, tz: str | None) -> list[dict[str, Any]]:
    """Events from 8 days before ``first`` (the active-user windows reach back) to after
    ``last``, a few duplicated with other processing times and properties, plus an anchor
    in the report and in the period before it so neither scan is empty."""
    zone = ZoneInfo(tz or "UTC")
    length = (last - first).days + 1
    start = _ms(datetime.combine(first - timedelta(days=max(length, 8)), datetime.min.time(), zone))
    end = _ms(datetime.combine(last + timedelta(days=2), datetime.min.time(), zone))
    near = [_ms(t) + delta for t in TRANSITIONS_UTC for delta in (-1, 0, 1_800_000, 3_599_999)]
    times = st.one_of(
        st.integers(start, end), st.sampled_from([t for t in near if start <= t < end])
    )
    n = draw(st.integers(1, 40))
    events = []
    for i in range(n):
        props: dict[str, Any] = {}
        for name, values in (("browser", BROWSERS), ("price", PRICES), ("plan", PLANS)):
            if draw(st.booleans()):
                props[name] = draw(st.sampled_from(values))
        events.append(
            event(
                draw(st.sampled_from(["View", "Buy", "Open"])),
                f"u{draw(st.integers(0, 5))}",
                draw(times),
                f"i{i}",
                1_000 * draw(st.integers(1, 50)) + i,
                **props,
            )
        )
    for j, i in enumerate(draw(st.lists(st.integers(0, n - 1), max_size=6))):
        copy = {"event": events[i]["event"], "properties": dict(events[i]["properties"])}
        copy["properties"]["mp_processing_time_ms"] = 1_000 * draw(st.integers(1, 50)) + 500 + j
        copy["properties"]["price"] = draw(st.sampled_from(PRICES))
        events.append(copy)
    for day in (first, first - timedelta(days=length)):
        noon = datetime.combine(day, datetime.min.time(), zone) + timedelta(hours=12)
        events.append(event("Anchor", "anchor", _ms(noon), f"anchor-{day}"))
    return events


def _metric(draw: st.DrawFn, measure: str) -> Metric:
    prop = None
    if measure in PROPERTY_MEASURES:
        prop = draw(st.sampled_from(["price", "browser"] if measure == "distinct" else ["price"]))
    return Metric(
        event=draw(st.sampled_from(["View", ["View", "Buy"], None])),
        where=draw(st.sampled_from(FILTERS)),
        measure=measure,  # type: ignore[arg-type]
        property=prop,
    )


@st.composite
def cases(
    draw: st.DrawFn, measures: list[str], formulas: list[str]
) -> tuple[InsightsSpec, list[dict[str, Any]], list[int]]:
    """A spec with one metric per measure, events for it, and where each event is stored:
    0-2 a committed part (append), 3 the log tail."""
    active = any(m in reference.WINDOW_DAYS for m in measures)
    windowed = all(m in ADDITIVE for m in measures) and draw(st.booleans())
    units = DAY_OR_LONGER if active else UNITS
    if windowed:
        units = [u for u in units if u != "minute"]
    unit = draw(st.sampled_from(units))
    first, last = draw(st.sampled_from(WINDOWS[unit]))
    tz = draw(st.sampled_from(ZONES))
    breakdowns = draw(
        st.sampled_from(
            [
                [],
                [Breakdown(property="browser")],
                [Breakdown(property="price", buckets=EDGES)],
                [Breakdown(property="browser"), Breakdown(property="plan")],
            ]
        )
    )
    spec = InsightsSpec(
        from_date=first,
        to_date=last,
        unit=unit,  # type: ignore[arg-type]
        timezone=tz,
        where=draw(st.sampled_from(FILTERS)),
        metrics=[_metric(draw, m) for m in measures],
        breakdowns=breakdowns,
        formulas=[Formula(name=f"F{i}", expression=f) for i, f in enumerate(formulas)],
        limit=draw(st.integers(1, 4)),
        segment_offset=draw(st.integers(0, 3)) if breakdowns else 0,
        cumulative=windowed and draw(st.booleans()),
        rolling=draw(st.integers(1, 3)) if windowed and draw(st.booleans()) else None,
        compare=draw(st.sampled_from([None, "previous_period"])),
    )
    if spec.cumulative and spec.rolling:
        spec = InsightsSpec(**{**_fields(spec), "rolling": None})
    events = draw(event_sets(first, last, tz))
    places = [draw(st.integers(0, 3)) for _ in events]
    return spec, events, places


def _fields(spec: InsightsSpec) -> dict[str, Any]:
    return {f: getattr(spec, f) for f in spec.__struct_fields__}


def _run_engine(
    spec: InsightsSpec, events: list[dict[str, Any]], places: list[int]
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        project = new_project(data_dir)
        batches = [[e for e, p in zip(events, places, strict=True) if p == b] for b in range(3)]
        tail = [e for e, p in zip(events, places, strict=True) if p == 3]
        store(data_dir, project, batches, tail)
        events_reader = reader(data_dir)
        result = answer(events_reader, project, spec)
        # Again with what the first run cached (and another report's cache entries) in the
        # reader: the same answer.
        other = InsightsSpec(**{**_fields(spec), "breakdowns": [Breakdown(property="plan")]})
        answer(events_reader, project, other)
        assert answer(events_reader, project, spec) == result
        return result


def _shown(result: dict[str, Any]) -> list[tuple[str, ...]]:
    first = result["series"][0]["metric"] if result["series"] else None
    return [
        tuple(s["segment"])
        for s in result["series"]
        if s["metric"] == first and s["segment"] != [reference.OTHER]
    ]


def same(actual: Any, expected: Any) -> bool:
    if expected is None or actual is None:
        return actual is None and expected is None
    if isinstance(expected, dict):
        return actual == expected
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


def assert_matches(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert actual["buckets"] == expected["buckets"]
    for key in ("unit", "timezone", "segments"):
        assert actual.get(key, expected.get(key)) == expected.get(key, actual.get(key)), key
    got = [(s["metric"], s["segment"]) for s in actual["series"]]
    want = [(s["metric"], s["segment"]) for s in expected["series"]]
    assert got == want
    for a, e in zip(actual["series"], expected["series"], strict=True):
        where = f"{e['metric']} {e['segment']}"
        assert len(a["values"]) == len(e["values"]), where
        assert all(map(same, a["values"], e["values"])), (where, a["values"], e["values"])
        assert same(a["total"], e["total"]), (where, a["total"], e["total"])


def check(spec: InsightsSpec, events: list[dict[str, Any]], places: list[int]) -> None:
    actual = _run_engine(spec, events, places)
    # The engine may order tied segments its own way; any correct page of the ranking is
    # accepted, and the reference then measures exactly the segments the engine shows.
    ranked = reference.ranking(spec, events)
    shown = _shown(actual)
    if spec.breakdowns:
        assert reference.valid_page(ranked, shown, spec.segment_offset, spec.limit), (
            shown,
            ranked,
        )
    previous_shown = None
    if spec.compare:
        length = (spec.to_date - spec.from_date).days + 1
        before = (spec.from_date - timedelta(days=length), spec.from_date - timedelta(days=1))
        previous_shown = _shown(actual["previous"])
        if spec.breakdowns:
            ranked_before = reference.ranking(spec, events, *before)
            assert reference.valid_page(
                ranked_before, previous_shown, spec.segment_offset, spec.limit
            ), (previous_shown, ranked_before)
    expected = reference.run(events, spec, shown or None, previous_shown or None)
    assert_matches(actual, expected)
    if spec.compare:
        assert_matches(actual["previous"], expected["previous"])


ORACLE = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("measure", [pytest.param(m, id=m) for m in MEASURES])
@ORACLE
@given(data=st.data())
def test_one_metric_matches_reference(measure: str, data: st.DataObject) -> None:
    formulas = data.draw(st.lists(st.sampled_from(FORMULAS), max_size=1))
    spec, events, places = data.draw(cases([measure], formulas))
    check(spec, events, places)


@ORACLE
@given(data=st.data())
def test_several_metrics_match_reference(data: st.DataObject) -> None:
    """Metrics counting different rows: a segment only the second metric has data for is
    still a segment (shown, or in `$other`)."""
    measures = data.draw(st.lists(st.sampled_from(MEASURES), min_size=2, max_size=3))
    formulas = data.draw(st.lists(st.sampled_from(["A + B", "A / B", "(A - B) / A * 100"])))
    spec, events, places = data.draw(cases(measures, formulas))
    check(spec, events, places)


@pytest.mark.parametrize(
    ("mau_where", "where", "offset"),
    [
        pytest.param('properties["browser"] == "Chrome"', None, 0, id="only look-back rows"),
        pytest.param('properties["browser"] != "Chrome"', 'properties["browser"] == "Chrome"', 1),
    ],
)
def test_segments_come_from_rows_each_metric_counts(
    mau_where: str, where: str | None, offset: int
) -> None:
    """Found examples: a View 23 days before the range is in MAU's window, not DAU's; with
    MAU's filter leaving it out, it makes no segment (it once did, as DAU's look-back)."""
    day = datetime(2026, 9, 21, tzinfo=UTC)
    views = [
        {
            "event": "View",
            "properties": {
                **({"browser": "Chrome"} if i == 2 else {}),
                "time": int(day.timestamp() * 1000),
                "distinct_id": "u0",
                "$insert_id": f"i{i}",
                "mp_processing_time_ms": 1000 + i,
            },
        }
        for i in range(3)
    ]
    spec = InsightsSpec(
        from_date=date(2026, 10, 14),
        to_date=date(2026, 11, 5),
        metrics=[
            Metric(event="View", where=mau_where, measure="mau"),
            Metric(event="View", measure="dau"),
        ],
        unit="week",
        where=where,
        breakdowns=[Breakdown(property="browser")],
        limit=1,
        segment_offset=offset,
    )
    check(spec, views, [0, 1, 2])
