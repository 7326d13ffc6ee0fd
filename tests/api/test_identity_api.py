"""Identity through a live `trackway serve`: the cluster lookup, the activity feed
(/stream/query), reports and raw export across a merge that is still in the log tail, the
original ID merge rules as ingested, deleting a whole cluster, and bad parameters."""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.api.client import Answer, call, engage, track
from tests.live_server import LiveServer, make_project, running_server
from tests.query.store import event, write_parts
from trackway.projects import CATALOG_FILE, Project
from trackway.storage.scan import EventReader
from trackway.storage.worker import wait_until_stored

pytestmark = pytest.mark.slow

NOW_MS = int(time.time() * 1000)
T0 = NOW_MS - 3_600_000  # an hour ago: within /track's window
TODAY = datetime.fromtimestamp(NOW_MS / 1000, UTC).date()
DATES = {"from_date": str(TODAY - timedelta(days=2)), "to_date": str(TODAY)}
FAST = {"TRACKWAY_STORAGE_POLL_MS": "50"}
# A storage worker that reads 0 bytes a pass stores nothing: what is sent stays in the log tail.
NO_COMMITS = {"TRACKWAY_STORAGE_BATCH_BYTES": "0"}
ANON = "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"
ERROR_SHAPE = {"code", "error", "status", "error_code"}


def get(server: LiveServer, project: Project, path: str, **params: Any) -> Answer:
    return call(server.port, "GET", path, params, user=project.secret)


def ok(answer: Answer) -> Any:
    assert answer.status == 200, answer.body
    return answer.json()


def refused(answer: Answer, fragment: str) -> None:
    assert answer.status == 400, answer.body
    error = answer.json()
    assert set(error) == ERROR_SHAPE
    assert fragment in error["error"], error["error"]


def who(server: LiveServer, project: Project, distinct_id: str) -> dict[str, Any]:
    path = f"/api/v1/projects/{project.id}/identity"
    found: dict[str, Any] = ok(get(server, project, path, distinct_id=distinct_id))
    return found


def feed(server: LiveServer, project: Project, *ids: str, **params: Any) -> list[dict[str, Any]]:
    answer = ok(
        get(
            server,
            project,
            "/api/2.0/stream/query",
            distinct_ids=json.dumps(ids),
            **DATES,
            **params,
        )
    )
    assert answer["status"] == "ok"
    events: list[dict[str, Any]] = answer["results"]["events"]
    return events


def export(server: LiveServer, project: Project) -> list[dict[str, Any]]:
    answer = get(server, project, "/api/2.0/export", **DATES)
    assert answer.status == 200, answer.body
    return answer.lines()


def funnel(server: LiveServer, project: Project) -> tuple[int, int]:
    """(users who started, users who completed) View -> Buy, over every date bucket."""
    steps = json.dumps([{"event": "View"}, {"event": "Buy"}])
    data = ok(get(server, project, "/api/2.0/funnels", steps=steps, **DATES))["data"]
    analyses = [bucket["analysis"] for bucket in data.values()]
    return sum(a["starting_amount"] for a in analyses), sum(a["completion"] for a in analyses)


def sent(name: str, seconds_after_t0: int, insert_id: str, **props: Any) -> dict[str, Any]:
    """An event as a client sends it."""
    time_s = (T0 + seconds_after_t0 * 1000) / 1000
    return {"event": name, "properties": {"time": time_s, "$insert_id": insert_id, **props}}


def post_json(server: LiveServer, path: str, body: Any, secret: str | None = None) -> Answer:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{secret}:".encode()).decode()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request("POST", path, json.dumps(body), headers)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def track_strict(server: LiveServer, project: Project, events: list[dict[str, Any]]) -> Answer:
    for item in events:
        item["properties"]["token"] = project.token
    form = {"data": json.dumps(events)}
    return call(server.port, "POST", "/track", {"verbose": 1, "strict": 1}, form)


def original_merge_project(data_dir: Path, name: str) -> Project:
    """A project under original ID merge (the catalog has no command to set it yet)."""
    project = make_project(data_dir, name)
    path = data_dir / CATALOG_FILE
    catalog = orjson.loads(path.read_bytes())
    for entry in catalog["projects"]:
        if entry["id"] == project.id:
            entry["id_merge"] = "original"
    path.write_bytes(orjson.dumps(catalog))
    return project


