"""Bounded history: checkpoints, log cleanup and vacuum keep a table's log and files inside
the retention window, without losing what time travel, replays and readers need."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from deltalake.transaction import RemoveAction

import trackway.storage.scan as scan_module
from tests.storage.pipeline import (
    LogFeed,
    crash_before_log_commit,
    event,
    profile_update,
    scan_events,
    table_rows,
)
from trackway.log import LogRecord
from trackway.projects import Project, ProjectCatalog
from trackway.settings import Settings
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable, VersionError
from trackway.storage.layout import ProjectPaths
from trackway.storage.orphans import remove_orphan_files
from trackway.storage.profile_store import load_states
from trackway.storage.retention import HistoryKeeper, last_checkpoint, retention_properties, tidy
from trackway.storage.scan import EventReader
from trackway.storage.worker import StorageWorker

HOUR_MS = 3_600_000
# On shards 2, 2, 3 and 0 of 8: u1 and u2 share a part, so deleting u1 rewrites it.
USERS = ("u1", "u2", "u3", "u5")


def store_passes(
    data_dir: Path, project: Project, worker: StorageWorker, count: int, start: int = 0
) -> None:
    """``count`` passes, each storing one event per user: one commit each."""
    with LogFeed(data_dir) as feed:
        for number in range(start, start + count):
            received = 1_000 + number
            events = [event("E", u, received, f"p{number}-{u}", received) for u in USERS]
            feed.append([LogRecord(project.id, "track", received, events)])
            worker.run_once()


def age_log(root: Path, hours: float) -> None:
    """Date every entry of the table's log ``hours`` back: the log cleanup goes by file time."""
    then = time.time() - hours * 3600
    for entry in (root / "_delta_log").iterdir():
        os.utime(entry, (then, then))


def log_versions(root: Path) -> list[int]:
    return sorted(
        {int(name[:20]) for name in os.listdir(root / "_delta_log") if name[:20].isdigit()}
    )


def checkpoints(root: Path) -> set[int]:
    return {int(p.name[:20]) for p in (root / "_delta_log").glob("*.checkpoint.parquet")}


def data_files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root)) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts
    }


def insert_ids(reader: EventReader, project: Project, **scan_args: object) -> Counter[str]:
    return Counter(row["insert_id"] for _, row in scan_events(reader, project, [], **scan_args))


def test_tables_take_the_retention_properties_and_a_checkpoint_every_n_commits(
    tmp_path: Path,
) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    settings = Settings(checkpoint_interval_commits=3)
    worker = StorageWorker(tmp_path, settings)
    root = ProjectPaths(tmp_path, project.id).events
    store_passes(tmp_path, project, worker, 1)
    tidy(root, settings)
    table = DeltaTable(str(root))
    assert table.metadata().configuration == retention_properties(settings)
    tidied = table.version()
    assert checkpoints(root) == {tidied}  # none was due yet: the first is written at once
    store_passes(tmp_path, project, worker, 10, start=1)
    latest = DeltaTable(str(root)).version()
    due = {v for v in range(tidied + 1, latest + 1) if (v + 1) % 3 == 0}
    assert checkpoints(root) == {tidied, *due}
    assert last_checkpoint(root) == max(due)


def test_log_entries_older_than_the_window_go_and_versions_inside_it_stay_readable(
    tmp_path: Path,
) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    settings = Settings(retention_ms=HOUR_MS, checkpoint_interval_commits=4)
    worker = StorageWorker(tmp_path, settings)
    reader = EventReader(tmp_path, 1 << 20)
    root = ProjectPaths(tmp_path, project.id).events
    store_passes(tmp_path, project, worker, 6)
    tidy(root, settings)
    store_passes(tmp_path, project, worker, 6, start=6)
    age_log(root, 2)  # everything so far is older than the window
    old_checkpoint = max(checkpoints(root))
    old_latest = DeltaTable(str(root)).version()
    expected = {
        v: insert_ids(reader, project, as_of=v) for v in range(old_checkpoint, old_latest + 1)
    }
    store_passes(tmp_path, project, worker, 3, start=12)

    done = tidy(root, settings)

    assert done.log_entries_removed > 0
    # Cut at the newest checkpoint older than the window: the versions from it on load.
    assert log_versions(root)[0] == old_checkpoint
    for version, ids in expected.items():
        assert insert_ids(reader, project, as_of=version) == ids
    with pytest.raises(VersionError, match=f"from {old_checkpoint} to"):
        EventTable(root).snapshot(old_checkpoint - 1)
    with pytest.raises(VersionError, match="got 99"):
        EventTable(root).snapshot(99)
    with pytest.raises(VersionError, match="Expected a time from"):
        EventTable(root).snapshot(datetime.now(UTC) - timedelta(hours=3))
    assert insert_ids(reader, project) == Counter(f"p{n}-{u}" for n in range(15) for u in USERS)


