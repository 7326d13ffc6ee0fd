"""`trackway vacuum`: the storage worker's upkeep of a project's tables, now."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.storage.pipeline import LogFeed, event
from trackway.cli import main
from trackway.log import LogRecord
from trackway.projects import ProjectCatalog
from trackway.settings import Settings
from trackway.storage.events_table import EventTable
from trackway.storage.layout import ProjectPaths
from trackway.storage.worker import StorageWorker


def test_vacuum_with_no_retention_leaves_only_the_latest_versions_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = ProjectCatalog(tmp_path).create("data")
    worker = StorageWorker(tmp_path, Settings(compaction_trigger_parts=1))
    with LogFeed(tmp_path) as feed:
        for number in range(2):
            events = [event("E", "u1", number, f"i{number}", 1_000 + number)]
            feed.append([LogRecord(project.id, "track", 1_000 + number, events)])
            worker.run_once()
    worker.maintain()  # compaction: the two parts become one; both stay for time travel
    root = ProjectPaths(tmp_path, project.id).events
    assert len([p for p in root.rglob("*.parquet") if "_delta_log" not in p.parts]) == 3

    args = ["vacuum", "--retention-hours", "0", "--project", str(project.id)]
    code = main([*args, "--data-dir", str(tmp_path)])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.splitlines()[0].startswith("events: removed 2 data files and ")
    snapshot = EventTable(root).snapshot()
    assert snapshot is not None
    files = {
        str(p.relative_to(root)) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts
    }
    assert files == {part.path for part in snapshot.parts()}
