"""kill -9 of a loaded server, storage worker included: after a restart the tables hold every
acknowledged event exactly once, and no data file a crash left uncommitted survives."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest
from deltalake import DeltaTable

from tests.live_server import (
    LiveServer,
    make_project,
    running_server,
    send_load,
    start_server,
    stop_server,
)
from tests.storage.pipeline import scan_events, table_rows
from trackway.projects import Project
from trackway.storage.scan import EventReader
from trackway.storage.worker import wait_until_stored

pytestmark = pytest.mark.slow

LOAD_SECONDS = 1.5
USERS = [f"user-{i}" for i in range(16)]  # every shard of 8 gets some
# Compaction names its parts part-<uuid4>-c000; Delta writers name theirs part-00000-<uuid>.
COMPACTED_PART = re.compile(r"part-[0-9a-f]{8}-[0-9a-f]{4}-")


def uncommitted_files(data_dir: Path) -> set[Path]:
    """Event data files no commit in the table's log ever added: what a write or compaction
    cut short leaves. (Files of older versions were added by some commit and stay for time
    travel; file times cannot tell the two apart, a coarse clock may date a file before the
    commit that came just before it.)"""
    found = set()
    for root in (data_dir / "projects").glob("*/events"):
        if not DeltaTable.is_deltatable(str(root)):
            continue
        added = set()
        for commit in (root / "_delta_log").glob("*.json"):
            for line in commit.read_text().splitlines():
                action = json.loads(line).get("add")
                if action:
                    added.add((root / unquote(action["path"])).resolve())
        for path in root.rglob("*.parquet"):
            if "_delta_log" not in path.parts and path.resolve() not in added:
                found.add(path)
    return found


def compacted_parts(data_dir: Path) -> list[Path]:
    return [
        p
        for p in (data_dir / "projects").glob("*/events/shard=*/*.parquet")
        if COMPACTED_PART.match(p.name)
    ]


def load_then_kill(
    server: LiveServer, project: Project, clients: int, batch: int, kill_on_compaction: bool
) -> list[str]:
    """Send batches from ``clients`` threads; kill -9 the server after LOAD_SECONDS, or as
    soon as a compacted part appears when ``kill_on_compaction`` (waiting longer for one:
    the worker process needs a moment to start). Returns the acked ids."""
    acked: list[list[str]] = [[] for _ in range(clients)]
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=send_load,
            args=(server.port, project.token, f"c{c}", acked[c], stop),
            kwargs={"batch": batch, "max_batches": 100_000, "users": USERS},
        )
        for c in range(clients)
    ]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + LOAD_SECONDS * (4 if kill_on_compaction else 1)
        seen = set(compacted_parts(server.data_dir))
        while time.monotonic() < deadline:
            if kill_on_compaction and set(compacted_parts(server.data_dir)) - seen:
                break  # a compaction is writing its part: kill it, likely before it commits
            time.sleep(0.001 if kill_on_compaction else 0.05)
        server.kill()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        stop_server(server)
    return [ident for client in acked for ident in client]


def check_recovered(
    data_dir: Path, project: Project, acknowledged: list[str], env: dict[str, str]
) -> None:
    left_by_the_crash = uncommitted_files(data_dir)
    with running_server(data_dir, env=env):
        wait_until_stored(data_dir, timeout_s=60)
    # Stopped gracefully, no pass is half done: nothing may be uncommitted now, and what the
    # crash left uncommitted is gone (the restart removed it before anything else).
    assert not uncommitted_files(data_dir)
    assert not [p for p in left_by_the_crash if p.exists()], "the restart kept a crash's files"

    scanned = Counter(
        row["insert_id"] for _, row in scan_events(EventReader(data_dir, 1 << 26), project, [])
    )
    missing = [ident for ident in acknowledged if scanned[ident] == 0]
    assert not missing, f"{len(missing)} acknowledged events not stored, e.g. {missing[:3]}"
    # The scan drops duplicates; the table itself must not hold any either.
    stored = Counter(row["insert_id"] for row in table_rows(data_dir, project))
    twice = [ident for ident, count in stored.items() if count > 1]
    assert not twice, f"{len(twice)} events stored twice, e.g. {twice[:3]}"


def test_kill_9_mid_stream(tmp_path: Path) -> None:
    env = {"TRACKWAY_STORAGE_POLL_MS": "50", "TRACKWAY_COMPACTION_TRIGGER_PARTS": "2"}
    project = make_project(tmp_path)
    server = start_server(tmp_path, env=env)
    acknowledged = load_then_kill(server, project, clients=4, batch=20, kill_on_compaction=False)
    assert len(acknowledged) > 500, "the load did not get going before the kill"
    check_recovered(tmp_path, project, acknowledged, env)


def test_kill_9_while_compacting(tmp_path: Path) -> None:
    # Tiny batches and a trigger of one part: every pass compacts every shard it touched.
    env = {"TRACKWAY_STORAGE_POLL_MS": "10", "TRACKWAY_COMPACTION_TRIGGER_PARTS": "1"}
    project = make_project(tmp_path)
    server = start_server(tmp_path, env=env)
    acknowledged = load_then_kill(server, project, clients=6, batch=2, kill_on_compaction=True)
    assert acknowledged, "the load did not get going before the kill"
    assert compacted_parts(tmp_path), "no compaction ran before the kill"
    check_recovered(tmp_path, project, acknowledged, env)