def test_a_time_before_the_first_commit_reads_an_empty_table(tmp_path: Path) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    store_passes(tmp_path, project, StorageWorker(tmp_path, Settings()), 1)
    before = datetime.now(UTC) - timedelta(hours=1)
    assert EventTable(ProjectPaths(tmp_path, project.id).events).snapshot(before) is None
    assert EventReader(tmp_path, 1 << 20).scan(project, ["time"], as_of=before) == []


def test_vacuum_deletes_files_removed_before_the_window_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    settings = Settings(retention_ms=HOUR_MS)
    root = ProjectPaths(tmp_path, project.id).events
    store_passes(tmp_path, project, StorageWorker(tmp_path, settings), 3)
    snapshot = EventTable(root).snapshot()
    assert snapshot is not None
    parts = snapshot.parts()
    early, late = parts[0], parts[1]
    now_ms = int(time.time() * 1000)
    removals = [
        RemoveAction(
            early.path, False, now_ms - 2 * HOUR_MS, early.size, {"shard": str(early.shard)}
        ),
        RemoveAction(late.path, False, now_ms, late.size, {"shard": str(late.shard)}),
    ]
    table = snapshot.table
    table.create_write_transaction(removals, "append", table.schema(), partition_by=["shard"])
    # Files no commit names: one left by a crash two hours ago, one being written right now.
    stale, fresh = root / "shard=0/part-stale.parquet", root / "shard=0/part-fresh.parquet"
    pq.write_table(pq.read_table(root / early.path), stale)
    pq.write_table(pq.read_table(root / early.path), fresh)
    then = time.time() - 2 * 3600
    os.utime(stale, (then, then))
    before = data_files(root)

    done = tidy(root, settings)

    assert before - data_files(root) == {early.path, "shard=0/part-stale.parquet"}
    assert done.files_removed == 2


def test_time_travel_inside_the_window_survives_compaction_deletion_and_tidying(
    tmp_path: Path,
) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    settings = Settings(retention_ms=HOUR_MS, checkpoint_interval_commits=2)
    settings_compacting = Settings(
        retention_ms=HOUR_MS, checkpoint_interval_commits=2, compaction_trigger_parts=1
    )
    worker = StorageWorker(tmp_path, settings_compacting)
    root = ProjectPaths(tmp_path, project.id).events
    store_passes(tmp_path, project, worker, 3)
    DeletionList(ProjectPaths(tmp_path, project.id).deletions).add(["u3"], 1_001)
    worker.maintain()  # deletion, compaction, tidy
    store_passes(tmp_path, project, worker, 2, start=3)
    worker.maintain()
    latest = DeltaTable(str(root)).version()
    before = {
        v: Counter(r["insert_id"] for r in table_rows(tmp_path, project, v))
        for v in range(latest + 1)
    }

    tidy(root, settings)

    for version, rows in before.items():
        assert Counter(r["insert_id"] for r in table_rows(tmp_path, project, version)) == rows


