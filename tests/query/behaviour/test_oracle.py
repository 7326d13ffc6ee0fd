"""The behavioural reports against the plain-Python reference (tests/reference/behaviour.py)
on random small event streams: a few users and names, many equal times and repeats, events
near window edges, range edges and the DST changes of New York and Paris, properties to
filter, hold constant and break down by, rows spread over committed parts and the log tail;
random specs over every option of every report."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from tests.query.answers import answer
from tests.query.store import event, new_project, reader, store
from tests.reference import behaviour as oracle
from tests.reference import insights as reference
from tests.reference import periods as period_reference
from trackway.projects import Project
from trackway.query.behaviour.spec import (
    DropOffs,
    Exclusion,
    FlowsSpec,
    FrequencySpec,
    FunnelSpec,
    Length,
    LifecycleSpec,
    RetentionSpec,
    Step,
)
from trackway.query.insights.spec import Breakdown
from trackway.storage.scan import EventReader

Events = list[dict[str, Any]]
T = TypeVar("T")


class Draw(Protocol):
    """``draw`` of a composite strategy or of ``st.data()``."""

    def __call__(self, strategy: st.SearchStrategy[T]) -> T: ...


ORDERS: tuple[Literal["loose", "strict", "any"], ...] = ("loose", "strict", "any")
PERIODS: tuple[Literal["day", "week", "month"], ...] = ("day", "week", "month")
MEASURES: tuple[Literal["users", "sum", "average"], ...] = ("users", "users", "sum", "average")
DIRECTIONS: tuple[Literal["after", "before"], ...] = ("after", "before")
ZONES = [None, "UTC", "America/New_York", "Europe/Paris"]
NAMES = ["View", "Cart", "Buy", "Open"]
# Short ranges around the 2026 DST changes: New York (Mar 8, Nov 1), Paris (Mar 29, Oct 25).
DAY_RANGES = [
    (date(2026, 3, 7), date(2026, 3, 9)),
    (date(2026, 3, 28), date(2026, 3, 29)),
    (date(2026, 10, 25), date(2026, 10, 25)),
    (date(2026, 10, 31), date(2026, 11, 2)),
]
WIDE_RANGES = [
    (date(2026, 10, 21), date(2026, 11, 3)),  # Wednesday to Tuesday: cut weeks
    (date(2026, 10, 26), date(2026, 11, 8)),  # whole weeks
    (date(2026, 3, 1), date(2026, 3, 31)),  # a whole month
]
TRANSITIONS = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
]
BROWSERS = ["Chrome", "Firefox", "", 1, 2.0, True, None]
PRICES = [0, 1, 2, 2.5, 3, -1.5, "3", None]
PLANS = [True, False, "true"]
FILTERS = [None, *reference.FILTERS]
# Offsets from a few drawn moments: equal times, a millisecond apart, and the lengths that
# windows, gaps, grace and sessions use, so events fall on and around their edges.
OFFSETS = [0, 0, 0, 1, 999, 1_000, 60_000, 1_800_000, 1_800_001, 3_600_000, 86_400_000]
LENGTHS = [
    Length(1, "second"),
    Length(1, "minute"),
    Length(30, "minute"),
    Length(1, "hour"),
    Length(1, "day"),
]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _midnight(day: date, tz: str | None) -> int:
    return _ms(datetime.combine(day, datetime.min.time(), ZoneInfo(tz or "UTC")))


@st.composite
def streams(
    draw: st.DrawFn, first: date, last: date, tz: str | None, before: int = 1, after: int = 3
) -> Events:
    """Events from ``before`` days before ``first`` to ``after`` days after ``last``,
    clustered on a few moments (range edges, DST changes, random ones) so that ties and edges are common.
    Events of one user with one time and one name carry the same properties: their order is
    storage's, which no report may depend on."""
    start = _midnight(first - timedelta(days=before), tz)
    end = _midnight(last + timedelta(days=after), tz)
    edges = [_midnight(first, tz), _midnight(last + timedelta(days=1), tz)]
    special = [m for m in edges + [_ms(t) for t in TRANSITIONS] if start <= m < end]
    moments = draw(
        st.lists(
            st.one_of(st.integers(start, end), st.sampled_from(special)), min_size=1, max_size=6
        )
    )
    n = draw(st.integers(1, 40))
    events = []
    properties: dict[tuple[str, int, str], dict[str, Any]] = {}
    for i in range(n):
        name = draw(st.sampled_from(NAMES))
        user = f"u{draw(st.integers(0, 3))}"
        time = draw(st.sampled_from(moments)) + draw(st.sampled_from([*OFFSETS, -1, -60_000]))
        props: dict[str, Any] = {}
        for prop, values in (("browser", BROWSERS), ("price", PRICES), ("plan", PLANS)):
            if draw(st.booleans()):
                props[prop] = draw(st.sampled_from(values))
        props = properties.setdefault((user, time, name), props)
        events.append(event(name, user, time, f"i{i}", 1_000 + i, **props))
    # Duplicates (same insert id) that deduplication must drop.
    for j, i in enumerate(draw(st.lists(st.integers(0, n - 1), max_size=3))):
        copy = {"event": events[i]["event"], "properties": dict(events[i]["properties"])}
        copy["properties"]["mp_processing_time_ms"] = 5_000 + j
        events.append(copy)
    return events


