"""Insights golden cases: small event sets whose results are worked out by hand, one table
per feature, and hostile specs that must fail fast with a UserError naming the fault."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from tests.query.answers import answer
from tests.query.store import Event, event, new_project, reader, store, write_parts, write_tail
from trackway.errors import UserError
from trackway.query.insights.spec import InsightsSpec
from trackway.query.reports import REPORTS, decode_spec

NOV2, NOV3 = date(2026, 11, 2), date(2026, 11, 3)  # a Monday and a Tuesday


def at(day: date, hour: float, tz: str = "UTC") -> int:
    moment = datetime.combine(day, datetime.min.time(), ZoneInfo(tz)) + timedelta(hours=hour)
    return int(moment.timestamp() * 1000)


def _events() -> list[Event]:
    """Views on Nov 2-3 (UTC) plus older activity for the active-user windows."""
    return [
        event("View", "u1", at(NOV2, 10), "v1", browser="Chrome", price=10),
        event("View", "u1", at(NOV2, 11), "v2", browser="Chrome", price=20),
        event("View", "u2", at(NOV2, 12), "v3", browser="Firefox", price=1),
        event("View", "u1", at(NOV3, 10), "v4", browser="Firefox", price=30),
        event("View", "u3", at(NOV3, 9), "v5", browser="Chrome", price="x"),  # not a number
        event("Buy", "u3", at(NOV3, 9), "b1", price=5),
        event("View", "u4", at(date(2026, 10, 28), 1), "v6"),  # in the 7 days up to Nov 3
        event("View", "u5", at(date(2026, 10, 10), 1), "v7"),  # in the 30 days only
    ]


EVENTS = _events()


def report(
    tmp_path: Path, events: list[Event], tail: list[Event] | None = None, **fields: Any
) -> dict[str, Any]:
    """Store ``events`` as committed parts (and ``tail`` in the log), run the spec."""
    project = new_project(tmp_path)
    store(tmp_path, project, [events], tail or [])
    spec = {"from_date": NOV2, "to_date": NOV3, "metrics": [{"event": "View"}], **fields}
    return answer(reader(tmp_path), project, _decode(spec))


def _decode(fields: dict[str, Any]) -> InsightsSpec:
    return decode_spec(REPORTS["insights"], json.dumps(fields, default=str).encode())


def series(result: dict[str, Any]) -> dict[tuple[Any, ...], tuple[list[Any], Any]]:
    return {(s["metric"], *s["segment"]): (s["values"], s["total"]) for s in result["series"]}


def approx(value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, list):
        return [approx(v) for v in value]
    return pytest.approx(value, rel=1e-12, abs=1e-12)


MEASURES = [
    pytest.param("total", None, [3, 2], 5, id="total"),
    pytest.param("unique", None, [2, 2], 3, id="unique: the total is not a sum"),
    pytest.param("dau", None, [2, 2], 2.0, id="dau"),
    pytest.param("wau", None, [3, 4], 3.5, id="wau reaches 6 days back"),
    pytest.param("mau", None, [4, 5], 4.5, id="mau reaches 29 days back"),
    pytest.param("per_user_avg", None, [1.5, 1.0], 5 / 3, id="per_user_avg"),
    pytest.param("per_user_median", None, [1.5, 1.0], 1.0, id="per_user_median"),
    pytest.param(
        "per_user_distribution",
        None,
        [1.5, 1.0],
        {"1": 2, "2": 0, "3": 1, "4": 0, "5": 0, "6-10": 0, "11-20": 0, "21-50": 0}
        | {"51-100": 0, "101+": 0},
        id="per_user_distribution",
    ),
    pytest.param("sum", "price", [31.0, 30.0], 61.0, id="sum skips non-numbers"),
    pytest.param("avg", "price", [31 / 3, 30.0], 15.25, id="avg"),
    pytest.param("min", "price", [1.0, 30.0], 1.0, id="min"),
    pytest.param("max", "price", [20.0, 30.0], 30.0, id="max"),
    pytest.param("median", "price", [10.0, 30.0], 15.0, id="median interpolates"),
    pytest.param("p25", "price", [5.5, 30.0], 7.75, id="p25"),
    pytest.param("p75", "price", [15.0, 30.0], 22.5, id="p75"),
    pytest.param("p90", "price", [18.0, 30.0], 27.0, id="p90"),
    pytest.param("p99", "price", [19.8, 30.0], 29.7, id="p99"),
    pytest.param("distinct", "browser", [2, 2], 2, id="distinct browsers"),
    pytest.param("distinct", "price", [3, 2], 5, id="distinct prices, text included"),
]


@pytest.mark.parametrize(("measure", "prop", "values", "total"), MEASURES)
def test_measure(
    tmp_path: Path, measure: str, prop: str | None, values: list[Any], total: Any
) -> None:
    metric = {"event": "View", "measure": measure, "property": prop}
    result = report(tmp_path, EVENTS, metrics=[metric])
    assert result["buckets"] == ["2026-11-02", "2026-11-03"]
    assert series(result) == {("A", ""): (approx(values), approx(total))}


def test_distinct_does_not_count_a_missing_property_as_a_value(tmp_path: Path) -> None:
    """u4's and u5's views have no browser: `undefined` is not a distinct value."""
    metric = {"event": "View", "measure": "distinct", "property": "browser"}
    result = report(tmp_path, EVENTS, metrics=[metric], from_date=date(2026, 10, 28))
    assert series(result)[("A", "")][1] == 2  # Chrome, Firefox


WINDOWS = [
    pytest.param("total", {"cumulative": True}, [3, 5], 5, id="cumulative total"),
    pytest.param("unique", {"cumulative": True}, [2, 3], 3, id="cumulative unique users"),
    pytest.param("sum", {"cumulative": True}, [31.0, 61.0], 61.0, id="cumulative sum"),
    pytest.param("unique", {"rolling": 1}, [2, 2], 3, id="rolling 1 is per bucket"),
    pytest.param("unique", {"rolling": 2}, [2, 3], 3, id="rolling unique users"),
    pytest.param("sum", {"rolling": 2}, [31.0, 61.0], 61.0, id="rolling sum"),
    pytest.param("total", {"rolling": 5}, [3, 5], 5, id="window longer than the range"),
]


@pytest.mark.parametrize(("measure", "options", "values", "total"), WINDOWS)
def test_cumulative_and_rolling(
    tmp_path: Path, measure: str, options: dict[str, Any], values: list[Any], total: Any
) -> None:
    metric = {"event": "View", "measure": measure, "property": "price"}
    result = report(tmp_path, EVENTS, metrics=[metric], **options)
    assert series(result) == {("A", ""): (approx(values), approx(total))}


def test_duplicates_count_once_and_the_latest_processed_copy_wins(tmp_path: Path) -> None:
    """The same event (name, distinct_id, time, $insert_id) in a part, another part and the
    log tail: counted once, with the properties of the highest mp_processing_time_ms."""
    first = event("View", "u1", at(NOV2, 10), "dup", 100, price=1)
    second = event("View", "u1", at(NOV2, 10), "dup", 300, price=3)
    third = event("View", "u1", at(NOV2, 10), "dup", 200, price=2)
    other_id = event("View", "u1", at(NOV2, 10), "other", 50, price=7)
    project = new_project(tmp_path)
    store(tmp_path, project, [[first, other_id], [third]], [second])
    spec = _decode(
        {
            "from_date": NOV2,
            "to_date": NOV2,
            "metrics": [
                {"event": "View"},
                {"event": "View", "measure": "sum", "property": "price"},
            ],
        }
    )
    result = answer(reader(tmp_path), project, spec)
    assert series(result) == {("A", ""): ([2.0], 2), ("B", ""): ([10.0], 10.0)}


DST_DAYS = [
    pytest.param(
        "America/New_York",
        date(2026, 3, 8),
        [(0.5, 1), (22.5, 1), (23.5, 2)],
        {"2026-03-08": 2, "2026-03-09": 2},
        id="New York: the 23-hour day is one bucket",
    ),
    pytest.param(
        "America/New_York",
        date(2026, 11, 1),
        [(0.5, 1), (24.5, 1), (25.5, 2)],
        {"2026-11-01": 2, "2026-11-02": 2},
        id="New York: the 25-hour day is one bucket",
    ),
    pytest.param(
        "Europe/Paris",
        date(2026, 3, 29),
        [(0.0, 1), (22.99, 1), (23.0, 1)],
        {"2026-03-29": 2, "2026-03-30": 1},
        id="Paris: 23 hours after midnight is the next day",
    ),
]


@pytest.mark.parametrize(("zone", "day", "offsets", "expected"), DST_DAYS)
def test_dst_days(
    tmp_path: Path,
    zone: str,
    day: date,
    offsets: list[tuple[float, int]],
    expected: dict[str, int],
) -> None:
    """Events at hours (elapsed since local midnight) on a DST day, counted per local day."""
    midnight = datetime.combine(day, datetime.min.time(), ZoneInfo(zone)).astimezone(UTC)
    times = [
        int((midnight + timedelta(hours=hours)).timestamp() * 1000)
        for hours, copies in offsets
        for _ in range(copies)
    ]
    events = [event("View", "u1", ms, f"e{n}") for n, ms in enumerate(times)]
    result = report(tmp_path, events, from_date=day, to_date=day + timedelta(days=1), timezone=zone)
    assert dict(zip(result["buckets"], series(result)[("A", "")][0], strict=True)) == expected
    assert result["timezone"] == zone


def test_hours_on_the_autumn_dst_day(tmp_path: Path) -> None:
    """01:30 happens twice in New York on Nov 1: two buckets, labelled with their offsets."""
    day = date(2026, 11, 1)
    first = int(datetime(2026, 11, 1, 5, 30, tzinfo=UTC).timestamp() * 1000)  # 01:30 EDT
    second = first + 3_600_000  # 01:30 EST
    events = [event("View", "u1", first, "a"), event("View", "u1", second, "b")]
    events.append(event("View", "u1", second + 1, "c"))
    result = report(
        tmp_path, events, from_date=day, to_date=day, unit="hour", timezone="America/New_York"
    )
    values = dict(zip(result["buckets"], series(result)[("A", "")][0], strict=True))
    assert len(values) == 25
    assert values["2026-11-01 01:00-0400"] == 1
    assert values["2026-11-01 01:00-0500"] == 2


LONG_UNITS = [
    pytest.param(
        "week",
        date(2026, 10, 28),
        date(2026, 11, 10),
        {"2026-10-26": 1, "2026-11-02": 5, "2026-11-09": 0},
        id="weeks from Monday (the first one starts with the report)",
    ),
    pytest.param(
        "month",
        date(2026, 10, 1),
        date(2026, 11, 30),
        {"2026-10-01": 2, "2026-11-01": 5},
        id="months",
    ),
    pytest.param(
        "quarter",
        date(2026, 9, 1),
        date(2026, 12, 31),
        {"2026-07-01": 0, "2026-10-01": 7},
        id="quarters",
    ),
]


@pytest.mark.parametrize(("unit", "first", "last", "expected"), LONG_UNITS)
def test_week_month_quarter(
    tmp_path: Path, unit: str, first: date, last: date, expected: dict[str, int]
) -> None:
    result = report(tmp_path, EVENTS, from_date=first, to_date=last, unit=unit)
    assert dict(zip(result["buckets"], series(result)[("A", "")][0], strict=True)) == expected


def test_week_averages_active_users_over_its_days(tmp_path: Path) -> None:
    """A week bucket of dau shows the mean of its days in the range (Nov 2-3: 2 and 2, the
    other five days of the week 0), the total the mean of all days."""
    metric = {"event": "View", "measure": "dau"}
    result = report(tmp_path, EVENTS, metrics=[metric], unit="week", to_date=date(2026, 11, 8))
    assert series(result) == {("A", ""): ([approx(4 / 7)], approx(4 / 7))}


def test_compare_previous_period(tmp_path: Path) -> None:
    result = report(tmp_path, EVENTS, from_date=NOV3, to_date=NOV3, compare="previous_period")
    assert series(result) == {("A", ""): ([2.0], 2)}
    assert result["previous"]["buckets"] == ["2026-11-02"]
    assert [(s["segment"], s["values"], s["total"]) for s in result["previous"]["series"]] == [
        ([""], [3.0], 3)
    ]


BREAKDOWNS = [
    pytest.param(
        {"breakdowns": [{"property": "browser"}]},
        {("A", "Chrome"): ([2, 1], 3), ("A", "Firefox"): ([1, 1], 2)},
        id="by a property",
    ),
    pytest.param(
        {"breakdowns": [{"property": "browser"}], "limit": 1},
        {("A", "Chrome"): ([2, 1], 3), ("A", "$other"): ([1, 1], 2)},
        id="top 1 and $other",
    ),
    pytest.param(
        {
            "breakdowns": [{"property": "browser"}],
            "limit": 1,
            "metrics": [{"event": "View", "measure": "unique"}],
        },
        # Chrome: u1, u3; Firefox: u1, u2 - a tie, broken by label order.
        {("A", "Chrome"): ([1, 1], 2), ("A", "$other"): ([1, 1], 2)},
        id="unique users, tied",
    ),
    pytest.param(
        {
            "breakdowns": [{"property": "price"}],
            "limit": 1,
            "metrics": [{"event": "View", "measure": "unique"}],
        },
        # One user per price; $other holds u1 (10, 20, 30) and u3 ("x"): 2 users, not 4.
        {("A", "1"): ([1, 0], 1), ("A", "$other"): ([1, 2], 2)},
        id="unique users of $other are not a sum",
    ),
    pytest.param(
        {"breakdowns": [{"property": "browser"}, {"property": "price"}], "limit": 3},
        {
            ("A", "Chrome", "10"): ([1, 0], 1),
            ("A", "Chrome", "20"): ([1, 0], 1),
            ("A", "Chrome", "x"): ([0, 1], 1),
            ("A", "$other"): ([1, 1], 2),
        },
        id="two breakdowns, ties in label order",
    ),
    pytest.param(
        {"breakdowns": [{"property": "price", "buckets": [0, 15, 100]}]},
        {("A", "0 - 15"): ([2, 0], 2), ("A", "15 - 100"): ([1, 1], 2)},
        id="explicit numeric buckets (non-numbers are left out)",
    ),
    pytest.param(
        {"breakdowns": [{"expression": 'properties["price"] > 15'}]},
        {
            ("A", "false"): ([2, 0], 2),
            ("A", "true"): ([1, 1], 2),
            ("A", "undefined"): ([0, 1], 1),
        },
        id="by an expression",
    ),
]


@pytest.mark.parametrize(("options", "expected"), BREAKDOWNS)
def test_breakdowns(
    tmp_path: Path, options: dict[str, Any], expected: dict[tuple[Any, ...], Any]
) -> None:
    result = report(tmp_path, EVENTS, **options)
    assert series(result) == {k: (approx(v), t) for k, (v, t) in expected.items()}


def test_numbers_booleans_null_and_undefined_labels(tmp_path: Path) -> None:
    values: list[Any] = [2, 2.0, 2.5, True, "true", None, "", "x"]
    events = [
        event("View", f"u{i}", at(NOV2, 1), f"e{i}", **({"v": v} if i < len(values) else {}))
        for i, v in enumerate([*values, "missing"])
    ]
    result = report(tmp_path, events, to_date=NOV2, breakdowns=[{"property": "v"}])
    assert {k[1:]: v[1] for k, v in series(result).items()} == {
        ("2",): 2,  # 2 and 2.0 share a label
        ("2.5",): 1,
        ("true",): 2,  # so do true and "true"
        ("null",): 1,
        ("",): 1,
        ("x",): 1,
        ("undefined",): 1,
    }


def test_auto_buckets_are_one_set_of_edges_for_the_whole_report(tmp_path: Path) -> None:
    """u5 and u1 live on different shards; the edges cover every value of the report:
    1..500 in steps of 50."""
    events = [
        event("View", "u5", at(NOV2, 1), "a", n=1),
        event("View", "u5", at(NOV2, 2), "b", n=2),
        event("View", "u1", at(NOV2, 1), "c", n=100),
        event("View", "u1", at(NOV2, 2), "d", n=500),
    ]
    result = report(
        tmp_path, events, to_date=NOV2, breakdowns=[{"property": "n", "buckets": "auto"}]
    )
    assert {k[1:]: v[1] for k, v in series(result).items()} == {
        ("0 - 50",): 2,
        ("100 - 150",): 1,
        ("500 - 550",): 1,
    }


def test_a_numeric_bucket_miss_is_left_out_with_several_breakdowns_too(tmp_path: Path) -> None:
    """With one breakdown a value outside the edges has no segment; combined with a second
    breakdown it must not reappear under an empty label."""
    events = [
        event("View", "u1", at(NOV2, 1), "a", n=5, b="x"),
        event("View", "u1", at(NOV2, 2), "b", n=500, b="x"),
    ]
    one = report(
        tmp_path / "one", events, to_date=NOV2, breakdowns=[{"property": "n", "buckets": [0, 10]}]
    )
    assert set(series(one)) == {("A", "0 - 10")}
    two = report(
        tmp_path / "two",
        events,
        to_date=NOV2,
        breakdowns=[{"property": "n", "buckets": [0, 10]}, {"property": "b"}],
    )
    assert series(two) == {("A", "0 - 10", "x"): ([1.0], 1)}


def test_ties_are_broken_by_label_order(tmp_path: Path) -> None:
    """Four segments of one event each, their users on shards 0, 1, 2 and 3: the page shows
    the first labels in label order, wherever the users are stored."""
    events = [
        event("View", user, at(NOV2, 1), user, b=label)
        for user, label in [("u5", "delta"), ("u11", "charlie"), ("u1", "bravo"), ("u3", "alpha")]
    ]
    result = report(tmp_path, events, to_date=NOV2, breakdowns=[{"property": "b"}], limit=2)
    assert [s["segment"] for s in result["series"]] == [["alpha"], ["bravo"], ["$other"]]


def test_segment_offset_pages_through_the_long_tail(tmp_path: Path) -> None:
    """Seven segments with 7, 6, ..., 1 events: pages of three list each segment once, in
    rank order, and `$other` always holds exactly what the page does not show."""
    events = [
        event("View", f"u{n}", at(NOV2, 1) + k, f"s{n}-{k}", b=f"s{n}")
        for n in range(7)
        for k in range(7 - n)
    ]
    seen = []
    for offset in (0, 3, 6, 9):
        result = report(
            tmp_path / str(offset),
            events,
            to_date=NOV2,
            breakdowns=[{"property": "b"}],
            limit=3,
            segment_offset=offset,
        )
        shown = {k[1]: v[1] for k, v in series(result).items()}
        other = shown.pop("$other", 0)
        assert result["segments"] == {"total": 7, "offset": offset, "shown": len(shown)}
        assert other == 28 - sum(shown.values())
        seen += list(shown)
    assert seen == [f"s{n}" for n in range(7)]


def test_a_segment_only_a_later_metric_has_is_still_a_segment(tmp_path: Path) -> None:
    """Buy has a segment (browser undefined) that View, the first metric, never has."""
    metrics = [
        {"event": "View"},
        {"event": "Buy"},
        {"event": "Buy", "measure": "sum", "property": "price"},
        {"event": "Buy", "measure": "unique"},
        {"event": "Buy", "measure": "distinct", "property": "price"},
    ]
    result = report(tmp_path, EVENTS, metrics=metrics, breakdowns=[{"property": "browser"}])
    got = series(result)
    assert got[("B", "undefined")] == ([0.0, 1.0], 1)
    assert got[("C", "undefined")] == ([0.0, 5.0], 5.0)
    assert got[("D", "undefined")] == ([0.0, 1.0], 1)
    assert got[("A", "undefined")] == ([0.0, 0.0], 0)
    assert result["segments"]["total"] == 3


def test_a_shard_with_no_rows_in_range_and_an_expression_breakdown(tmp_path: Path) -> None:
    """u5's only event is in the log tail but a day before the report: its shard is scanned
    and yields no rows. The breakdown reads a number property (the expression path)."""
    inside = [event("View", "u1", at(NOV2, 1), "a", n=1)]
    before = [event("View", "u5", at(date(2026, 11, 1), 1), "b", n=2)]
    result = report(tmp_path, inside, tail=before, to_date=NOV2, breakdowns=[{"property": "n"}])
    assert series(result) == {("A", "1"): ([1.0], 1)}


@pytest.mark.parametrize(
    "breakdowns",
    [pytest.param([], id="no breakdown"), pytest.param([{"property": "browser"}], id="breakdown")],
)
def test_a_range_without_data(tmp_path: Path, breakdowns: list[dict[str, Any]]) -> None:
    far = {"from_date": date(2020, 1, 1), "to_date": date(2020, 1, 2), "breakdowns": breakdowns}
    result = report(tmp_path, EVENTS, **far)
    expected = (
        [] if breakdowns else [{"metric": "A", "segment": [""], "values": [0.0, 0.0], "total": 0}]
    )
    assert result["series"] == expected
    assert result["buckets"] == ["2020-01-01", "2020-01-02"]


FORMULAS = [
    pytest.param("A / B", [None, 2.0], 5.0, id="division by zero is null"),
    pytest.param("(A - B) / A * 100", [100.0, 50.0], 80.0, id="parentheses and constants"),
    pytest.param("A / (B - 1)", [-3.0, None], None, id="a zero denominator from arithmetic"),
    pytest.param("-A + 2 * B", [-3.0, 0.0], -3.0, id="unary minus and precedence"),
]


@pytest.mark.parametrize(("formula", "values", "total"), FORMULAS)
def test_formulas(tmp_path: Path, formula: str, values: list[Any], total: Any) -> None:
    result = report(
        tmp_path,
        EVENTS,
        metrics=[{"event": "View"}, {"event": "Buy"}],
        formulas=[{"name": "F", "expression": formula}],
    )
    assert series(result)[("F", "")] == (approx(values), approx(total))


def test_formula_over_named_metrics_as_in_the_docs(tmp_path: Path) -> None:
    """docs/insights.md names the first metric `revenue` and still writes `A / B`: letters
    are the metrics' positions, names only label the series."""
    result = report(
        tmp_path,
        EVENTS,
        metrics=[{"event": "View", "name": "views"}, {"event": "Buy"}],
        formulas=[{"name": "per buy", "expression": "A / B"}],
    )
    assert series(result)[("per buy", "")] == ([None, 2.0], 5.0)


