"""The official Python SDK (PyPI `mixpanel`) against a live `trackway serve`.

Asserts what reached the write-ahead log, record by record.
"""

from __future__ import annotations

import time
from pathlib import Path

from mixpanel import BufferedConsumer, Consumer, Mixpanel

from tests.live_server import logged_items, make_project, running_server


def _urls(base: str) -> dict[str, str]:
    return {
        "events_url": f"{base}/track",
        "people_url": f"{base}/engage",
        "groups_url": f"{base}/groups",
        "import_url": f"{base}/import",
    }


def test_python_sdk_consumer_people_groups_and_import(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    old = int(time.time()) - 30 * 86_400
    with running_server(tmp_path) as server:
        mp = Mixpanel(project.token, consumer=Consumer(**_urls(server.url)))
        mp.track("alice", "Signed up", {"plan": "pro", "price": 9.5, "tags": ["a", "b"]})
        mp.people_set("alice", {"$email": "alice@example.com"})
        mp.people_set_once("alice", {"first_seen": "today"})
        mp.people_increment("alice", {"logins": 2})
        mp.people_append("alice", {"pages": "/home"})
        mp.people_union("alice", {"colors": ["red", "blue"]})
        mp.people_remove("alice", {"colors": "red"})
        mp.people_unset("alice", ["first_seen"])
        mp.people_track_charge("alice", 12.5)
        mp.people_clear_charges("alice")
        mp.people_delete("alice")
        mp.group_set("company", "acme", {"size": 50})
        mp.group_set_once("company", "acme", {"founded": 1999})
        mp.group_union("company", "acme", {"regions": ["eu"]})
        mp.group_remove("company", "acme", {"regions": "eu"})
        mp.group_unset("company", "acme", ["size"])
        mp.group_delete("company", "acme")
        mp.import_data(
            api_key=None,
            distinct_id="bob",
            event_name="Purchased",
            timestamp=old,
            properties={"amount": 3},
            api_secret=project.secret,
        )
    items = logged_items(tmp_path)
    assert all(project_id == project.id for project_id, _, _ in items)
    kinds = [kind for _, kind, _ in items]
    assert kinds == ["track"] + ["engage"] * 10 + ["groups"] * 6 + ["import"]

    signed_up = items[0][2]
    assert signed_up["event"] == "Signed up"
    props = signed_up["properties"]
    assert props["distinct_id"] == "alice"
    assert (props["plan"], props["price"], props["tags"], props["mp_lib"]) == (
        "pro",
        9.5,
        ["a", "b"],
        "python",
    )
    assert len(props["$insert_id"]) == 32
    assert abs(props["time"] - time.time() * 1000) < 60_000

    ops = [
        next(k for k in item if k not in ("$distinct_id", "$time", "$ignore_time"))
        for _, _, item in items[1:11]
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
        "$unset",
        "$delete",
    ]
    assert items[1][2]["$set"] == {"$email": "alice@example.com"}
    assert items[3][2]["$add"] == {"logins": 2}
    assert items[8][2]["$append"]["$transactions"]["$amount"] == 12.5
    assert all(item["$distinct_id"] == "alice" for _, _, item in items[1:11])

    group = items[11][2]
    assert (group["$group_key"], group["$group_id"], group["$set"]) == (
        "company",
        "acme",
        {"size": 50},
    )
    assert "$delete" in items[16][2]

    imported = items[17][2]["properties"]
    assert (imported["distinct_id"], imported["time"], imported["$import"]) == (
        "bob",
        old * 1000,
        True,
    )


def test_python_sdk_buffered_consumer_sends_batches(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    with running_server(tmp_path) as server:
        consumer = BufferedConsumer(max_size=50, **_urls(server.url))
        mp = Mixpanel(project.token, consumer=consumer)
        for i in range(120):
            mp.track(f"user-{i % 7}", "Viewed page", {"n": i, "url": f"/p/{i}?q=a+b&c=%20"})
        for i in range(60):
            mp.people_set(f"user-{i}", {"n": i})
        consumer.flush()
    items = logged_items(tmp_path)
    events = [item for _, kind, item in items if kind == "track"]
    assert [e["properties"]["n"] for e in events] == list(range(120))
    assert events[5]["properties"]["url"] == "/p/5?q=a+b&c=%20"
    assert len({e["properties"]["$insert_id"] for e in events}) == 120
    people = [item for _, kind, item in items if kind == "engage"]
    assert [p["$set"]["n"] for p in people] == list(range(60))
