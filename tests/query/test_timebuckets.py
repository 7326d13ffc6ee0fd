"""Time buckets against zoneinfo: every minute of days around DST changes lands in the bucket
its local wall clock says, for every unit, in zones with whole-hour, half-hour and
45-minute offsets and DST steps; labels are unique."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.reference import insights as reference
from trackway.query.errors import SpecError
from trackway.query.timebuckets import UNITS, buckets

HOUR = 3_600_000

# (zone, a day with a DST change or an odd offset): the report covers that day and its
# neighbours.
DAYS = [
    pytest.param("UTC", date(2026, 6, 1), id="UTC"),
    pytest.param("America/New_York", date(2026, 3, 8), id="New York spring forward"),
    pytest.param("America/New_York", date(2026, 11, 1), id="New York fall back"),
    pytest.param("Europe/Paris", date(2026, 3, 29), id="Paris spring forward"),
    pytest.param("Europe/Paris", date(2026, 10, 25), id="Paris fall back"),
    pytest.param("Australia/Lord_Howe", date(2026, 4, 5), id="Lord Howe half-hour fall back"),
    pytest.param("Australia/Lord_Howe", date(2026, 10, 4), id="Lord Howe half-hour forward"),
    pytest.param("Asia/Kolkata", date(2026, 6, 1), id="Kolkata +05:30"),
    pytest.param("Asia/Kathmandu", date(2026, 6, 1), id="Kathmandu +05:45"),
    pytest.param("America/Santiago", date(2026, 4, 5), id="Santiago fall back"),
    pytest.param("America/Santiago", date(2026, 9, 6), id="Santiago spring forward"),
]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _instants(start: int, end: int, tz: ZoneInfo) -> np.ndarray:
    """Every minute's first and last millisecond within two hours of an offset change (and of
    the range's ends); every 13th minute elsewhere."""
    minutes = np.arange(start, end, 60_000, dtype=np.int64)
    offsets = np.array([reference.local(int(m), tz).utcoffset() for m in minutes[::15]])
    changes = [*minutes[::15][1:][offsets[1:] != offsets[:-1]].tolist(), start, end]
    near = np.zeros(len(minutes), bool)
    for change in changes:
        near |= np.abs(minutes - change) <= 2 * HOUR
    near[::13] = True
    chosen = minutes[near]
    return np.concatenate([chosen, chosen + 59_999])


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize(("zone_name", "day"), DAYS)
def test_every_minute_lands_in_its_wall_clock_bucket(zone_name: str, day: date, unit: str) -> None:
    tz = ZoneInfo(zone_name)
    first, last = day - timedelta(days=1), day + timedelta(days=1)
    grid = buckets(first, last, unit, tz)
    keys, labels = reference.grid(first, last, unit, tz)
    assert list(grid.labels) == labels
    start = _ms(datetime.combine(first, datetime.min.time(), tz))
    end = _ms(datetime.combine(last + timedelta(days=1), datetime.min.time(), tz))
    assert (grid.start_ms, grid.end_ms) == (start, end)
    times = _instants(start - HOUR, end + HOUR, tz)
    position = {key: i for i, key in enumerate(keys)}
    expected = []
    for ms in times.tolist():
        moment = reference.local(ms, tz)
        inside = first <= moment.date() <= last
        expected.append(position[reference.bucket_key(moment, unit)] if inside else -1)
    got = grid.index(times)
    wrong = np.flatnonzero(got != np.array(expected))
    assert len(wrong) == 0, [
        (
            datetime.fromtimestamp(int(times[i]) / 1000, tz).isoformat(),
            grid.labels[got[i]] if got[i] >= 0 else None,
            labels[expected[i]] if expected[i] >= 0 else None,
        )
        for i in wrong[:5]
    ]


@pytest.mark.parametrize(
    ("zone_name", "day", "hours"),
    [
        pytest.param("America/New_York", date(2026, 3, 8), 23, id="23-hour day"),
        pytest.param("America/New_York", date(2026, 11, 1), 25, id="25-hour day"),
        pytest.param("Australia/Lord_Howe", date(2026, 4, 5), 24.5, id="24.5-hour day"),
        pytest.param("Europe/Paris", date(2026, 3, 29), 23, id="Paris 23-hour day"),
    ],
)
def test_a_day_is_one_bucket_however_long(zone_name: str, day: date, hours: float) -> None:
    grid = buckets(day, day, "day", ZoneInfo(zone_name))
    assert grid.labels == (day.isoformat(),)
    assert grid.end_ms - grid.start_ms == hours * HOUR


def test_the_repeated_hour_is_two_buckets_labelled_with_offsets() -> None:
    grid = buckets(date(2026, 11, 1), date(2026, 11, 1), "hour", ZoneInfo("America/New_York"))
    assert len(grid) == 25
    assert grid.labels[:4] == (
        "2026-11-01 00:00",
        "2026-11-01 01:00-0400",
        "2026-11-01 01:00-0500",
        "2026-11-01 02:00",
    )


