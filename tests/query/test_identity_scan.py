"""Re-homing rows onto the resolved user's shard, step by step: a device and its user on
different shards, queried before the merge, with the merge only in the log tail, after the
storage worker committed it (twice: the second answer from the caches), and after the whole
cluster was deleted."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from tests.query.answers import answer
from tests.query.store import event, new_project, reader, store, write_tail
from trackway.projects import Project
from trackway.query.behaviour.spec import DropOffs, FunnelSpec, Step
from trackway.query.insights.spec import InsightsSpec, Metric
from trackway.settings import Settings
from trackway.storage.deletions import DeletionList
from trackway.storage.layout import ProjectPaths
from trackway.storage.scan import EventReader, ShardScan
from trackway.storage.sharding import shard_of, user_hash
from trackway.storage.worker import StorageWorker

DAY = date(2026, 3, 10)
NOON = int(datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp() * 1000)
SHARDS = 8
USER, BYSTANDER = "user-1", "bystander"
COLUMNS = ["distinct_id", "time", "event", "user_hash"]


def shard(distinct_id: str) -> int:
    return int(shard_of(np.array([user_hash(distinct_id)], np.int64), SHARDS)[0])


def device_far_from(user: str, mode: str) -> tuple[str, str]:
    """(the device's distinct_id, the id a merge names it by) on another shard than ``user``."""
    for i in range(100):
        uuid = f"{i:08x}-0000-4000-8000-000000000000"
        device = f"$device:{uuid}"
        if shard(device) != shard(user):
            return device, uuid if mode == "simplified" else device
    raise AssertionError("no device id on another shard")


def merge_event(mode: str, device_ref: str) -> dict[str, Any]:
    """The event that ties the device to USER, arriving after everything else."""
    if mode == "simplified":
        ids = {"$device_id": device_ref, "$user_id": USER}
        return event("Sign in", USER, NOON + 30_000, "merge", 9_000, **ids)
    ids = {"$identified_id": USER, "$anon_id": device_ref}
    return event("$identify", USER, NOON + 30_000, "merge", 9_000, **ids)


def rows(scans: list[ShardScan]) -> list[tuple[int, str, int, str]]:
    """(shard, distinct_id, time, event) of every scanned row, shard by shard."""
    out = []
    for scan in sorted(scans, key=lambda s: s.shard):
        columns = {c: scan.columns[c].to_pylist() for c in ("distinct_id", "time", "event")}
        for i in range(scan.rows):
            out.append(
                (scan.shard, columns["distinct_id"][i], columns["time"][i], columns["event"][i])
            )
    return out


def answers(events_reader: EventReader, project: Project) -> dict[str, Any]:
    """Unique users and events, funnel View → Buy: its counts and who dropped off where."""
    insights = answer(
        events_reader,
        project,
        InsightsSpec(DAY, DAY, [Metric(measure="unique"), Metric(measure="total")]),
    )
    funnel = {}
    for step in (1, 2):
        spec = FunnelSpec(
            DAY, DAY, [Step(event="View"), Step(event="Buy")], drop_offs=DropOffs(step)
        )
        result = answer(events_reader, project, spec)
        funnel[step] = result["drop_offs"]["users"]
        funnel["counts"] = [s["count"] for s in result["steps"]]
    return {
        "users": insights["series"][0]["total"],
        "events": insights["series"][1]["total"],
        "funnel": funnel,
    }


@pytest.mark.parametrize("mode", [pytest.param(m, id=m) for m in ("simplified", "original")])
def test_rows_follow_the_merge(tmp_path: Path, mode: str) -> None:
    device, device_ref = device_far_from(USER, mode)
    anonymous = {"$device_id": device_ref} if mode == "simplified" else {}
    project = msgspec.structs.replace(new_project(tmp_path), id_merge=mode)
    events_reader = reader(tmp_path)
    committed = [
        event("View", device, NOON, "v1", 1_000, **anonymous),
        event("View", device, NOON + 1_000, "v2", 1_001, **anonymous),
        event("Buy", USER, NOON + 60_000, "b1", 1_002),
        event("View", BYSTANDER, NOON + 5, "v3", 1_003),
    ]
    store(tmp_path, project, [committed], [])

    # Before the merge: two people, each on their own shard.
    assert not events_reader.identity(project)
    before = events_reader.scan(project, COLUMNS)
    assert all(s.key is not None for s in before)
    assert {(s, d) for s, d, _, _ in rows(before)} == {
        (shard(device), device),
        (shard(USER), USER),
        (shard(BYSTANDER), BYSTANDER),
    }
    assert answers(events_reader, project) == {
        "users": 3,
        "events": 4,
        "funnel": {1: sorted([device, BYSTANDER]), 2: [], "counts": [2, 0]},
    }

    # The merge, acknowledged but not committed: counts from this query on.
    write_tail(tmp_path, project, [merge_event(mode, device_ref)])
    assert events_reader.identity(project).canonical_of == {device: USER}
    merged = events_reader.scan(project, COLUMNS)
    # The shards rows move between are read with the tail; a shard the move leaves alone
    # is its stored rows as they were.
    moved = {shard(device), shard(USER)}
    assert all((s.key is None) == (s.shard in moved) for s in merged)
    person = [r for r in rows(merged) if r[1] != BYSTANDER]
    assert person == sorted(person, key=lambda r: r[2])  # in time order
    assert {(s, d) for s, d, _, _ in person} == {(shard(USER), USER)}
    assert len(person) == 4
    expected = {
        "users": 2,
        "events": 5,
        "funnel": {1: [BYSTANDER], 2: [USER], "counts": [2, 1]},
    }
    assert answers(events_reader, project) == expected

    # Committed by the storage worker: no tail left, the same answer, and the second scan
    # is the first one's cached rows.
    assert StorageWorker(tmp_path, Settings()).run_once() == 1
    first = events_reader.scan(project, COLUMNS)
    assert all(s.key is not None for s in first)
    assert rows(first) == rows(merged)
    again = events_reader.scan(project, COLUMNS)
    assert [s.key for s in again] == [s.key for s in first]
    # Re-homed shards are cached whole; the others are their stored rows as they are.
    assert all(
        a.columns[c] is b.columns[c] or (a.key[0] == "same" and a.columns[c].equals(b.columns[c]))
        for a, b in zip(first, again, strict=True)
        for c in COLUMNS
    )
    assert answers(events_reader, project) == expected
    assert answers(events_reader, project) == expected

    # The whole cluster deleted: the person is gone, merge included; the bystander stays.
    paths = ProjectPaths(tmp_path, project.id)
    DeletionList(paths.deletions).add([USER, device], int(time.time() * 1000))
    assert not events_reader.identity(project)
    assert {d for _, d, _, _ in rows(events_reader.scan(project, COLUMNS))} == {BYSTANDER}
    assert answers(events_reader, project) == {
        "users": 1,
        "events": 1,
        "funnel": {1: [BYSTANDER], 2: [], "counts": [1, 0]},
    }
