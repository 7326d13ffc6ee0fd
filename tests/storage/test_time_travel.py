"""Reading the events table as of an earlier Delta version."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from tests.storage.pipeline import LogFeed, event, scan_events, table_rows
from trackway.log import LogRecord
from trackway.projects import Project, ProjectCatalog
from trackway.settings import Settings
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable
from trackway.storage.layout import ProjectPaths
from trackway.storage.scan import EventReader
from trackway.storage.worker import StorageWorker

# On shards 2, 3 and 0 of 8: a deletion drops whole parts and rewrites none.
USERS = ("u1", "u3", "u5")


def version(data_dir: Path, project: Project) -> int:
    snapshot = EventTable(ProjectPaths(data_dir, project.id).events).snapshot()
    assert snapshot is not None
    return snapshot.version


def insert_ids(reader: EventReader, project: Project, **scan_args: object) -> list[str]:
    return sorted(row["insert_id"] for _, row in scan_events(reader, project, [], **scan_args))


def batch(project: Project, tag: str, received: int) -> LogRecord:
    events = [event("E", user, received, f"{tag}-{user}", received) for user in USERS]
    return LogRecord(project.id, "track", received, events)


def test_as_of_reads_each_earlier_version_and_leaves_out_the_tail(tmp_path: Path) -> None:
    project = ProjectCatalog(tmp_path).create("travel")
    worker = StorageWorker(tmp_path, Settings(compaction_trigger_parts=1))
    reader = EventReader(tmp_path, 1 << 20)
    with LogFeed(tmp_path) as feed:
        feed.append([batch(project, "first", 1_000)])
        worker.run_once()
        first = version(tmp_path, project)
        time.sleep(0.01)
        between = datetime.now(UTC)
        time.sleep(0.01)
        feed.append([batch(project, "second", 2_000)])
        worker.run_once()
        worker.maintain()  # compaction: every shard's two parts become one
        second = version(tmp_path, project)
        feed.append([batch(project, "tail", 3_000)])  # logged, not stored

    first_ids = sorted(f"first-{u}" for u in USERS)
    second_ids = sorted(first_ids + [f"second-{u}" for u in USERS])
    assert insert_ids(reader, project, as_of=first) == first_ids
    assert insert_ids(reader, project, as_of=between) == first_ids
    assert insert_ids(reader, project, as_of=second) == second_ids
    assert insert_ids(reader, project) == sorted(second_ids + [f"tail-{u}" for u in USERS])


def test_a_deletion_leaves_earlier_versions_in_the_table_but_not_in_reads(
    tmp_path: Path,
) -> None:
    project = ProjectCatalog(tmp_path).create("travel")
    worker = StorageWorker(tmp_path, Settings())
    reader = EventReader(tmp_path, 1 << 20)
    gone = USERS[0]
    with LogFeed(tmp_path) as feed:
        feed.append([batch(project, "first", 1_000)])
        worker.run_once()
    before = version(tmp_path, project)
    DeletionList(ProjectPaths(tmp_path, project.id).deletions).add([gone], 1_500)
    worker.maintain()
    after = version(tmp_path, project)

    assert after > before
    assert gone not in {row["distinct_id"] for row in table_rows(tmp_path, project)}
    # The older version keeps the files until vacuum (docs/storage.md, Deletion) ...
    assert gone in {row["distinct_id"] for row in table_rows(tmp_path, project, before)}
    # ... but every read path leaves the deleted user out, time travel included.
    kept = sorted(f"first-{u}" for u in USERS[1:])
    assert insert_ids(reader, project) == kept
    assert insert_ids(reader, project, as_of=before) == kept
