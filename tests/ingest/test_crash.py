"""kill -9 of a loaded server: every acknowledged event is in the log exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.live_server import (
    logged_items,
    make_project,
    running_server,
    send_load,
    start_server,
    stop_server,
)

CLIENTS = 4
LOAD_SECONDS = 1.5


@pytest.mark.parametrize("workers", [1, 2])
def test_acknowledged_events_survive_kill_9(tmp_path: Path, workers: int) -> None:
    project = make_project(tmp_path)
    server = start_server(tmp_path, workers=workers)
    acked: list[list[str]] = [[] for _ in range(CLIENTS)]
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=send_load, args=(server.port, project.token, f"c{c}", acked[c], stop)
        )
        for c in range(CLIENTS)
    ]
    try:
        for thread in threads:
            thread.start()
        time.sleep(LOAD_SECONDS)
        server.kill()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        stop_server(server)
    acknowledged = [ident for client in acked for ident in client]
    assert len(acknowledged) > 500, "the load did not get going before the kill"

    # A restart recovers the log (truncating any torn tail); then every record is read back.
    with running_server(tmp_path, workers=workers):
        pass
    counts = Counter(item["properties"]["$insert_id"] for _, _, item in logged_items(tmp_path))
    missing = [ident for ident in acknowledged if counts[ident] == 0]
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:3]}"
    assert max(counts.values()) == 1, "an event was logged twice"
