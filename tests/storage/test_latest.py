"""The live view's feed: the latest events to arrive, committed parts and log tail together,
newest arrival first, against a plain sort of everything stored."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from tests.query.store import event, new_project, reader, store
from trackway.storage.deletions import DeletionList
from trackway.storage.latest import latest_events
from trackway.storage.layout import ProjectPaths


def _arrivals(seed: int) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Three committed batches and a tail; arrival times mostly rise batch after batch, with
    ties and an import of old events arriving last."""
    rng = random.Random(seed)
    batches: list[list[dict[str, Any]]] = []
    received = 1_000
    for b in range(4):
        batch = []
        for i in range(40):
            received += rng.choice([0, 0, 1, 5])
            time_ms = received - rng.randrange(0, 500) if b != 3 or i % 2 else 10
            user = f"u{rng.randrange(12)}"
            batch.append(event("E", user, time_ms, f"b{b}-{i}", received, n=i))
        batches.append(batch)
    return batches[:3], batches[3]


def _expected(everything: list[dict[str, Any]], limit: int, after: int) -> list[str]:
    fresh = [e for e in everything if e["properties"]["mp_processing_time_ms"] > after]
    fresh.sort(
        key=lambda e: (e["properties"]["mp_processing_time_ms"], e["properties"]["time"]),
        reverse=True,
    )
    return [e["properties"]["$insert_id"] for e in fresh[:limit]]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("limit", [1, 7, 50, 500])
def test_latest_is_the_newest_arrivals(tmp_path: Path, seed: int, limit: int) -> None:
    project = new_project(tmp_path)
    batches, tail = _arrivals(seed)
    store(tmp_path, project, batches, tail)
    everything = [e for batch in [*batches, tail] for e in batch]
    found = latest_events(reader(tmp_path), project, limit)
    # Equal (arrival, time) keys may come in either order: compare the keys, then the ids.
    ids = [e["properties"]["$insert_id"] for e in found.events]
    assert len(ids) == min(limit, len(everything))
    key = {
        e["properties"]["$insert_id"]: (
            e["properties"]["mp_processing_time_ms"],
            e["properties"]["time"],
        )
        for e in everything
    }
    assert [key[i] for i in ids] == [key[i] for i in _expected(everything, limit, -1)]
    assert found.cursor == max(k[0] for k in key.values())
    assert found.truncated == (len(everything) > limit)
    assert found.events[0]["properties"]["n"] is not None


def test_after_the_cursor_only_newer_arrivals(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    old = [event("Old", "u1", 100, "o1", 1_000), event("Old", "u2", 200, "o2", 1_500)]
    store(tmp_path, project, [old], [])
    first = latest_events(reader(tmp_path), project, 10)
    assert [e["properties"]["$insert_id"] for e in first.events] == ["o2", "o1"]
    assert (first.cursor, first.truncated) == (1_500, False)
    assert latest_events(reader(tmp_path), project, 10, first.cursor).events == []
    new = [event("New", "u3", 300, "n1", 2_000)]
    store(tmp_path, project, [], new)
    later = latest_events(reader(tmp_path), project, 10, first.cursor)
    assert [e["event"] for e in later.events] == ["New"]
    assert later.cursor == 2_000
    # A quiet poll keeps the cursor.
    assert latest_events(reader(tmp_path), project, 10, 2_000).cursor == 2_000


def test_deleted_users_are_left_out(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    events = [event("E", "keep", 1, "k", 10), event("E", "gone", 2, "g", 20)]
    store(tmp_path, project, [events], [])
    DeletionList(ProjectPaths(tmp_path, project.id).deletions).add(["gone"], 30)
    found = latest_events(reader(tmp_path), project, 10)
    assert [e["properties"]["distinct_id"] for e in found.events] == ["keep"]


def test_an_empty_project(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    found = latest_events(reader(tmp_path), project, 10, 5)
    assert (found.events, found.cursor, found.truncated) == ([], 5, False)
