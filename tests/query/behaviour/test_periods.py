"""Retention, frequency and lifecycle golden cases: a few users whose answers are worked out
by hand, one table per report, and specs that must fail with a message naming the fault."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from tests.query.answers import answer
from tests.query.store import Event, event, new_project, reader, store
from trackway.query.behaviour.spec import FrequencySpec, LifecycleSpec, RetentionSpec
from trackway.query.errors import SpecError

OCT30, NOV2, NOV3, NOV4, NOV5 = (date(2026, 10, 30), *(date(2026, 11, d) for d in (2, 3, 4, 5)))


def at(day: date, hour: float, tz: str = "UTC") -> int:
    moment = datetime.combine(day, datetime.min.time(), ZoneInfo(tz)) + timedelta(hours=hour)
    return int(moment.timestamp() * 1000)


# Nov 2 is a Monday. "Open" is the birth event; every event is a return by default.
EVENTS: list[Event] = [
    event("Open", "u1", at(NOV2, 10), "a1"),
    event("Buy", "u1", at(NOV3, 9), "a2", amount=5),
    event("Open", "u1", at(NOV5, 12), "a3"),
    event("Open", "u2", at(NOV2, 8), "b1"),
    event("Buy", "u2", at(NOV2, 20), "b2", amount=7),
    event("Buy", "u2", at(NOV2, 21), "b3", amount="x"),  # not a number
    event("Open", "u3", at(OCT30, 10), "c1"),  # born before the range
    event("Open", "u3", at(NOV3, 10), "c2"),
    event("Buy", "u3", at(NOV4, 10), "c3", amount=2),
    event("Open", "u4", at(NOV3, 23), "d1"),
    event("Open", "u4", at(NOV4, 1), "d2"),
    event("Buy", "u5", at(NOV2, 12), "e1", amount=1),  # never born
]


def _run(tmp_path: Path, runner: Any, spec_type: Any, fields: dict[str, Any]) -> Any:
    project = new_project(tmp_path)
    store(tmp_path, project, [EVENTS], [])
    return runner(reader(tmp_path), project, msgspec.convert(fields, spec_type))


def retention(tmp_path: Path, **fields: Any) -> dict[str, Any]:
    spec = {"from_date": "2026-11-02", "to_date": "2026-11-03", "born": {"event": "Open"}}
    spec["periods"] = 3
    return _run(tmp_path, answer, RetentionSpec, {**spec, **fields})  # type: ignore[no-any-return]


RETENTION = [
    pytest.param({}, [1, 1, 0, 1], [0, 1, 0, 0], id="first time: u3 was born before"),
    pytest.param(
        {"retention_type": "recurring"}, [1, 1, 0, 1], [0, 2, 0, 0], id="recurring: u3 too"
    ),
    pytest.param({"min_returns": 2}, [1, 0, 0, 0], [0, 0, 0, 0], id="min_returns"),
    pytest.param({"mode": "on_or_after"}, [2, 1, 1, 1], [1, 1, 0, 0], id="on or after"),
    pytest.param(
        {"mode": "on_or_after", "periods": 1}, [2, 1], [1, 1], id="on or after past the last"
    ),
    pytest.param({"alignment": "rolling"}, [2, 0, 0, 1], [1, 0, 0, 0], id="rolling 24 hours"),
    pytest.param({"brackets": [[0, 0], [1, 2], [3, 3]]}, [1, 1, 1], [0, 1, 0], id="brackets"),
    pytest.param(
        {"brackets": [[0, 0], [1, 2], [3, 3]], "mode": "on_or_after"},
        [2, 1, 1],
        [1, 1, 0],
        id="brackets on or after",
    ),
    pytest.param(
        {"brackets": [[1, 1], [3, 5]], "min_returns": 1}, [1, 1], [1, 0], id="brackets gap"
    ),
    pytest.param({"returning": {"event": "Buy"}}, [1, 1, 0, 0], [0, 0, 0, 0], id="returning Buy"),
    pytest.param(
        {"where": 'event["name"] != "Buy"'}, [0, 0, 0, 1], [0, 1, 0, 0], id="global filter"
    ),
]


@pytest.mark.parametrize(("fields", "nov2", "nov3"), RETENTION)
def test_retention_counts(
    tmp_path: Path, fields: dict[str, Any], nov2: list[int], nov3: list[int]
) -> None:
    result = retention(tmp_path, **fields)
    assert [c["cohort"] for c in result["cohorts"]] == ["2026-11-02", "2026-11-03"]
    assert [c["counts"] for c in result["cohorts"]] == [nov2, nov3]
    total = [a + b for a, b in zip(nov2, nov3, strict=True)]
    assert result["total"]["counts"] == total
    assert result["total"]["size"] == sum(c["size"] for c in result["cohorts"])


def test_retention_shape(tmp_path: Path) -> None:
    result = retention(tmp_path, brackets=[[1, 1], [2, 7]])
    assert result["periods"] == ["1", "2-7"]
    assert (result["unit"], result["timezone"]) == ("day", "UTC")
    assert [c["size"] for c in result["cohorts"]] == [2, 1]
    assert "values" not in result["total"]


def test_retention_week(tmp_path: Path) -> None:
    result = retention(tmp_path, unit="week", periods=1)
    assert result["cohorts"] == [{"cohort": "2026-11-02", "size": 3, "counts": [3, 0]}]


MEASURES = [
    pytest.param("sum", [7.0, 5.0, 0.0, 0.0], [7.0, 5.0, 0.0, 0.0], id="sum"),
    pytest.param("average", [7.0, 5.0, None, None], [7.0, 5.0, None, None], id="average"),
]


@pytest.mark.parametrize(("measure", "nov2", "total"), MEASURES)
def test_retention_measures(
    tmp_path: Path, measure: str, nov2: list[Any], total: list[Any]
) -> None:
    result = retention(tmp_path, returning={"event": "Buy"}, measure=measure, property="amount")
    assert result["cohorts"][0]["values"] == nov2
    assert result["total"]["values"] == total


def test_retention_measure_on_or_after(tmp_path: Path) -> None:
    """u1's Buy in period 1 adds to periods 0 and 1; u2's in period 0 to period 0 only."""
    result = retention(
        tmp_path, returning={"event": "Buy"}, measure="sum", property="amount", mode="on_or_after"
    )
    assert result["cohorts"][0]["counts"] == [2, 1, 0, 0]
    assert result["cohorts"][0]["values"] == [12.0, 5.0, 0.0, 0.0]


BAD_RETENTION = [
    pytest.param({"periods": -1}, "`periods` between 0 and 400", id="negative periods"),
    pytest.param({"periods": 58, "unit": "week"}, "between 0 and 57", id="too many weeks"),
    pytest.param({"brackets": []}, "at least one bracket", id="no brackets"),
    pytest.param({"brackets": [[2, 1]]}, "first <= last", id="reversed bracket"),
    pytest.param({"brackets": [[1]]}, "[first, last]", id="short bracket"),
    pytest.param({"brackets": [[1, 3], [3, 4]]}, "without overlap", id="overlap"),
    pytest.param({"measure": "sum"}, "`property`", id="sum without property"),
    pytest.param({"min_returns": 0}, "`min_returns`", id="min_returns 0"),
    pytest.param({"to_date": "2026-11-01"}, "on or after `from_date`", id="dates reversed"),
    pytest.param({"from_date": "0001-01-01"}, "`from_date` on or after", id="too early"),
    pytest.param({"timezone": "Mars/Olympus"}, "IANA", id="bad zone"),
    pytest.param({"born": {"min_gap": {"length": 1}}}, "min_gap", id="gap in born"),
]


@pytest.mark.parametrize(("fields", "message"), BAD_RETENTION)
def test_retention_rejects(tmp_path: Path, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace("[", r"\[")):
        retention(tmp_path, **fields)


def frequency(tmp_path: Path, **fields: Any) -> dict[str, Any]:
    spec = {"from_date": "2026-11-02", "to_date": "2026-11-08", **fields}
    return _run(tmp_path, answer, FrequencySpec, spec)  # type: ignore[no-any-return]


def test_frequency_days_of_a_week(tmp_path: Path) -> None:
    """Active days: u1 3, u3 2, u4 2, u2 1, u5 1."""
    result = frequency(tmp_path)
    assert result["buckets"] == ["2026-11-02"]
    assert result["distribution"] == [[2, 2, 1, 0, 0, 0, 0]]
    assert result["at_least"] == [[5, 3, 1, 0, 0, 0, 0]]


def test_frequency_hours_of_a_day(tmp_path: Path) -> None:
    result = frequency(tmp_path, to_date="2026-11-02", unit="day", addiction_unit="hour")
    assert result["distribution"] == [[2, 0, 1] + [0] * 21]
    assert result["at_least"] == [[3, 1, 1] + [0] * 21]


def test_frequency_local_hours(tmp_path: Path) -> None:
    """Clocks go back in Paris on 2026-10-25: that day has 25 hours."""
    result = frequency(
        tmp_path,
        from_date="2026-10-25",
        to_date="2026-10-26",
        unit="day",
        addiction_unit="hour",
        timezone="Europe/Paris",
    )
    assert [len(d) for d in result["distribution"]] == [25, 24]


def test_frequency_rejects_equal_units(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="finer than `unit`"):
        frequency(tmp_path, unit="day", addiction_unit="day")


def test_lifecycle(tmp_path: Path) -> None:
    spec = {"from_date": "2026-11-02", "to_date": "2026-11-04", "unit": "day", "event": "Open"}
    result = _run(tmp_path, answer, LifecycleSpec, spec)
    assert result == {
        "unit": "day",
        "timezone": "UTC",
        "buckets": ["2026-11-02", "2026-11-03", "2026-11-04"],
        "new": [2, 1, 0],
        "returning": [0, 0, 1],
        "resurrecting": [0, 1, 0],
        "dormant": [0, 2, 1],
    }


@pytest.mark.parametrize(
    ("first", "last"),
    [
        pytest.param("2026-11-02", "2026-11-08", id="whole week"),
        pytest.param("2026-11-04", "2026-11-04", id="a day of it: still the whole week"),
    ],
)
def test_lifecycle_weeks(tmp_path: Path, first: str, last: str) -> None:
    """u3's Oct 30 is in the week before: returning; u1, u2 and u4 are new."""
    spec = {"from_date": first, "to_date": last, "event": "Open"}
    result = _run(tmp_path, answer, LifecycleSpec, spec)
    assert result["buckets"] == ["2026-11-02"]
    assert (result["new"], result["returning"], result["dormant"]) == ([3], [1], [0])


def test_frequency_cut_week(tmp_path: Path) -> None:
    """A range from Wednesday has five days of its first week: u1 (Nov 5), u3 and u4
    (Nov 4) on one day each."""
    result = frequency(tmp_path, from_date="2026-11-04")
    assert result["distribution"] == [[3, 0, 0, 0, 0]]