@contextmanager
def stored(events: Events, places: list[int]) -> Iterator[tuple[EventReader, Project]]:
    """The events in committed parts (places 0-1) and the log tail (2)."""
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        project = new_project(data_dir)
        batches = [[e for e, p in zip(events, places, strict=True) if p == b] for b in range(2)]
        tail = [e for e, p in zip(events, places, strict=True) if p == 2]
        store(data_dir, project, batches, tail)
        yield reader(data_dir), project


def _places(draw: Draw, events: Events) -> list[int]:
    return [draw(st.integers(0, 2)) for _ in events]


# -- funnels -----------------------------------------------------------------------------


def _event_choice(draw: Draw) -> str | list[str] | None:
    return draw(
        st.one_of(
            st.sampled_from(NAMES),
            st.lists(st.sampled_from(NAMES), min_size=2, max_size=2, unique=True),
            st.just(None),
        )
    )


@st.composite
def funnel_specs(draw: st.DrawFn, first: date, last: date, tz: str | None) -> FunnelSpec:
    n = draw(st.integers(2, 4))
    order = draw(st.sampled_from(ORDERS))
    steps = []
    for k in range(n):
        low = high = None
        if order != "any" and k > 0 and draw(st.integers(0, 3)) == 0:
            low = draw(st.sampled_from([None, Length(1, "second"), Length(1, "minute")]))
            high = draw(st.sampled_from([None, Length(1, "minute"), Length(1, "hour")]))
            if low is not None and high is not None and low.ms() > high.ms():
                low, high = high, low
        steps.append(
            Step(
                event=draw(st.sampled_from(NAMES))
                if draw(st.integers(0, 3))
                else _event_choice(draw),
                where=draw(st.sampled_from(FILTERS)) if draw(st.integers(0, 3)) == 0 else None,
                min_gap=low,
                max_gap=high,
            )
        )
    exclusions = []
    for _ in range(draw(st.integers(0, 2)) if draw(st.booleans()) else 0):
        after = draw(st.integers(1, n - 1))
        exclusions.append(
            Exclusion(
                event=_event_choice(draw),
                where=draw(st.sampled_from(FILTERS)),
                after_step=after,
                before_step=draw(st.sampled_from([None, *range(after + 1, n + 1)])),
            )
        )
    breakdowns = draw(
        st.sampled_from(
            [
                [],
                [Breakdown(property="browser")],
                [Breakdown(property="plan"), Breakdown(property="price")],
            ]
        )
    )
    drop = None
    if draw(st.booleans()):
        drop = DropOffs(draw(st.integers(1, n)), draw(st.integers(0, 2)), draw(st.integers(1, 3)))
    return FunnelSpec(
        from_date=first,
        to_date=last,
        steps=steps,
        order=order,
        anchors=draw(st.lists(st.integers(1, n), max_size=2, unique=True))
        if order == "any"
        else [],
        window=draw(st.sampled_from([*LENGTHS[1:], Length(2, "day"), Length(30, "day")])),
        exclusions=exclusions,
        hold_constant=draw(st.sampled_from([[], [], ["browser"], ["plan", "missing"]])),
        counting=draw(st.sampled_from(["uniques", "first", "totals", "sessions"])),
        session_gap=draw(st.sampled_from(LENGTHS)),
        grace=draw(st.sampled_from([None, None, *LENGTHS[:4]])),
        where=draw(st.sampled_from(FILTERS)) if draw(st.integers(0, 2)) == 0 else None,
        breakdowns=breakdowns,
        attribution=draw(st.sampled_from(["first_touch", "last_touch", *range(1, n + 1)])),
        limit=draw(st.integers(1, 3)),
        unit=draw(st.sampled_from([None, "day", "week", "month"])),
        percentiles=draw(
            st.lists(st.sampled_from([50.0, 90.0, 25.0, 99.9, 0.0, 100.0]), max_size=3)
        ),
        histogram_buckets=draw(st.integers(1, 10)),
        drop_offs=drop,
        timezone=tz,
    )


