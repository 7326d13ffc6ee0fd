"""Identity resolved when written (storage/resolve.py), through the real log and worker: rows
stored under their resolved users, reads that move only rows of newer merges, copies of one
event stored on both sides of a merge counted once, deletions and the past by the sent id,
and compaction re-homing old rows."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.storage.pipeline import LogFeed, event
from trackway.log import LogRecord
from trackway.projects import Project, ProjectCatalog
from trackway.settings import Settings
from trackway.storage import scan
from trackway.storage.columns import SENT_HASH
from trackway.storage.compaction import compact_project
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable
from trackway.storage.identity import resolve_hashes
from trackway.storage.identity_scan import EDGES_KEY
from trackway.storage.layout import ProjectPaths
from trackway.storage.resolve import resolved_keys, sent_hashes
from trackway.storage.scan import EventReader
from trackway.storage.sharding import shard_of, user_hash
from trackway.storage.worker import StorageWorker

USER = "alice"
DEVICE_ID = "phone-1"
DEVICE = "$device:" + DEVICE_ID
OTHER = "bob"
T = 1_773_000_000_000


def shard(distinct_id: str, project: Project) -> int:
    return int(shard_of(np.array([user_hash(distinct_id)], np.int64), project.shards)[0])


def device_far_from_user() -> tuple[str, str]:
    """A device id whose events, sent as the device, land on another shard than the user's."""
    for n in range(100):
        device_id = f"phone-{n}"
        if user_hash("$device:" + device_id) % 8 != user_hash(USER) % 8:
            return device_id, "$device:" + device_id
    raise AssertionError("no such device")


def setup(tmp_path: Path) -> tuple[Project, EventReader, StorageWorker, LogFeed]:
    catalog = ProjectCatalog(tmp_path)
    project = catalog.create("t")
    assert project.id_merge == "simplified"
    return (
        project,
        EventReader(tmp_path, 1 << 26),
        StorageWorker(tmp_path, Settings()),
        LogFeed(tmp_path),
    )


def send(feed: LogFeed, project: Project, events: list[dict[str, object]]) -> None:
    feed.append([LogRecord(project.id, "import", 1, events)])


def stored(tmp_path: Path, project: Project) -> list[dict[str, object]]:
    """Every stored row: its shard, user, sent id hash and distinct_id."""
    snapshot = EventTable(ProjectPaths(tmp_path, project.id).events).snapshot()
    assert snapshot is not None
    rows = []
    for part in snapshot.parts():
        table = pq.read_table(snapshot.root / part.path)
        sent = table.column(SENT_HASH) if SENT_HASH in table.column_names else None
        for i in range(table.num_rows):
            rows.append(
                {
                    "shard": part.shard,
                    "user_hash": table.column("user_hash")[i].as_py(),
                    "sent_hash": None if sent is None else sent[i].as_py(),
                    "distinct_id": table.column("distinct_id")[i].as_py(),
                }
            )
    return rows


def users_and_events(reader: EventReader, project: Project) -> tuple[set[str], int]:
    scans = reader.scan(project, ["distinct_id", "time"])
    ids = {d for s in scans for d in s.columns["distinct_id"].to_pylist()}
    return ids, sum(s.rows for s in scans)


def test_rows_are_stored_under_the_user_known_when_written(tmp_path: Path) -> None:
    project, reader, worker, feed = setup(tmp_path)
    device_id, device = device_far_from_user()
    with feed:
        # One batch: the device's events, then the event that ties it to the user.
        send(
            feed,
            project,
            [
                event("View", device, T, "v1", 1_000, **{"$device_id": device_id}),
                event(
                    "Login", USER, T + 1, "l1", 1_001, **{"$device_id": device_id, "$user_id": USER}
                ),
            ],
        )
        worker.run_once()
    rows = stored(tmp_path, project)
    assert {(r["distinct_id"], r["shard"], r["user_hash"], r["sent_hash"]) for r in rows} == {
        (device, shard(USER, project), user_hash(USER), user_hash(device)),
        (USER, shard(USER, project), user_hash(USER), None),
    }
    # Nothing moves when read: every shard is its stored rows.
    scans = reader.scan(project, ["distinct_id", "time"])
    assert all(s.key is not None and s.key[0] == "same" for s in scans)
    assert users_and_events(reader, project) == ({USER}, 2)