# --- simplified ID merge, the merge still in the log tail ---


@pytest.fixture(scope="module")
def tail_merge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Project]]:
    """A device's View and Cart and its user's Buy committed to the table; bob's View too.
    The event tying the device to the user is sent to the server, which keeps it in the log
    tail."""
    data_dir = tmp_path_factory.mktemp("identity-tail")
    project = make_project(data_dir)
    device = {"$device_id": "d1"}
    committed = [
        event("View", "$device:d1", T0, "v1", T0, **device),
        event("Cart", "$device:d1", T0 + 60_000, "c1", T0, **device),
        event("Buy", "alice", T0 + 300_000, "b1", T0, **{"$user_id": "alice"}),
        event("View", "bob", T0, "v2", T0, **{"$user_id": "bob"}),
    ]
    write_parts(data_dir, project, committed)
    with running_server(data_dir, env=NO_COMMITS) as server:
        merge = sent("Sign in", 120, "s1", **{"$device_id": "d1", "$user_id": "alice"})
        track(server.port, project.token, [merge])
        yield server, project


def test_the_merge_is_in_the_log_tail_and_the_rest_committed(
    tail_merge: tuple[LiveServer, Project],
) -> None:
    server, project = tail_merge
    reader = EventReader(server.data_dir, 1 << 24)
    snapshot = reader.snapshot(project)
    assert snapshot is not None and snapshot.parts()
    assert [e["event"] for e in reader.tail_events(project, snapshot)] == ["Sign in"]


def test_identity_lookup_shows_the_cluster(tail_merge: tuple[LiveServer, Project]) -> None:
    server, project = tail_merge
    cluster = {
        "canonical_id": "alice",
        "cluster": ["alice", "$device:d1"],
        "id_merge": "simplified",
    }
    assert who(server, project, "$device:d1") == {"distinct_id": "$device:d1", **cluster}
    assert who(server, project, "alice") == {"distinct_id": "alice", **cluster}
    assert who(server, project, "bob")["cluster"] == ["bob"]
    assert who(server, project, "never-seen") == {
        "distinct_id": "never-seen",
        "canonical_id": "never-seen",
        "cluster": ["never-seen"],
        "id_merge": "simplified",
    }