def test_formula_over_a_distribution_is_refused_or_computed(tmp_path: Path) -> None:
    metric = {"event": "View", "measure": "per_user_distribution"}
    try:
        result = report(
            tmp_path, EVENTS, metrics=[metric], formulas=[{"name": "F", "expression": "A * 2"}]
        )
    except UserError as error:
        assert "per_user_distribution" in error.message
    else:
        assert series(result)[("F", "")][0] == [3.0, 2.0]


# (A century of minutes is tests/query/test_timebuckets.py's: refused, but slowly.)
HOURS = {"unit": "hour", "from_date": "2000-01-01", "to_date": "2099-12-31"}
HOSTILE = [
    pytest.param({"metrics": [{"measure": "bogus"}]}, "$.metrics[0].measure", id="unknown measure"),
    pytest.param({"unit": "year"}, "$.unit", id="bad unit"),
    pytest.param({"limit": 0}, "`limit`", id="limit 0"),
    pytest.param({"limit": 10_001}, "`limit`", id="limit too big"),
    pytest.param({"limit": "ten"}, "$.limit", id="limit not a number"),
    pytest.param({"segment_offset": -1}, "segment_offset", id="negative segment_offset"),
    pytest.param({"timezone": "Mars/Olympus"}, "Mars/Olympus", id="bad time zone"),
    pytest.param({"timezone": "../../etc/passwd"}, "IANA", id="time zone path"),
    pytest.param({"where": "true and " * 3000 + "true"}, "limit is", id="huge where"),
    pytest.param({"where": "(" * 500 + "true" + ")" * 500}, "deeper", id="deep where"),
    pytest.param({"where": "not " * 500 + "true"}, "deeper", id="deep not chain"),
    pytest.param({"where": 'frobnicate(properties["a"])'}, "frobnicate", id="unknown function"),
    pytest.param({"where": 'properties["a"] =='}, "position 18", id="where syntax error"),
    pytest.param(
        {"metrics": [{"event": "View", "where": 'properties["a"] = 1'}]},
        "position",
        id="metric where syntax error",
    ),
    pytest.param({"breakdowns": [{"expression": "1 +"}]}, "position", id="bad breakdown"),
    pytest.param({"breakdowns": [{}]}, "breakdowns[0]", id="empty breakdown"),
    pytest.param({"metrics": [{"measure": "sum"}]}, "metrics[0]", id="sum without a property"),
    pytest.param(
        {"metrics": [{"measure": "avg", "property": "price"}], "rolling": 2},
        "rolling",
        id="rolling average",
    ),
    pytest.param({"rolling": 0}, "rolling", id="rolling 0"),
    pytest.param({"metrics": []}, "metrics", id="no metrics"),
    pytest.param({"metrics": [{}] * 27}, "metrics", id="27 metrics"),
    pytest.param({"colour": "red"}, "colour", id="unknown field"),
    pytest.param({"from_date": "2026-11-04"}, "to_date", id="to_date before from_date"),
    pytest.param({"from_date": "2026-02-30"}, "from_date", id="no such day"),
    pytest.param(
        {"from_date": "9999-12-30", "to_date": "9999-12-31"}, "to_date", id="the last day of time"
    ),
    pytest.param(
        {"from_date": "0001-01-01", "to_date": "0001-01-02", "metrics": [{"measure": "wau"}]},
        "from_date",
        id="wau before the first day of time",
    ),
    pytest.param(
        {"from_date": "0001-01-01", "to_date": "0001-01-02", "compare": "previous_period"},
        "from_date",
        id="previous period before the first day of time",
    ),
    pytest.param(HOURS, "hour buckets", id="a century of hours"),
    pytest.param(
        {"from_date": "0001-03-01", "to_date": "0001-12-31", "compare": "previous_period"},
        "from_date",
        id="a long previous period before the first day of time",
    ),
    pytest.param(
        {
            "from_date": "0001-03-01",
            "to_date": "0001-03-31",
            "compare": "previous_period",
            "metrics": [{"measure": "mau"}],
        },
        "from_date",
        id="mau of the previous period before the first day of time",
    ),
    pytest.param({"formulas": [{"name": "F", "expression": "A / Z"}]}, "'Z'", id="unknown letter"),
    pytest.param({"formulas": [{"name": "F", "expression": "A $ 2"}]}, "'$'", id="formula char"),
    pytest.param({"formulas": [{"name": "F", "expression": "A /"}]}, "end", id="formula end"),
    pytest.param(
        {"formulas": [{"name": "F", "expression": "(" * 60 + "A" + ")" * 60}]},
        "nested",
        id="deep formula",
    ),
    pytest.param(
        {"formulas": [{"name": "F", "expression": "A+" * 600 + "A"}]}, "1000", id="long formula"
    ),
]