def test_a_copy_on_each_side_of_a_merge_counts_once(tmp_path: Path) -> None:
    project, reader, worker, feed = setup(tmp_path)
    device_id, device = device_far_from_user()
    view = {"$device_id": device_id, "plan": "old"}
    with feed:
        send(feed, project, [event("View", device, T, "v1", 1_000, **view)])
        worker.run_once()  # stored under the device
        tie = {"$device_id": device_id, "$user_id": USER}
        send(feed, project, [event("Login", USER, T + 5, "l1", 1_001, **tie)])
        worker.run_once()
        # The client retries the view: the same event, stored under the user now.
        send(feed, project, [event("View", device, T, "v1", 1_002, **{**view, "plan": "new"})])
        worker.run_once()
    rows = [r for r in stored(tmp_path, project) if r["distinct_id"] == device]
    assert sorted(r["user_hash"] for r in rows) == sorted([user_hash(device), user_hash(USER)])
    scans = reader.scan(project, ["distinct_id", "time", "ps_plan", "received_ms"])
    got = [
        (d, p, r)
        for s in scans
        for d, p, r in zip(
            s.columns["distinct_id"].to_pylist(),
            s.columns["ps_plan"].to_pylist(),
            s.columns["received_ms"].to_pylist(),
            strict=True,
        )
    ]
    # One view (the latest received copy) and the login, both the user's.
    assert sorted(got, key=lambda g: g[2]) == [(USER, None, 1_001), (USER, "new", 1_002)]


def test_deletion_and_the_past_use_the_sent_id(tmp_path: Path) -> None:
    project, reader, worker, feed = setup(tmp_path)
    device_id, device = device_far_from_user()
    tie = {"$device_id": device_id, "$user_id": USER}
    with feed:
        send(feed, project, [event("Login", USER, T, "l1", 1_000, **tie)])
        worker.run_once()
        send(
            feed,
            project,
            [
                event("View", device, T + 1, "v1", 1_001, **{"$device_id": device_id}),
                event("View", OTHER, T + 2, "v2", 1_002),
            ],
        )
        worker.run_once()
    version = EventTable(ProjectPaths(tmp_path, project.id).events).snapshot()
    assert version is not None
    # The past is read under the ids as sent.
    past = reader.scan(project, ["distinct_id", "user_hash"], as_of=version.version)
    assert {
        (d, h)
        for s in past
        for d, h in zip(
            s.columns["distinct_id"].to_pylist(), s.columns["user_hash"].to_pylist(), strict=True
        )
    } == {(USER, user_hash(USER)), (device, user_hash(device)), (OTHER, user_hash(OTHER))}
    # Deleting the device alone removes its row, stored under the user.
    DeletionList(ProjectPaths(tmp_path, project.id).deletions).add([device], 2_000)
    reader = EventReader(tmp_path, 1 << 26)
    scans = reader.scan(project, ["distinct_id", "event"])
    assert sorted(e for s in scans for e in s.columns["event"].to_pylist()) == ["Login", "View"]
    worker.maintain()  # the rows are deleted from the table too
    assert device not in {r["distinct_id"] for r in stored(tmp_path, project)}


def test_compaction_re_homes_rows_of_newer_merges(tmp_path: Path) -> None:
    project, reader, worker, feed = setup(tmp_path)
    device_id, device = device_far_from_user()
    with feed:
        for n in range(3):  # the device's events, before any merge, in parts of their own
            send(feed, project, [event("View", device, T + n, f"v{n}", 1_000 + n)])
            worker.run_once()
        tie = {"$device_id": device_id, "$user_id": USER}
        send(feed, project, [event("Login", USER, T + 9, "l1", 1_009, **tie)])
        worker.run_once()
    before = reader.scan(project, ["distinct_id", "time"])
    assert users_and_events(reader, project) == ({USER}, 4)
    settings = dataclasses.replace(Settings(), compaction_fan_in=2)
    worker = StorageWorker(tmp_path, settings)
    compact_project(
        EventTable(ProjectPaths(tmp_path, project.id).events),
        DeletionList(ProjectPaths(tmp_path, project.id).deletions),
        settings,
        worker.rehoming(project),
    )
    rows = stored(tmp_path, project)
    assert {(r["distinct_id"], r["shard"], r["user_hash"]) for r in rows} == {
        (device, shard(USER, project), user_hash(USER)),
        (USER, shard(USER, project), user_hash(USER)),
    }
    fresh = EventReader(tmp_path, 1 << 26)
    after = fresh.scan(project, ["distinct_id", "time"])
    assert all(s.key is not None and s.key[0] == "same" for s in after)  # nothing moves
    assert [pa.concat_arrays([s.columns["time"] for s in after]).to_pylist()] == [
        pa.concat_arrays([s.columns["time"] for s in before]).to_pylist()
    ]
    assert users_and_events(fresh, project) == ({USER}, 4)


