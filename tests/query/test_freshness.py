"""Freshness: the newest event in a range, the last arrival's lag, and the uncommitted count."""

from __future__ import annotations

from pathlib import Path

from tests.query.store import event, new_project, reader, store
from trackway.query.freshness import Freshness, freshness

DAY = 86_400_000


def test_freshness_of_committed_and_tail(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    committed = [
        event("A", "u1", 10 * DAY + 5, "a", received_ms=10 * DAY + 900),
        event("A", "u2", 12 * DAY + 7, "b", received_ms=12 * DAY + 50),
    ]
    # The last to arrive happened long before it arrived (an SDK that queued it).
    tail = [event("B", "u1", 11 * DAY, "c", received_ms=13 * DAY)]
    store(tmp_path, project, [committed], tail)
    found = freshness(reader(tmp_path), project, None, 20 * DAY)
    assert found == Freshness(20 * DAY, 12 * DAY + 7, 13 * DAY, 2 * DAY, 1)
    # Over a range, only its events count.
    day_ten = freshness(reader(tmp_path), project, (10 * DAY, 11 * DAY), 20 * DAY)
    assert day_ten == Freshness(20 * DAY, 10 * DAY + 5, 10 * DAY + 900, 895, 1)


def test_a_clock_ahead_is_no_negative_lag(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    store(tmp_path, project, [[event("A", "u1", 5_000, "a", received_ms=4_000)]], [])
    found = freshness(reader(tmp_path), project, None, 9_000)
    assert (found.newest_event_ms, found.lag_ms, found.uncommitted_events) == (5_000, 0, 0)


def test_no_events(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    assert freshness(reader(tmp_path), project, None, 1) == Freshness(1, None, None, None, 0)