@pytest.mark.parametrize(("fields", "fragment"), HOSTILE)
def test_hostile_specs_fail_fast_with_a_user_error(
    tmp_path: Path, fields: dict[str, Any], fragment: str
) -> None:
    project = new_project(tmp_path)
    write_parts(tmp_path, project, EVENTS)
    spec = {"from_date": NOV2, "to_date": NOV3, "metrics": [{"event": "View"}], **fields}
    started = time.monotonic()
    with pytest.raises(UserError) as raised:
        answer(reader(tmp_path), project, _decode(spec))
    assert time.monotonic() - started < 2.0
    assert fragment in raised.value.message


@pytest.mark.parametrize(
    ("fields", "labels"),
    [
        pytest.param(
            {"from_date": "9999-12-01", "to_date": "9999-12-01", "unit": "month"},
            ["9999-12-01"],
            id="the last month of time",
        ),
        pytest.param(
            {"from_date": "9999-11-01", "to_date": "9999-12-01", "unit": "quarter"},
            ["9999-10-01"],
            id="the last quarter of time",
        ),
    ],
)
def test_the_last_buckets_of_time_are_computed(
    tmp_path: Path, fields: dict[str, Any], labels: list[str]
) -> None:
    project = new_project(tmp_path)
    spec = {"metrics": [{"event": "View"}], **fields}
    result = answer(reader(tmp_path), project, _decode(spec))
    assert result["buckets"] == labels
    assert result["series"][0]["values"] == [0]


