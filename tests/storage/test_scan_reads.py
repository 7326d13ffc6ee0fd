"""How the scan reads parts: duplicates looked for only where they can be, parts the
compaction deduplicated trusted, and a fresh process reading committed events without
pyarrow's pandas bridge."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.storage.pipeline import LogFeed, event, scan_events
from trackway.log import LogRecord
from trackway.projects import Project, ProjectCatalog
from trackway.settings import Settings
from trackway.storage.deletions import DeletionList
from trackway.storage.events_table import DEDUPLICATED_KEY, EventTable
from trackway.storage.layout import ProjectPaths
from trackway.storage.scan import EventReader
from trackway.storage.worker import StorageWorker


def store(tmp_path: Path, passes: list[list[dict[str, Any]]], compact_after: int) -> Project:
    """Each list of events in its own storage pass; compaction (of the parts there are) after
    the first ``compact_after`` passes (0: never)."""
    project = ProjectCatalog(tmp_path).create("reads")
    worker = StorageWorker(tmp_path, Settings(compaction_trigger_parts=1))
    with LogFeed(tmp_path) as feed:
        for number, events in enumerate(passes, 1):
            feed.append([LogRecord(project.id, "track", number, events)])
            worker.run_once()
            if number == compact_after:
                worker.maintain()
    return project


def deduplicated_flags(tmp_path: Path, project: Project) -> list[bool]:
    root = ProjectPaths(tmp_path, project.id).events
    snapshot = EventTable(root).snapshot()
    assert snapshot is not None
    return sorted(
        DEDUPLICATED_KEY in (pq.read_metadata(root / p.path).metadata or {})
        for p in snapshot.parts()
    )


def scanned(tmp_path: Path, project: Project) -> list[tuple[str, str, int, str, int]]:
    reader = EventReader(tmp_path, 1 << 24)
    return [
        (r["distinct_id"], r["event"], r["time"], r["insert_id"], r["received_ms"])
        for _, r in scan_events(reader, project, [])
    ]


def test_compaction_marks_its_part_and_duplicates_across_parts_are_dropped(
    tmp_path: Path,
) -> None:
    first = [
        event("A", "u1", 5, "x", 100),
        event("A", "u1", 5, "x", 101),  # a duplicate inside one pass
        event("A", "u1", 5, "y", 100),  # same user, time and event, another insert_id
    ]
    second = [event("B", "u1", 5, "x", 100), event("A", "u1", 5, "x", 99)]
    later = [event("A", "u1", 5, "x", 300), event("A", "u1", 5, "z", 300)]
    # The first two passes compact into one part, which holds A/x once.
    project = store(tmp_path, [first, second, later], compact_after=2)
    assert deduplicated_flags(tmp_path, project) == [False, True]
    assert sorted(scanned(tmp_path, project)) == [
        ("u1", "A", 5, "x", 300),
        ("u1", "A", 5, "y", 100),
        ("u1", "A", 5, "z", 300),
        ("u1", "B", 5, "x", 100),
    ]


def test_duplicates_inside_a_part_the_worker_wrote_are_dropped(tmp_path: Path) -> None:
    events = [
        event("A", "u1", 5, "x", 100),
        event("B", "u1", 5, "x", 100),
        event("A", "u1", 5, "x", 200),
        event("A", "u2", 5, "x", 100),
    ]
    project = store(tmp_path, [events], compact_after=0)
    assert deduplicated_flags(tmp_path, project) == [False]  # u1 and u2 share shard 2
    assert sorted(scanned(tmp_path, project)) == [
        ("u1", "A", 5, "x", 200),
        ("u1", "B", 5, "x", 100),
        ("u2", "A", 5, "x", 100),
    ]


_SCAN_IN_A_FRESH_PROCESS = """
import json, sys
from pathlib import Path
from typing import Any
from trackway.projects import ProjectCatalog
from trackway.storage.scan import EventReader

data_dir = Path(sys.argv[1])
(project,) = ProjectCatalog(data_dir).all()
reader = EventReader(data_dir, 1 << 24)
imported = "pandas" in sys.modules
scans = reader.scan(project, ["user_hash", "time", "event", "ps_plan"], (0, 10_000))
rows = sum(s.rows for s in scans)
print(json.dumps({"before": imported, "after": "pandas" in sys.modules, "rows": rows}))
"""


def test_a_fresh_process_scans_committed_events_without_importing_pandas(
    tmp_path: Path,
) -> None:
    # Identity edges, duplicates in runs of one millisecond, a deleted user: every step of
    # the scan of committed events runs.
    first = [
        event("A", "dev-1", 5, "x", 100, **{"$device_id": "1", "plan": "pro"}),
        event("A", "u1", 6, "y", 100, **{"$device_id": "1", "$user_id": "u1"}),
        event("A", "u1", 6, "y", 150, **{"$device_id": "1", "$user_id": "u1"}),
        event("B", "gone", 7, "z", 100),
    ]
    second = [event("A", "u1", 6, "y", 120)]
    later = [event("A", "u1", 6, "y", 300), event("A", "u2", 9, "w", 300)]
    project = store(tmp_path, [first, second, later], compact_after=2)
    DeletionList(ProjectPaths(tmp_path, project.id).deletions).add(["gone"], 1_000)
    out = subprocess.run(
        [sys.executable, "-c", _SCAN_IN_A_FRESH_PROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert json.loads(out.stdout) == {"before": False, "after": False, "rows": 3}


def test_a_reader_extends_its_merge_order_with_new_parts(tmp_path: Path) -> None:
    """One reader scanning after every commit (each shard's order extended with the new
    parts' rows, duplicates across them dropped) reads what a fresh reader reads, also
    after a compaction replaces parts, and with a time range."""
    project = ProjectCatalog(tmp_path).create("extend")
    worker = StorageWorker(tmp_path, Settings(compaction_trigger_parts=6))
    reader = EventReader(tmp_path, 1 << 26)
    rng = random.Random(5)
    window = (1_000, 1_400)

    def rows(current: EventReader, **scan_args: Any) -> list[tuple[int, dict[str, Any]]]:
        return scan_events(current, project, [], **scan_args)

    with LogFeed(tmp_path) as feed:
        for number in range(1, 13):
            events = [
                # Few users and times, insert ids reused: ties and duplicates across parts.
                event(
                    rng.choice(["A", "B"]),
                    f"u{rng.randrange(6)}",
                    1_000 + rng.randrange(60) * 10,
                    f"i{rng.randrange(30)}",
                    number * 100 + k,
                )
                for k in range(rng.randrange(1, 25))
            ]
            feed.append([LogRecord(project.id, "track", number, events)])
            worker.run_once()
            if number % 5 == 0:
                worker.maintain()
            fresh = EventReader(tmp_path, 1 << 26)
            assert rows(reader) == rows(fresh)
            assert rows(reader, time_range=window) == rows(fresh, time_range=window)