def _zone(draw: Draw) -> str | None:
    return draw(st.sampled_from(ZONES))


def check_all(
    events: Events,
    places: list[int],
    specs: list[Any],
    engine: Callable[[EventReader, Project, Any], dict[str, Any]],
    expected: Callable[[Any, Events], dict[str, Any]],
    normal: Callable[[dict[str, Any]], dict[str, Any]] = lambda r: r,
) -> None:
    """Every spec over one stored copy of ``events``, engine against reference. On a
    difference, the events are cut down to a few that still show it."""
    with stored(events, places) as (events_reader, project):
        for spec in specs:
            actual = engine(events_reader, project, spec)
            try:
                oracle.same(normal(actual), normal(expected(spec, events)))
            except AssertionError as error:
                # Only on the run hypothesis reports: cut the events down to a few that
                # still differ at the same place, and add them to the message.
                if current_build_context().is_final:
                    fewest = _fewest(events, spec, _place(error), engine, expected, normal)
                    lines = "\n".join(_brief(e) for e in fewest)
                    error.add_note(f"{spec}\nfewest events:\n{lines}")
                raise


def _place(error: AssertionError) -> str:
    """Where in the answer a difference is (the path ``same`` names first)."""
    first = error.args[0] if error.args else None
    return str(first[0] if isinstance(first, tuple) else first)


def _differs(
    events: Events,
    spec: Any,
    engine: Callable[[EventReader, Project, Any], dict[str, Any]],
    expected: Callable[[Any, Events], dict[str, Any]],
    normal: Callable[[dict[str, Any]], dict[str, Any]],
) -> str | None:
    with stored(events, [0] * len(events)) as (events_reader, project):
        try:
            oracle.same(
                normal(engine(events_reader, project, spec)), normal(expected(spec, events))
            )
        except AssertionError as error:
            return _place(error)
    return None


def _fewest(
    events: Events,
    spec: Any,
    place: str,
    engine: Callable[[EventReader, Project, Any], dict[str, Any]],
    expected: Callable[[Any, Events], dict[str, Any]],
    normal: Callable[[dict[str, Any]], dict[str, Any]],
) -> Events:
    """Events left when dropping any one more would lose the difference at ``place``."""

    def still(some: Events) -> bool:
        return _differs(some, spec, engine, expected, normal) == place

    if not still(events):
        return events  # the difference needs the events spread over parts and the log
    kept = list(events)
    i = 0
    while i < len(kept):
        fewer = kept[:i] + kept[i + 1 :]
        if still(fewer):
            kept = fewer
        else:
            i += 1
    return kept


def _brief(e: dict[str, Any]) -> str:
    props = dict(e["properties"])
    time = datetime.fromtimestamp(props.pop("time") / 1000, UTC).isoformat(timespec="milliseconds")
    user = props.pop("distinct_id")
    for fixed in ("$insert_id", "mp_processing_time_ms"):
        props.pop(fixed)
    return f"  {user} {time} {e['event']} {props}"