def test_parts_record_their_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The map read from the parts' recorded edges equals the one read off their columns,
    before and after a deletion (which the recorded edges of older parts do not know of)."""
    project, _, worker, feed = setup(tmp_path)

    def device(n: int) -> dict[str, str]:
        return {"$device_id": f"d{n}"}

    with feed:
        for n in range(6):
            tie = {"$device_id": f"d{n}", "$user_id": f"u{n % 4}"}
            send(
                feed,
                project,
                [
                    event("View", f"$device:d{n}", T + n, f"v{n}", 1_000 + n, **device(n)),
                    event("Login", f"u{n % 4}", T + 10 + n, f"l{n}", 1_010 + n, **tie),
                ],
            )
            worker.run_once()

    def both() -> tuple[dict[str, str], dict[str, str]]:
        recorded = EventReader(tmp_path, 1 << 26).identity(project).canonical_of
        with monkeypatch.context() as patched:
            patched.setattr(scan, "recorded_edges", lambda *_: None)
            read = EventReader(tmp_path, 1 << 26).identity(project).canonical_of
        return recorded, read

    recorded, read = both()
    assert recorded == read == {f"$device:d{n}": f"u{n % 4}" for n in range(6)}
    snapshot = EventTable(ProjectPaths(tmp_path, project.id).events).snapshot()
    assert snapshot is not None
    footers = [pq.read_metadata(snapshot.root / p.path).metadata for p in snapshot.parts()]
    # Every part records its edges, but those of the table's first version (delta-rs).
    assert sum(EDGES_KEY not in (f or {}) for f in footers) <= 2 < len(footers)
    DeletionList(ProjectPaths(tmp_path, project.id).deletions).add(["u1"], 5_000)
    recorded, read = both()
    assert recorded == read
    assert "$device:d1" not in recorded and "$device:d0" in recorded


def test_resolved_keys_equal_a_lookup_of_every_row() -> None:
    rng = np.random.default_rng(11)
    for _ in range(30):
        n = int(rng.integers(0, 200))
        stored = np.sort(rng.integers(0, 20, n)).astype(np.int64)
        moved = rng.random(n) < 0.2
        sent = pa.array(rng.integers(0, 30, n), pa.int64(), mask=~moved)
        merged_ids = np.unique(rng.integers(0, 30, int(rng.integers(0, 10)))).astype(np.int64)
        pairs = (merged_ids, rng.integers(100, 200, len(merged_ids)).astype(np.int64))
        every_row = resolve_hashes(sent_hashes(pa.array(stored), sent), pairs)
        assert resolved_keys(stored, sent, pairs).tolist() == every_row.tolist()


def test_old_parts_are_re_homed_when_merges_accumulate(tmp_path: Path) -> None:
    """Parts compaction leaves alone are rewritten under the resolved users once enough of
    their rows would move; a part where too few would is left as it is."""
    settings = dataclasses.replace(
        Settings(),
        compaction_fan_in=100,
        compaction_trigger_parts=1000,
        rehome_interval_ms=0,
        rehome_permille=100,  # 10% of a part's rows
    )
    project, _, _, feed = setup(tmp_path)
    worker = StorageWorker(tmp_path, settings)
    many = [event("View", f"other-{k}", T + k, f"o{k}", 1_000) for k in range(800)]
    with feed:
        # Commit 1: three devices' events. Commit 2: one device's event among many others.
        send(feed, project, [event("View", f"$device:d{n}", T, f"v{n}", 1_000) for n in range(3)])
        worker.run_once()
        send(feed, project, [*many, event("View", "$device:d9", T, "v9", 1_001)])
        worker.run_once()
        ties = [
            event(
                "Login",
                f"u{n}",
                T + 5,
                f"l{n}",
                1_002,
                **{"$device_id": f"d{n}", "$user_id": f"u{n}"},
            )
            for n in (0, 1, 2, 9)
        ]
        send(feed, project, ties)
        worker.run_once()
    before = EventReader(tmp_path, 1 << 26)
    expected = users_and_events(before, project)
    moved_before = [r for r in stored(tmp_path, project) if r["distinct_id"].startswith("$device:")]
    assert all(r["user_hash"] == user_hash(r["distinct_id"]) for r in moved_before)

    worker.maintain()

    rows = {r["distinct_id"]: r for r in stored(tmp_path, project)}
    for n in (0, 1, 2):  # re-homed: under their users now, on their users' shards
        row = rows[f"$device:d{n}"]
        assert (row["user_hash"], row["shard"]) == (user_hash(f"u{n}"), shard(f"u{n}", project))
        assert row["sent_hash"] == user_hash(f"$device:d{n}")
    # One row in its shard's part of about a hundred: left where it is.
    assert rows["$device:d9"]["user_hash"] == user_hash("$device:d9")
    assert users_and_events(EventReader(tmp_path, 1 << 26), project) == expected
