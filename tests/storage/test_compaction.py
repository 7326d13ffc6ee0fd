"""Compaction keeps the files per shard bounded and every event exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from tests.storage.pipeline import LogFeed, event, profile_update, scan_events, table_rows
from trackway.log import LogRecord
from trackway.projects import Project, ProjectCatalog
from trackway.settings import Settings
from trackway.storage import profile_compaction
from trackway.storage.compaction import compact_project
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import EventTable, parts_of
from trackway.storage.layout import ProjectPaths
from trackway.storage.profile_store import load_states
from trackway.storage.scan import EventReader
from trackway.storage.worker import StorageWorker

# Spread over shards 2, 3, 0, 5, 4 and 1 of 8; u1 and u2 share shard 2.
USERS = ["u1", "u2", "u3", "u5", "alice", "bob", "carol"]


def parts_per_shard(data_dir: Path, project: Project) -> Counter[int]:
    snapshot = EventTable(ProjectPaths(data_dir, project.id).events).snapshot()
    assert snapshot is not None
    return Counter(part.shard for part in snapshot.parts())


def scanned_ids(reader: EventReader, project: Project) -> Counter[str]:
    return Counter(row["insert_id"] for _, row in scan_events(reader, project, ["ps_plan"]))


def test_many_small_passes_keep_files_bounded_and_events_once(tmp_path: Path) -> None:
    trigger = 3
    project = ProjectCatalog(tmp_path).create("compaction")
    worker = StorageWorker(tmp_path, Settings(compaction_trigger_parts=trigger))
    reader = EventReader(tmp_path, 1 << 20)
    sent: Counter[str] = Counter()
    with LogFeed(tmp_path) as feed:
        for number in range(60):
            received = 10_000 + number
            users = [USERS[(number + i) % len(USERS)] for i in range(3)]
            events = [
                event("E", user, received, f"p{number}-{user}", received, plan="pro")
                for user in users
            ]
            feed.append([LogRecord(project.id, "track", received, events)])
            sent.update(e["properties"]["$insert_id"] for e in events)
            worker.run_once()
            worker.maintain()
            most = max(parts_per_shard(tmp_path, project).values())
            assert most <= trigger + 1, f"{most} files in one shard after pass {number}"
            assert scanned_ids(reader, project) == sent, f"after pass {number}"
    assert Counter(row["insert_id"] for row in table_rows(tmp_path, project)) == sent


def test_compaction_keeps_the_latest_copy_and_drops_deleted_rows(tmp_path: Path) -> None:
    project = ProjectCatalog(tmp_path).create("compaction")
    worker = StorageWorker(tmp_path, Settings(compaction_trigger_parts=1))
    with LogFeed(tmp_path) as feed:
        for received, plan in [(1_000, "old"), (3_000, "new"), (2_000, "middle")]:
            copies = [event("E", user, 5, "same", received, plan=plan) for user in ("u1", "u2")]
            copies.append(event("E", "u2", 6, f"once-{received}", received, plan=plan))
            feed.append([LogRecord(project.id, "track", received, copies)])
            worker.run_once()  # one part per pass: three parts on shard 2
    paths = ProjectPaths(tmp_path, project.id)
    deletions = DeletionList(paths.deletions)
    deletions.add(["u2"], 2_500)
    # Compaction alone, before the worker deletes u2's rows: the merge must drop those
    # received up to the deletion, and keep the rest (new activity).
    assert compact_project(EventTable(paths.events), deletions, worker.settings) == 1
    rows = table_rows(tmp_path, project)
    assert sorted(
        (r["distinct_id"], r["insert_id"], r["received_ms"], r["ps_plan"]) for r in rows
    ) == [
        ("u1", "same", 3_000, "new"),
        ("u2", "once-3000", 3_000, "new"),
        ("u2", "same", 3_000, "new"),
    ]
    assert parts_per_shard(tmp_path, project) == Counter({2: 1})


Batch = list[tuple[str, dict[str, Any]]]  # (distinct_id, properties) per event


def compact_after(tmp_path: Path, batches: list[Batch], delete: list[str]) -> None:
    """Store each batch in its own pass, delete users, then maintain (deletion, compaction)."""
    project = ProjectCatalog(tmp_path).create("compaction")
    worker = StorageWorker(tmp_path, Settings(compaction_trigger_parts=1))
    sent = []
    with LogFeed(tmp_path) as feed:
        for number, batch in enumerate(batches):
            received = 1_000 + number
            events = [
                event("E", user, received, f"b{number}-{user}", received, **props)
                for user, props in batch
            ]
            sent += events
            feed.append([LogRecord(project.id, "track", received, events)])
            worker.run_once()
    if delete:
        DeletionList(ProjectPaths(tmp_path, project.id).deletions).add(delete, 5_000)
    worker.maintain()
    assert parts_per_shard(tmp_path, project) == Counter({2: 1})
    kept = Counter(
        e["properties"]["$insert_id"] for e in sent if e["properties"]["distinct_id"] not in delete
    )
    assert Counter(row["insert_id"] for row in table_rows(tmp_path, project)) == kept


@pytest.mark.parametrize(
    ("batches", "delete"),
    [
        pytest.param([[("u1", {"plan": "pro"})], [("u1", {"n": 1})]], [], id="a string property missing from one part"),
        pytest.param([[("u1", {"plan": "pro"})], [("u1", {})]], [], id="a part without properties"),
        pytest.param([[("u1", {"plan": "pro"}), ("u2", {"plan": "free"})], [("u1", {"plan": "team"})]], ["u2"], id="a part the deletion rewrote"),
    ],
)  # fmt: skip
def test_compaction_merges_parts_of_different_shapes(
    tmp_path: Path, batches: list[Batch], delete: list[str]
) -> None:
    compact_after(tmp_path, batches, delete)


@pytest.mark.parametrize(
    ("settings", "most"),
    [
        pytest.param(Settings(compaction_trigger_parts=2), 2, id="whole shards (the backstop)"),
        pytest.param(
            Settings(compaction_fan_in=2, compaction_base_bytes=4_000), 5, id="by size tier"
        ),
    ],
)
def test_profile_tables_keep_files_bounded_and_the_latest_state(
    tmp_path: Path, settings: Settings, most: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New users every pass (so merged parts grow into higher tiers), updates of older ones,
    and deletions, whose tombstones a merge of only some of a shard's parts must keep."""
    project = ProjectCatalog(tmp_path).create("compaction")
    worker = StorageWorker(tmp_path, settings)
    paths = ProjectPaths(tmp_path, project.id)
    merges: list[bool] = []  # per merge: were all the shard's parts merged
    real_rows = profile_compaction.current_rows

    def counted(root: Path, parts: list[Any], whole: bool) -> Any:
        merges.append(whole)
        return real_rows(root, parts, whole)

    monkeypatch.setattr(profile_compaction, "current_rows", counted)
    expected: dict[str, dict[str, Any]] = {}
    with LogFeed(tmp_path) as feed:
        for number in range(24):
            received = 10_000 + number
            updates = []
            for user in [f"n{number}-{i}" for i in range(4)] + [f"n{number // 2}-0"]:
                note = f"{user}-{number}-" + "x" * 300
                updates.append(profile_update(user, time=received, set={"note": note}))
                expected[user] = {"note": note}
            if number % 5 == 4:
                gone = f"n{number - 3}-1"
                updates.append(profile_update(gone, time=received, delete=""))
                expected.pop(gone)
            feed.append([LogRecord(project.id, "engage", received, updates)])
            worker.run_once()
            worker.maintain()
            parts = Counter(p.shard for p in parts_of(DeltaTable(str(paths.users))))
            assert max(parts.values()) <= most, f"{parts} after pass {number}"
    states, _ = load_states(paths.users)
    assert {key: state["properties"] for key, state in states.items()} == expected
    store = StorageWorker(tmp_path, settings)._profile_store(paths.users)
    assert store.states([*expected, "n4-1"]) == states
    if settings.compaction_fan_in == 2:
        assert False in merges, "no merge left some of a shard's parts out"