def test_the_skipped_hour_has_no_bucket() -> None:
    grid = buckets(date(2026, 3, 8), date(2026, 3, 8), "hour", ZoneInfo("America/New_York"))
    assert len(grid) == 23
    assert "2026-03-08 02:00" not in grid.labels
    assert grid.labels[1:3] == ("2026-03-08 01:00", "2026-03-08 03:00")


@pytest.mark.parametrize(
    ("unit", "first", "last", "labels"),
    [
        pytest.param(
            "week",
            date(2026, 11, 4),
            date(2026, 11, 16),
            ("2026-11-02", "2026-11-09", "2026-11-16"),
            id="weeks start on Monday",
        ),
        pytest.param(
            "month",
            date(2026, 1, 31),
            date(2026, 3, 1),
            ("2026-01-01", "2026-02-01", "2026-03-01"),
            id="months",
        ),
        pytest.param(
            "quarter",
            date(2026, 3, 31),
            date(2027, 1, 1),
            ("2026-01-01", "2026-04-01", "2026-07-01", "2026-10-01", "2027-01-01"),
            id="quarters across a year",
        ),
    ],
)
def test_long_buckets_are_labelled_by_their_calendar_start(
    unit: str, first: date, last: date, labels: tuple[str, ...]
) -> None:
    tz = ZoneInfo("Europe/Paris")
    grid = buckets(first, last, unit, tz)
    assert grid.labels == labels
    # The first bucket starts with the report, not on its calendar start.
    assert grid.start_ms == _ms(datetime.combine(first, datetime.min.time(), tz))


@settings(max_examples=60, deadline=None)
@given(
    zone_name=st.sampled_from([p.values[0] for p in DAYS]),
    first=st.dates(date(2000, 1, 1), date(2037, 12, 31)),
    days=st.integers(0, 40),
    unit=st.sampled_from(UNITS),
)
def test_labels_are_unique_and_edges_increase(
    zone_name: str, first: date, days: int, unit: str
) -> None:
    last = first + timedelta(days=days if unit not in ("minute", "hour") else min(days, 2))
    grid = buckets(first, last, unit, ZoneInfo(zone_name))
    assert len(set(grid.labels)) == len(grid.labels)
    assert len(grid.edges) == len(grid.labels) + 1
    assert (np.diff(grid.edges) > 0).all()
    assert grid.start_ms == _ms(datetime.combine(first, datetime.min.time(), ZoneInfo(zone_name)))


def test_index_outside_the_range_is_minus_one() -> None:
    grid = buckets(date(2026, 1, 1), date(2026, 1, 1), "hour", ZoneInfo("UTC"))
    start = _ms(datetime(2026, 1, 1, tzinfo=UTC))
    times = np.array([start - 1, start, start + 24 * HOUR - 1, start + 24 * HOUR], np.int64)
    assert grid.index(times).tolist() == [-1, 0, 23, -1]


def test_too_many_buckets_are_refused_before_they_are_built() -> None:
    """50 years of minutes are 26 million buckets: the count is arithmetic, so refusing
    them takes microseconds, not the seconds (and gigabytes) of listing every edge first."""
    started = time.monotonic()
    with pytest.raises(SpecError, match="minute buckets"):
        buckets(date(1970, 1, 1), date(2019, 12, 31), "minute", ZoneInfo("UTC"))
    assert time.monotonic() - started < 0.3


def test_the_last_day_of_the_calendar_is_a_user_error() -> None:
    with pytest.raises(SpecError):
        buckets(date(9999, 12, 30), date(9999, 12, 31), "day", ZoneInfo("UTC"))


@settings(max_examples=60, deadline=None)
@given(
    zone_name=st.sampled_from(["UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"]),
    unit=st.sampled_from(UNITS),
    first=st.dates(date(1990, 1, 1), date(2030, 1, 1)),
    days=st.sampled_from([0, 1, 40, 800, 20_000]),
    seed=st.integers(0, 2**32 - 1),
)
def test_index_equals_a_binary_search_over_the_edges(
    zone_name: str, unit: str, first: date, days: int, seed: int
) -> None:
    """The lookup by steps against the obvious search, over short and very long ranges (a
    table past its size limit falls back to the search)."""
    if unit in ("minute", "hour") and days > 40:
        days = 40
    grid = buckets(first, first + timedelta(days=days), unit, ZoneInfo(zone_name))
    span = grid.end_ms - grid.start_ms
    rng = np.random.default_rng(seed)
    times = rng.integers(grid.start_ms - span // 10 - 1, grid.end_ms + span // 10 + 1, 2_000)
    times = np.concatenate([times, grid.edges, grid.edges - 1]).astype(np.int64)
    expected = np.searchsorted(grid.edges, times, side="right") - 1
    expected[(times < grid.start_ms) | (times >= grid.end_ms)] = -1
    assert grid.index(times).tolist() == expected.tolist()
