"""The storage worker: golden cases for what it must store, retry and delete."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import trackway.storage.profile_reader as profile_reader_module
import trackway.storage.profile_store as profiles_module
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
from trackway.storage.columns import property_column
from trackway.storage.deletions import DeletionList
from trackway.storage.layout import ProjectPaths
from trackway.storage.profile_store import load_states
from trackway.storage.scan import EventReader
from trackway.storage.worker import StorageWorker

# Two users on one shard (of 8), so that deleting one rewrites a part that keeps the other.
SAME_SHARD = ("u1", "u2")


def new_project(data_dir: Path) -> Project:
    return ProjectCatalog(data_dir).create("worker")


def users(data_dir: Path, project: Project) -> dict[str, Any]:
    return load_states(ProjectPaths(data_dir, project.id).users)[0]


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param([[{"Plan": "pro", "plan": "free"}]], id="in one batch"),
        pytest.param([[{"plan": "free"}], [{"Plan": "pro"}]], id="in two batches"),
    ],
)
def test_property_names_differing_only_in_case_are_both_stored(
    tmp_path: Path, batches: list[list[dict[str, Any]]]
) -> None:
    """Mixpanel property names are case-sensitive; Delta column names are not."""
    project = new_project(tmp_path)
    worker = StorageWorker(tmp_path, Settings())
    with LogFeed(tmp_path) as feed:
        for number, batch in enumerate(batches):
            received = 1_000 + number
            events = [event("E", "u1", received, f"i{received}", received, **p) for p in batch]
            feed.append([LogRecord(project.id, "track", received, events)])
            worker.run_once()
    columns = [property_column(name, "s") for name in ("Plan", "plan")]
    rows = scan_events(EventReader(tmp_path, 1 << 20), project, columns)
    stored = {name: value for _, row in rows for name, value in row["properties"].items()}
    assert stored == {"Plan": "pro", "plan": "free"}


def test_a_profile_sum_beyond_64_bits_is_stored_and_later_records_too(tmp_path: Path) -> None:
    """$add runs in the worker, so its sums are not bounded by what ingest accepts."""
    project = new_project(tmp_path)
    worker = StorageWorker(tmp_path, Settings())
    big = 2**64 - 1
    adds = [profile_update("u1", add={"n": big}) for _ in range(2)]
    with LogFeed(tmp_path) as feed:
        feed.append([LogRecord(project.id, "engage", 1_000, adds)])
        feed.append([LogRecord(project.id, "engage", 1_001, [profile_update("u2", set={"a": 1})])])
        worker.run_once()
    stored = users(tmp_path, project)
    assert float(stored["u1"]["properties"]["n"]) == float(2 * big)
    assert stored["u2"]["properties"] == {"a": 1}


def test_a_failed_profile_commit_is_retried_without_applying_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's loop retries a failed pass; the retry must start from the table."""
    project = new_project(tmp_path)
    worker = StorageWorker(tmp_path, Settings())
    real_write = profiles_module.write_deltalake
    failures = [OSError("No space left on device")]

    def write_once_failing(*args: Any, **kwargs: Any) -> None:
        if failures:
            raise failures.pop()
        real_write(*args, **kwargs)

    monkeypatch.setattr(profiles_module, "write_deltalake", write_once_failing)
    with LogFeed(tmp_path) as feed:
        update = profile_update("u1", add={"n": 1}, append={"l": "x"})
        feed.append([LogRecord(project.id, "engage", 1_000, [update])])
        with pytest.raises(OSError, match="No space"):
            worker.run_once()
        worker.run_once()
    assert users(tmp_path, project)["u1"]["properties"] == {"n": 1, "l": ["x"]}


def test_a_replay_after_a_crash_before_the_log_commit_writes_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tables' recorded offsets make the replay skip what they hold (docs/storage.md)."""
    project = new_project(tmp_path)
    events = [event("E", f"u{i}", 1_000, f"i{i}", 1_000) for i in range(20)]
    update = profile_update("u1", add={"n": 1})
    with LogFeed(tmp_path) as feed:
        feed.append([LogRecord(project.id, "track", 1_000, events)])
        feed.append([LogRecord(project.id, "engage", 1_001, [update])])
        crash_before_log_commit(StorageWorker(tmp_path, Settings()), monkeypatch)
        assert StorageWorker(tmp_path, Settings()).run_once() == 2  # the replay
    counts = Counter(row["insert_id"] for row in table_rows(tmp_path, project))
    assert counts == Counter(f"i{i}" for i in range(20))
    assert users(tmp_path, project)["u1"]["properties"] == {"n": 1}


def test_scan_after_a_deletion_rewrote_a_part(tmp_path: Path) -> None:
    """Deleting u1 makes Delta rewrite the part it shares with u2 (same shard)."""
    project = new_project(tmp_path)
    worker = StorageWorker(tmp_path, Settings())
    kept, gone = SAME_SHARD
    events = [
        event("E", user, t, f"i{t}", 1_000, plan="pro") for user in SAME_SHARD for t in (1, 2)
    ]
    with LogFeed(tmp_path) as feed:
        feed.append([LogRecord(project.id, "track", 1_000, events)])
    worker.run_once()
    DeletionList(ProjectPaths(tmp_path, project.id).deletions).add([gone], 2_000)
    worker.maintain()
    assert {row["distinct_id"] for row in table_rows(tmp_path, project)} == {kept}
    rows = scan_events(EventReader(tmp_path, 1 << 20), project, [property_column("plan", "s")])
    assert sorted((row["distinct_id"], row["time"]) for _, row in rows) == [(kept, 1), (kept, 2)]