ORACLE = settings(
    max_examples=int(os.environ.get("ORACLE_EXAMPLES", "80")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@ORACLE
@given(data=st.data())
def test_funnels_match_reference(data: st.DataObject) -> None:
    draw = data.draw
    tz = draw(st.sampled_from(ZONES))
    first, last = draw(st.sampled_from(DAY_RANGES))
    events = draw(streams(first, last, tz))
    specs = [draw(funnel_specs(first, last, tz)) for _ in range(3)]
    check_all(events, _places(draw, events), specs, answer, oracle.funnel)


# -- retention ---------------------------------------------------------------------------

BRACKETS = [None, None, [[0, 0], [1, 2]], [[1, 1], [2, 3]], [[1, 3]], [[0, 1], [3, 4]]]


def _ranges(unit: str) -> list[tuple[date, date]]:
    return DAY_RANGES if unit in ("day", "hour") else WIDE_RANGES


@st.composite
def retention_cases(draw: st.DrawFn) -> tuple[Events, list[RetentionSpec]]:
    unit = draw(st.sampled_from(PERIODS))
    first, last = draw(st.sampled_from(_ranges(unit)))
    tz = _zone(draw)
    reach = {"day": 6, "week": 30, "month": 100}[unit]
    events = draw(streams(first, last, tz, before=reach // 3, after=reach))
    specs = []
    for _ in range(3):
        measure = draw(st.sampled_from(MEASURES))
        specs.append(
            RetentionSpec(
                from_date=first,
                to_date=last,
                born=Step(event=_event_choice(draw), where=draw(st.sampled_from(FILTERS))),
                returning=draw(
                    st.sampled_from(
                        [Step(), Step(event="View"), Step(event=["Buy", "Open"], where=FILTERS[3])]
                    )
                ),
                retention_type=draw(st.sampled_from(["first_time", "recurring"])),
                unit=unit,
                periods=draw(st.integers(0, 4)),
                mode=draw(st.sampled_from(["on", "on_or_after"])),
                brackets=draw(st.sampled_from(BRACKETS)),
                alignment=draw(st.sampled_from(["calendar", "rolling"])),
                measure=measure,
                property=None if measure == "users" else "price",
                min_returns=draw(st.integers(1, 3)),
                where=draw(st.sampled_from(FILTERS)) if draw(st.integers(0, 2)) == 0 else None,
                timezone=tz,
            )
        )
    return events, specs


@ORACLE
@given(data=st.data())
def test_retention_matches_reference(data: st.DataObject) -> None:
    events, specs = data.draw(retention_cases())
    check_all(events, _places(data.draw, events), specs, answer, period_reference.retention)


# -- flows -------------------------------------------------------------------------------


@st.composite
def flows_specs(draw: st.DrawFn, first: date, last: date, tz: str | None) -> FlowsSpec:
    direction = draw(st.sampled_from(DIRECTIONS))
    end = None
    if direction == "after" and draw(st.integers(0, 2)) == 0:
        end = Step(event=draw(st.sampled_from(NAMES)))
    return FlowsSpec(
        from_date=first,
        to_date=last,
        anchor=Step(
            event=draw(st.sampled_from(NAMES)) if draw(st.integers(0, 3)) else _event_choice(draw),
            where=draw(st.sampled_from(FILTERS)) if draw(st.integers(0, 3)) == 0 else None,
        ),
        direction=direction,
        end=end,
        steps=draw(st.integers(1, 4)),
        hide=draw(st.lists(st.sampled_from(NAMES), max_size=1)),
        collapse_repeats=draw(st.booleans()),
        counting=draw(st.sampled_from(["uniques", "totals"])),
        window=draw(st.sampled_from([*LENGTHS[1:], Length(7, "day")])),
        top=draw(st.integers(1, 3)),
        breakdown=draw(st.sampled_from([None, None, Breakdown(property="browser")])),
        limit=draw(st.integers(1, 2)),
        where=draw(st.sampled_from(FILTERS)) if draw(st.integers(0, 2)) == 0 else None,
        timezone=tz,
    )


@ORACLE
@given(data=st.data())
def test_flows_match_reference(data: st.DataObject) -> None:
    draw = data.draw
    tz = _zone(draw)
    first, last = draw(st.sampled_from(DAY_RANGES))
    events = draw(streams(first, last, tz))
    specs = [draw(flows_specs(first, last, tz)) for _ in range(3)]
    check_all(events, _places(draw, events), specs, answer, oracle.flows, oracle.sorted_flows)


# -- frequency and lifecycle -------------------------------------------------------------


@ORACLE
@given(data=st.data())
def test_frequency_matches_reference(data: st.DataObject) -> None:
    draw = data.draw
    unit = draw(st.sampled_from(PERIODS))
    first, last = draw(st.sampled_from(_ranges(unit)))
    tz = _zone(draw)
    events = draw(streams(first, last, tz, before=3, after=3))
    specs = [
        FrequencySpec(
            from_date=first,
            to_date=last,
            event=_event_choice(draw),
            where=draw(st.sampled_from(FILTERS)),
            unit=unit,
            addiction_unit="hour" if unit == "day" else draw(st.sampled_from(["hour", "day"])),
            timezone=tz,
        )
        for _ in range(3)
    ]
    check_all(events, _places(draw, events), specs, answer, period_reference.frequency)


@ORACLE
@given(data=st.data())
def test_lifecycle_matches_reference(data: st.DataObject) -> None:
    draw = data.draw
    unit = draw(st.sampled_from(PERIODS))
    first, last = draw(st.sampled_from(_ranges(unit)))
    tz = _zone(draw)
    reach = {"day": 3, "week": 15, "month": 40}[unit]
    events = draw(streams(first, last, tz, before=reach, after=reach))
    specs = [
        LifecycleSpec(
            from_date=first,
            to_date=last,
            event=_event_choice(draw),
            where=draw(st.sampled_from(FILTERS)),
            unit=unit,
            timezone=tz,
        )
        for _ in range(3)
    ]
    check_all(events, _places(draw, events), specs, answer, period_reference.lifecycle)