def test_the_feed_of_any_id_is_the_whole_cluster_in_time_order(
    tail_merge: tuple[LiveServer, Project],
) -> None:
    server, project = tail_merge
    expected = [
        ("View", "$device:d1", T0 // 1000),
        ("Cart", "$device:d1", (T0 + 60_000) // 1000),
        ("Sign in", "alice", (T0 + 120_000) // 1000),
        ("Buy", "alice", (T0 + 300_000) // 1000),
    ]
    for ids in [("$device:d1",), ("alice",), ("alice", "$device:d1")]:
        events = feed(server, project, *ids)
        shown = [
            (e["event"], e["properties"]["distinct_id"], e["properties"]["time"]) for e in events
        ]
        assert shown == expected, ids
        assert {e["properties"]["$resolved_distinct_id"] for e in events} == {"alice"}
    assert [e["event"] for e in feed(server, project, "$device:d1", limit=2)] == ["Sign in", "Buy"]
    assert [e["event"] for e in feed(server, project, "bob", "nobody")] == ["View"]
    alias = call(
        server.port,
        "GET",
        "/api/query/stream/query",
        {"distinct_ids": '["$device:d1"]', **DATES},
        user=project.secret,
    )
    assert len(ok(alias)["results"]["events"]) == 4


def test_reports_count_the_device_and_its_user_as_one(
    tail_merge: tuple[LiveServer, Project],
) -> None:
    server, project = tail_merge
    assert funnel(server, project) == (2, 1)  # alice (through her device) and bob; alice buys


def test_export_keeps_the_sent_id_and_adds_the_resolved_one(
    tail_merge: tuple[LiveServer, Project],
) -> None:
    server, project = tail_merge
    lines = export(server, project)
    resolved = {
        (line["event"], line["properties"]["distinct_id"]): line["properties"][
            "$resolved_distinct_id"
        ]
        for line in lines
    }
    assert resolved == {
        ("View", "$device:d1"): "alice",
        ("Cart", "$device:d1"): "alice",
        ("Sign in", "alice"): "alice",
        ("Buy", "alice"): "alice",
        ("View", "bob"): "bob",
    }


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        pytest.param("/api/2.0/stream/query", {**DATES}, "`distinct_ids`", id="feed: no ids"),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": "alice", **DATES},
            "Expected `distinct_ids` as a JSON array",
            id="feed: ids not JSON",
        ),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": "[]", **DATES},
            "1 to 100 ids, got 0 ids",
            id="feed: no id in the array",
        ),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": json.dumps([f"u{i}" for i in range(101)]), **DATES},
            "1 to 100 ids, got 101",
            id="feed: too many ids",
        ),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": '["a"]', "to_date": DATES["to_date"]},
            "`from_date`",
            id="feed: no from_date",
        ),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": '["a"]', "from_date": "2026-13-01", "to_date": DATES["to_date"]},
            "Expected `from_date` as a date YYYY-MM-DD",
            id="feed: bad from_date",
        ),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": '["a"]', "from_date": DATES["to_date"], "to_date": "2020-01-01"},
            "Expected `to_date` on or after `from_date`",
            id="feed: dates reversed",
        ),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": '["a"]', "limit": "0", **DATES},
            "Expected `limit` between 1 and 100000",
            id="feed: limit 0",
        ),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": '["a"]', "workspace_id": "3", **DATES},
            "`workspace_id`: data views are not supported",
            id="feed: workspace_id",
        ),
        pytest.param(
            "/api/2.0/stream/query",
            {"distinct_ids": '["a"]', "format": "csv", **DATES},
            "got `format`",
            id="feed: unknown parameter",
        ),
        pytest.param(
            "/api/v1/projects/{project}/identity",
            {},
            "Expected the `distinct_id` parameter",
            id="identity: no id",
        ),
        pytest.param(
            "/api/v1/projects/{project}/identity",
            {"distinct_id": "a", "distinct_ids": '["b"]'},
            "got `distinct_ids`",
            id="identity: unknown parameter",
        ),
    ],
)
def test_bad_parameters_answer_400_naming_them(
    tail_merge: tuple[LiveServer, Project], path: str, params: dict[str, str], fragment: str
) -> None:
    server, project = tail_merge
    refused(get(server, project, path.format(project=project.id), **params), fragment)


def test_deletion_ids_must_be_a_json_array(tail_merge: tuple[LiveServer, Project]) -> None:
    server, project = tail_merge
    path = f"/api/v1/projects/{project.id}/deletions"
    for form, fragment in [
        ({"distinct_ids": "alice"}, "Expected `distinct_ids` as a JSON array"),
        ({"distinct_ids": "[]"}, "Expected 1 to 2000 distinct_ids to delete, got 0"),
    ]:
        refused(call(server.port, "POST", path, form=form, user=project.secret), fragment)


# --- original ID merge and deletion, with a storage worker that commits ---


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Path]]:
    data_dir = tmp_path_factory.mktemp("identity-served")
    with running_server(data_dir, env=FAST) as server:
        yield server, data_dir