def test_the_log_tail_is_read(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    write_tail(tmp_path, project, EVENTS[:3])
    write_parts(tmp_path, project, EVENTS[3:])
    spec = _decode({"from_date": NOV2, "to_date": NOV3, "metrics": [{"event": "View"}]})
    assert series(answer(reader(tmp_path), project, spec)) == {("A", ""): ([3.0, 2.0], 5)}


def test_the_project_time_zone_is_the_default(tmp_path: Path) -> None:
    """The views of Nov 2 and 3 (UTC) fall on the same days in New York (05:00-07:00 and
    04:00-05:00); a view at 03:00 UTC on Nov 3 is still Nov 2 there."""
    project = msgspec.structs.replace(new_project(tmp_path), timezone="America/New_York")
    write_parts(tmp_path, project, EVENTS)
    spec = _decode({"from_date": NOV2, "to_date": NOV3, "metrics": [{"event": "View"}]})
    result = answer(reader(tmp_path), project, spec)
    assert result["timezone"] == "America/New_York"
    assert series(result) == {("A", ""): ([3.0, 2.0], 5)}
    late = [event("View", "u9", at(NOV3, 3), "late")]  # 22:00 on Nov 2 in New York
    write_parts(tmp_path, project, late)
    assert series(answer(reader(tmp_path), project, spec)) == {("A", ""): ([4.0, 2.0], 6)}


def test_daily_active_users_by_the_hour_are_refused_or_the_days_value(tmp_path: Path) -> None:
    """DAU is a per-day number; an hour bucket must not show 0 for a day with two active
    users (the engine puts the day's value in the midnight hour and 0 elsewhere)."""
    metric = {"event": "View", "measure": "dau"}
    try:
        result = report(tmp_path, EVENTS, metrics=[metric], to_date=NOV2, unit="hour")
    except UserError as error:
        assert "dau" in error.message
    else:
        assert series(result)[("A", "")][0] == [2.0] * 24