def test_a_replay_after_a_checkpoint_and_log_cleanup_writes_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The offsets each table applied (its ``txn`` actions) live on in the checkpoint after
    the commits that recorded them are deleted."""
    project = ProjectCatalog(tmp_path).create("history")
    settings = Settings(retention_ms=HOUR_MS, checkpoint_interval_commits=2)
    paths = ProjectPaths(tmp_path, project.id)
    events = [event("E", u, 1_000, f"i-{u}", 1_000) for u in USERS]
    update = profile_update("u1", add={"n": 1})
    with LogFeed(tmp_path) as feed:
        feed.append([LogRecord(project.id, "track", 1_000, events)])
        feed.append([LogRecord(project.id, "engage", 1_001, [update])])
        crash_before_log_commit(StorageWorker(tmp_path, settings), monkeypatch)
        # A commit after the ones that recorded the offsets (setting the retention
        # properties), a checkpoint of it, then a cleanup that deletes every commit before.
        for root in (paths.events, paths.users):
            tidy(root, settings)
            age_log(root, 2)
            tidy(root, settings)
            assert log_versions(root) == [last_checkpoint(root)]
        assert StorageWorker(tmp_path, settings).run_once() == 2  # the replay
    counts = Counter(row["insert_id"] for row in table_rows(tmp_path, project))
    assert counts == Counter(f"i-{u}" for u in USERS)
    assert load_states(paths.users)[0]["u1"]["properties"] == {"n": 1}


def test_a_deleted_users_rows_and_profile_are_gone_from_disk_after_the_window(
    tmp_path: Path,
) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    worker = StorageWorker(tmp_path, Settings(retention_ms=0))
    paths = ProjectPaths(tmp_path, project.id)
    gone, kept = "u1", "u2"  # on one shard: the deletion rewrites the part they share
    with LogFeed(tmp_path) as feed:
        for number in range(3):
            received = 1_000 + number
            events = [event("E", u, received, f"p{number}-{u}", received) for u in (gone, kept)]
            updates = [profile_update(u, time=received, set={"n": number}) for u in (gone, kept)]
            feed.append([LogRecord(project.id, "track", received, events)])
            feed.append([LogRecord(project.id, "engage", received, updates)])
            worker.run_once()
    DeletionList(paths.deletions).add([gone], 5_000)

    worker.maintain()  # deletion, profile compaction, tidy with a window of zero

    for root, column in ((paths.events, "distinct_id"), (paths.users, "key")):
        for file in data_files(root):
            values = pq.read_table(root / file, columns=[column]).column(column).to_pylist()
            assert gone not in values, f"{file} still holds {gone}"
    assert {row["distinct_id"] for row in table_rows(tmp_path, project)} == {kept}
    assert load_states(paths.users)[0] == {
        kept: {"properties": {"n": 2}, "created_ms": 1_000, "last_seen_ms": 1_002}
    }


def test_a_reader_of_a_version_whose_files_were_vacuumed_reopens_or_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    settings = Settings(compaction_trigger_parts=1)
    worker = StorageWorker(tmp_path, settings)
    reader = EventReader(tmp_path, 1 << 20)
    root = ProjectPaths(tmp_path, project.id).events
    store_passes(tmp_path, project, worker, 2)
    stored = insert_ids(reader, project)  # the reader now holds this version
    old = DeltaTable(str(root)).version()
    worker.maintain()  # compaction: the parts the reader holds are removed ...
    tidy(root, settings, retention_hours=0)  # ... and deleted; the log keeps the version
    assert insert_ids(reader, project) == stored
    # (This reader still has the old parts' columns in its cache; a new one reads the disk.)
    with pytest.raises(VersionError, match="files of that version have been deleted"):
        EventReader(tmp_path, 1 << 20).scan(project, ["time"], as_of=old)
    # A read that opened the old version just before the vacuum: it reads the latest again.
    fresh = EventReader(tmp_path, 1 << 20)
    stale = EventTable(root).snapshot(old)
    assert stale is not None
    fresh._snapshots[root] = stale
    latest = scan_module._latest_version(root)
    listed: list[int] = []
    scans: list[int] = []
    real_scan = EventReader._scan

    def listing(found: Path, known: int | None = None) -> int | None:
        listed.append(1)
        return old if len(listed) == 1 else latest  # the first look misses the new commits

    def counted(self: EventReader, *args: Any) -> Any:
        scans.append(1)
        return real_scan(self, *args)

    monkeypatch.setattr(scan_module, "_latest_version", listing)
    monkeypatch.setattr(EventReader, "_scan", counted)
    assert insert_ids(fresh, project) == stored
    assert len(scans) == 2


def test_orphan_removal_keeps_files_that_only_a_checkpoint_names(tmp_path: Path) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    settings = Settings(retention_ms=HOUR_MS, compaction_trigger_parts=1)
    worker = StorageWorker(tmp_path, settings)
    root = ProjectPaths(tmp_path, project.id).events
    store_passes(tmp_path, project, worker, 2)
    worker.maintain()  # compaction removes the first parts; the tidy writes a checkpoint
    age_log(root, 2)
    store_passes(tmp_path, project, worker, 1, start=2)
    tidy(root, settings)  # every commit that added or removed the first parts is gone
    crashed = root / "shard=0/part-crashed.parquet"
    pq.write_table(pq.read_table(next(root.glob("shard=0/*.parquet"))), crashed)
    before = data_files(root)

    assert remove_orphan_files(root) == [crashed]
    assert data_files(root) == before - {"shard=0/part-crashed.parquet"}


def test_the_worker_tidies_each_table_once_per_interval(tmp_path: Path) -> None:
    project = ProjectCatalog(tmp_path).create("history")
    settings = Settings(vacuum_interval_ms=60_000)
    worker = StorageWorker(tmp_path, settings)
    now = [0.0]
    worker.history = HistoryKeeper(settings, clock=lambda: now[0])
    root = ProjectPaths(tmp_path, project.id).events
    worker.maintain()  # no table yet: nothing to tidy, and no wait once there is one
    store_passes(tmp_path, project, worker, 1)
    worker.maintain()
    assert DeltaTable(str(root)).metadata().configuration == retention_properties(settings)
    DeltaTable(str(root)).alter.set_table_properties({"delta.checkpointInterval": "7"})
    now[0] = 59.0
    worker.maintain()
    assert DeltaTable(str(root)).metadata().configuration["delta.checkpointInterval"] == "7"
    now[0] = 60.0
    worker.maintain()
    assert DeltaTable(str(root)).metadata().configuration == retention_properties(settings)