def test_original_id_merge_rules(served: tuple[LiveServer, Path]) -> None:
    server, data_dir = served
    project = original_merge_project(data_dir, "original")
    track(
        server.port,
        project.token,
        [
            sent("Open", 0, "o1", distinct_id=ANON),
            # Without distinct_id, $identify belongs to the identified id.
            sent("$identify", 10, "i1", **{"$identified_id": "bob", "$anon_id": ANON}),
            # Not an SDK's anonymous id (a UUID): no merge.
            sent("$identify", 11, "i2", **{"$identified_id": "carol", "$anon_id": "my-phone"}),
            sent("$create_alias", 20, "a1", distinct_id="bob", alias="bob@example.com"),
        ],
    )
    # Later, in arrival and in time: the alias is already taken.
    track(
        server.port,
        project.token,
        [sent("$create_alias", 30, "a2", distinct_id="dave", alias="bob@example.com")],
    )
    no_id = track_strict(server, project, [sent("$create_alias", 31, "a3", alias="x")])
    assert no_id.status == 400, no_id.body
    (failure,) = no_id.json()["failed_records"]
    assert failure["field"] == "properties.distinct_id"
    assert "`distinct_id` (the id `alias` joins) on `$create_alias`" in failure["message"]
    on_track = track_strict(
        server, project, [sent("$merge", 32, "m0", **{"$distinct_ids": ["bob", "erin"]})]
    )
    assert on_track.status == 400, on_track.body
    (failure,) = on_track.json()["failed_records"]
    assert "`$merge` only on the authenticated /import" in failure["message"]
    # $merge on /import (credentials required), without distinct_id: the first id's.
    merge = sent("$merge", 40, "m1", token=project.token, **{"$distinct_ids": ["bob", "erin"]})
    imported = post_json(server, "/import", [merge], project.secret)
    assert imported.status == 200, imported.body
    assert imported.json()["num_records_imported"] == 1

    members = sorted([ANON, "bob@example.com", "erin"])
    for distinct_id in ["bob", ANON, "bob@example.com", "erin"]:
        assert who(server, project, distinct_id) == {
            "distinct_id": distinct_id,
            "canonical_id": "bob",
            "cluster": ["bob", *members],
            "id_merge": "original",
        }
    for alone in ["carol", "my-phone", "dave"]:
        assert who(server, project, alone)["cluster"] == [alone]
    sent_ids = {line["properties"]["$insert_id"]: line for line in export(server, project)}
    assert sent_ids["i1"]["properties"]["distinct_id"] == "bob"
    assert sent_ids["m1"]["properties"]["distinct_id"] == "bob"
    assert sent_ids["o1"]["properties"]["$resolved_distinct_id"] == "bob"
    assert [e["event"] for e in feed(server, project, "erin")] == [
        "Open",
        "$identify",
        "$create_alias",
        "$merge",
    ]


def test_deleting_any_id_deletes_the_whole_cluster(served: tuple[LiveServer, Path]) -> None:
    server, data_dir = served
    project = make_project(data_dir, "deletion")
    track(
        server.port,
        project.token,
        [
            sent("View", 0, "v1", **{"$device_id": "d2"}),
            sent("Sign in", 60, "s1", **{"$device_id": "d2", "$user_id": "frank"}),
            sent("Buy", 120, "b1", **{"$user_id": "frank"}),
            sent("View", 0, "v2", **{"$user_id": "gina"}),
            sent("Buy", 60, "b2", **{"$user_id": "gina"}),
        ],
    )
    engage(
        server.port,
        project.token,
        [
            {"$distinct_id": "frank", "$set": {"plan": "pro"}},
            {"$distinct_id": "$device:d2", "$set": {"os": "ios"}},
            {"$distinct_id": "gina", "$set": {"plan": "free"}},
        ],
    )
    assert funnel(server, project) == (2, 2)
    answer = call(
        server.port,
        "POST",
        f"/api/v1/projects/{project.id}/deletions",
        form={"distinct_ids": '["$device:d2"]'},
        user=project.secret,
    )
    deleted = ok(answer)
    assert (deleted["deleted"], deleted["deleted_ids"]) == (2, ["frank", "$device:d2"])

    def nothing_of_frank_is_left() -> None:
        assert {line["properties"]["distinct_id"] for line in export(server, project)} == {"gina"}
        assert funnel(server, project) == (1, 1)
        assert feed(server, project, "$device:d2") == []
        assert who(server, project, "$device:d2")["cluster"] == ["$device:d2"]
        profiles = ok(call(server.port, "POST", "/api/2.0/engage", form={}, user=project.secret))
        assert [p["$distinct_id"] for p in profiles["results"]] == ["gina"]

    nothing_of_frank_is_left()  # at once, from the deletion list
    wait_until_stored(server.data_dir)
    nothing_of_frank_is_left()  # and once the worker has deleted the rows
