"""The official node SDK (npm `mixpanel`) against a live `trackway serve`: GET single events,
POST batches whose base64 keeps its `+` unescaped, people and group operations."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.live_server import logged_items, make_project, running_server

DRIVER = Path(__file__).parent / "node_sdk" / "drive.js"


def test_node_sdk_events_batches_people_and_groups(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    with running_server(tmp_path) as server:
        subprocess.run(
            ["node", str(DRIVER), f"127.0.0.1:{server.port}", project.token],
            check=True,
            timeout=60,
            cwd=DRIVER.parent,
        )
    items = logged_items(tmp_path)
    assert {project_id for project_id, _, _ in items} == {project.id}
    events = [item for _, kind, item in items if kind == "track"]
    assert [e["event"] for e in events[:2]] == ["Opened app", "Clicked"]
    first, clicked = events[0]["properties"], events[1]["properties"]
    assert (first["distinct_id"], first["screen"], first["mp_lib"]) == ("n1", "home", "node")
    assert abs(first["time"] - time.time() * 1000) < 60_000  # no time sent: the receive time
    assert abs(clicked["time"] - (time.time() * 1000 - 60_000)) < 60_000  # a Date arrives as ms
    batched = events[2:]
    assert [e["properties"]["i"] for e in batched] == list(range(120))
    assert all(e["properties"]["text"] == "??>>~~" * (i % 7) for i, e in enumerate(batched))

    profiles = [item for _, kind, item in items if kind == "engage"]
    ops = [
        next(
            k for k in p if k.startswith("$") and k not in ("$distinct_id", "$time", "$ignore_time")
        )
        for p in profiles
    ]
    assert ops == [
        "$set",
        "$set_once",
        "$add",
        "$append",
        "$union",
        "$remove",
        "$unset",
        "$append",
        "$set",
        "$delete",
    ]
    assert profiles[0]["$set"] == {"plan": "pro", "seats": 3}
    assert profiles[4]["$union"] == {"colors": ["red"]}
    assert profiles[8]["$set"] == {"$transactions": []}
    groups = [item for _, kind, item in items if kind == "groups"]
    assert [("$set" in g, "$delete" in g) for g in groups] == [(True, False), (False, True)]