def test_many_deletions_at_once_are_applied_in_batches(tmp_path: Path) -> None:
    """More ids than one DELETE takes (quotes in ids too), at two request times: each id's
    events up to its deletion go, later ones and other users' stay."""
    project = new_project(tmp_path)
    worker = StorageWorker(tmp_path, Settings())
    doomed = [f"o'user-{i}" for i in range(1_100)]
    events = [event("E", user, 1, f"i{n}", 1_000) for n, user in enumerate([*doomed, "keep"])]
    with LogFeed(tmp_path) as feed:
        feed.append([LogRecord(project.id, "track", 1_000, events)])
        worker.run_once()
        deletions = DeletionList(ProjectPaths(tmp_path, project.id).deletions)
        deletions.add(doomed[:1_050], 2_000)
        deletions.add(doomed[1_050:], 3_000)
        feed.append(
            [LogRecord(project.id, "track", 4_000, [event("E", doomed[0], 2, "late", 4_000)])]
        )
        worker.run_once()
    worker.maintain()
    rows = table_rows(tmp_path, project)
    assert sorted((row["distinct_id"], row["time"]) for row in rows) == [
        ("keep", 1),
        (doomed[0], 2),
    ]


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(("log", "delete", "maintain", "pass"), id="deletion applied before the update is stored"),
        pytest.param(("log", "delete", "pass", "maintain"), id="update stored before the deletion is applied"),
    ],
)  # fmt: skip
def test_a_profile_updated_before_its_deletion_stays_deleted(
    tmp_path: Path, order: tuple[str, ...]
) -> None:
    """The update was received before the deletion: the deletion removes it, whenever the
    worker gets to either."""
    project = new_project(tmp_path)
    worker = StorageWorker(tmp_path, Settings())
    with LogFeed(tmp_path) as feed:
        feed.append([LogRecord(project.id, "engage", 1_000, [profile_update("u1", set={"a": 1})])])
        worker.run_once()
        steps = {
            "log": lambda: feed.append(
                [LogRecord(project.id, "engage", 2_000, [profile_update("u1", set={"b": 2})])]
            ),
            "delete": lambda: DeletionList(ProjectPaths(tmp_path, project.id).deletions).add(
                ["u1"], 3_000
            ),
            "maintain": worker.maintain,
            "pass": worker.run_once,
        }
        for step in order:
            steps[step]()
    assert users(tmp_path, project) == {}


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(("delete", "log", "maintain", "pass"), id="deletion applied before the update is stored"),
        pytest.param(("delete", "log", "pass", "maintain"), id="update stored before the deletion is applied"),
    ],
)  # fmt: skip
def test_a_profile_updated_after_its_deletion_is_new_activity(
    tmp_path: Path, order: tuple[str, ...]
) -> None:
    """As for events: what arrives after the deletion is kept (docs/storage.md, Deletion)."""
    project = new_project(tmp_path)
    worker = StorageWorker(tmp_path, Settings())
    with LogFeed(tmp_path) as feed:
        feed.append([LogRecord(project.id, "engage", 1_000, [profile_update("u1", set={"a": 1})])])
        worker.run_once()
        steps = {
            "delete": lambda: DeletionList(ProjectPaths(tmp_path, project.id).deletions).add(
                ["u1"], 2_000
            ),
            "log": lambda: feed.append(
                [LogRecord(project.id, "engage", 3_000, [profile_update("u1", 300, set={"b": 2})])]
            ),
            "maintain": worker.maintain,
            "pass": worker.run_once,
        }
        for step in order:
            steps[step]()
    assert users(tmp_path, project) == {
        "u1": {"properties": {"b": 2}, "created_ms": 300, "last_seen_ms": 300}
    }


def test_a_profile_read_as_the_worker_commits_counts_each_update_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker commits the tail's `$add` between the reader opening the table and reading
    its states: the states are of the version opened, so the `$add` counts once."""
    project = new_project(tmp_path)
    worker = StorageWorker(tmp_path, Settings())
    reader = EventReader(tmp_path, 1 << 20)
    with LogFeed(tmp_path) as feed:
        feed.append([LogRecord(project.id, "engage", 1_000, [profile_update("u1", set={"n": 1})])])
        worker.run_once()
        feed.append([LogRecord(project.id, "engage", 1_001, [profile_update("u1", add={"n": 1})])])
        load = profile_reader_module.states_of

        def commit_first(*args: Any, **kwargs: Any) -> Any:
            worker.run_once()  # as if the worker process committed just now
            return load(*args, **kwargs)

        monkeypatch.setattr(profile_reader_module, "states_of", commit_first)
        assert reader.profiles.current(project)["u1"]["properties"] == {"n": 2}
    monkeypatch.undo()
    assert reader.profiles.current(project)["u1"]["properties"] == {"n": 2}
