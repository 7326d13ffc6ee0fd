"""The per-project cap on distinct property names: a record that would take its project's set
past the cap is refused with a message naming the setting, the rest of the request is stored;
the sets are shared by every process of a data directory and survive restarts."""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from typing import Any

import pytest

from tests.ingest.asgi import Harness, Reply
from tests.live_server import LiveServer, make_project, running_server
from trackway.files import JsonFile
from trackway.property_names import PropertyNames
from trackway.settings import Settings
from trackway.storage.batches import events_to_table
from trackway.storage.events_table import EventTable
from trackway.storage.layout import ProjectPaths

NOW = 1_780_000_000.0
CAP = Settings(max_property_names=10, max_profile_property_names=4)


def event(token: str, i: int, names: range | list[str]) -> dict[str, Any]:
    props: dict[str, Any] = {"token": token, "distinct_id": f"u{i}", "$insert_id": f"id-{i}"}
    props.update({name if isinstance(name, str) else f"p{name}": 1 for name in names})
    return {"event": "Viewed", "properties": props}


def track(h: Harness, batch: list[dict[str, Any]], query: str = "verbose=1") -> Reply:
    return h.request("POST", "/track", query, json.dumps(batch).encode())


def stored(h: Harness) -> list[str]:
    return [item["properties"]["$insert_id"] for item in h.events()]


def test_an_event_past_the_cap_is_refused_and_the_rest_stored(tmp_path: Path) -> None:
    h = Harness(tmp_path, CAP, NOW)
    batch = [
        event(h.a.token, 0, range(0, 6)),
        event(h.a.token, 1, range(6, 12)),  # 6 + 6 > 10
        event(h.a.token, 2, range(3, 9)),  # 6 + 3 new = 9
        event(h.a.token, 3, range(0, 9)),  # nothing new
    ]
    reply = track(h, batch, "verbose=1&strict=1")
    assert reply.status == 400
    body = json.loads(reply.body)
    assert body["num_records_imported"] == 3
    (failed,) = body["failed_records"]
    assert (failed["index"], failed["$insert_id"], failed["field"]) == (1, "id-1", "properties")
    assert failed["message"] == (
        f"Expected at most 10 distinct event property names in project {h.a.id} (setting "
        "`max_property_names`), which holds 6; this event would add 6 more (`p10`, `p11`, "
        "`p6`, …) - at `$[1].properties`"
    )
    assert stored(h) == ["id-0", "id-2", "id-3"]
    # The fixed properties (time, distinct_id, $insert_id, arrival) are not counted.
    assert sorted(h.names.names(h.a.id, "events")) == sorted(f"p{i}" for i in range(9))


def test_track_answers_1_when_some_events_are_stored_and_0_when_none(tmp_path: Path) -> None:
    h = Harness(tmp_path, CAP, NOW)
    assert json.loads(track(h, [event(h.a.token, 0, range(10))]).body)["status"] == 1
    refused = track(h, [event(h.a.token, 1, ["new"])])
    assert refused.status == 400
    assert "`max_property_names`" in json.loads(refused.body)["error"]
    plain = track(h, [event(h.a.token, 2, ["new"]), event(h.a.token, 3, range(4))], "")
    assert (plain.status, plain.body) == (200, b"1")
    assert stored(h) == ["id-0", "id-3"]


def test_import_reports_the_refused_events(tmp_path: Path) -> None:
    h = Harness(tmp_path, CAP, NOW)
    batch = [event(h.a.token, i, range(4 * i, 4 * i + 4)) for i in range(4)]
    for e in batch:
        e["properties"]["time"] = NOW - 10
    reply = h.request("POST", "/import", f"api_key={h.a.secret}", body=json.dumps(batch).encode())
    assert reply.status == 400
    body = json.loads(reply.body)
    assert body["num_records_imported"] == 2
    assert [f["index"] for f in body["failed_records"]] == [2, 3]
    assert all("setting `max_property_names`" in f["message"] for f in body["failed_records"])


def test_each_project_has_its_own_set(tmp_path: Path) -> None:
    h = Harness(tmp_path, CAP, NOW)
    batch = [event(h.a.token, 0, range(10)), event(h.b.token, 1, range(10, 20))]
    assert json.loads(track(h, batch).body) == {"status": 1, "error": None}
    assert stored(h) == ["id-0", "id-1"]


def test_two_processes_share_the_sets(tmp_path: Path) -> None:
    first = Harness(tmp_path, CAP, NOW)
    second = Harness(tmp_path, CAP, NOW, beside=first)
    assert second.names.known(first.a.id, "events") >= {"time", "distinct_id"}  # read now
    track(first, [event(first.a.token, 0, range(8))])
    # The second process has not seen p0..p7: it reads the file again and refuses p8..p10.
    reply = track(second, [event(first.a.token, 1, range(5, 11))], "strict=1")
    assert "which holds 8; this event would add 3 more" in reply.body.decode()
    # ... and learns p0..p7, which the first process added, without adding them twice.
    reply = track(second, [event(first.a.token, 2, range(0, 8))])
    assert json.loads(reply.body)["status"] == 1
    assert second.names.known(first.a.id, "events") >= {f"p{i}" for i in range(8)}
    assert len(first.names.names(first.a.id, "events")) == 8
    assert stored(second) == ["id-2"]


def test_the_sets_survive_a_restart(tmp_path: Path) -> None:
    before = Harness(tmp_path, CAP, NOW)
    track(before, [event(before.a.token, 0, range(10))])
    after = Harness(tmp_path, CAP, NOW, beside=before)
    assert json.loads(track(after, [event(before.a.token, 1, ["p10"])]).body)["status"] == 0
    assert json.loads(track(after, [event(before.a.token, 2, range(10))]).body)["status"] == 1
    assert stored(after) == ["id-2"]


def test_known_names_never_touch_the_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(tmp_path, CAP, NOW)
    track(h, [event(h.a.token, 0, range(10))])
    reads: list[Path] = []
    original = JsonFile.read

    def counted(self: JsonFile[Any]) -> Any:
        reads.append(self.path)
        return original(self)

    monkeypatch.setattr(JsonFile, "read", counted)
    batch = [event(h.a.token, i, range(i, 10)) for i in range(1, 6)]
    assert json.loads(track(h, batch).body)["status"] == 1
    assert not [path for path in reads if path.name == "property_names.json"]
    assert len(stored(h)) == 6


def update(token: str, distinct_id: str, **operations: Any) -> dict[str, Any]:
    return {"$token": token, "$distinct_id": distinct_id, **operations}


def test_engage_has_its_own_cap_and_set(tmp_path: Path) -> None:
    h = Harness(tmp_path, CAP, NOW)
    track(h, [event(h.a.token, 0, range(10))])  # the events' set is full; profiles are apart
    batch = [
        update(h.a.token, "u1", **{"$set": {"plan": "pro"}, "$add": {"logins": 1}}),
        update(h.a.token, "u2", **{"$set_once": {"a": 1, "b": 2, "c": 3}}),  # 2 + 3 > 4
        update(h.a.token, "u3", **{"$union": {"tags": ["x"]}, "$unset": ["gone"]}),
        update(h.a.token, "u4", **{"$remove": {"other": 1}, "$set": {"plan": "free"}}),
    ]
    reply = h.request("POST", "/engage", "verbose=1&strict=1", json.dumps(batch).encode())
    body = json.loads(reply.body)
    assert body["num_records_imported"] == 3
    (failed,) = body["failed_records"]
    assert failed["index"] == 1
    assert failed["message"] == (
        f"Expected at most 4 distinct user-profile property names in project {h.a.id} "
        "(setting `max_profile_property_names`), which holds 2; this update would add 3 more "
        "(`a`, `b`, `c`) - at `$[1]`"
    )
    # $unset and $remove name properties without creating them: they are not counted.
    assert sorted(h.names.names(h.a.id, "users")) == ["logins", "plan", "tags"]
    profiles = [item for r in h.records if r.kind == "engage" for item in r.items]
    assert [item["$distinct_id"] for item in profiles] == ["u1", "u3", "u4"]


def test_groups_have_their_own_set(tmp_path: Path) -> None:
    h = Harness(tmp_path, CAP, NOW)
    users = [update(h.a.token, "u1", **{"$set": {"a": 1, "b": 2, "c": 3, "d": 4}})]
    h.request("POST", "/engage", "", json.dumps(users).encode())
    group = {"$token": h.a.token, "$group_key": "company", "$group_id": "acme"}
    groups = [
        {**group, "$set": {"size": 5, "plan": "pro", "region": "eu"}},
        {**group, "$set": {"x": 1, "y": 2}},
    ]
    reply = h.request("POST", "/groups", "verbose=1", json.dumps(groups).encode())
    assert json.loads(reply.body)["status"] == 1
    assert sorted(h.names.names(h.a.id, "groups")) == ["plan", "region", "size"]
    assert [len(r.items) for r in h.records if r.kind == "groups"] == [1]


def test_a_set_over_the_cap_still_takes_the_names_it_holds(tmp_path: Path) -> None:
    """A data directory whose tables held more names than the cap before the cap existed
    (seeded from the tables) keeps accepting records that bring no new name."""
    PropertyNames(tmp_path).seed(1, {"events": [f"p{i}" for i in range(12)]})
    h = Harness(tmp_path, CAP, NOW)
    batch = [event(h.a.token, 0, range(12)), event(h.a.token, 1, ["p12"])]
    body = json.loads(track(h, batch, "strict=1").body)
    assert body["num_records_imported"] == 1
    assert "which holds 12" in body["failed_records"][0]["message"]


def test_serve_seeds_an_upgraded_directory_and_shares_the_cap_across_workers(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path)
    # A table written before the names file existed holds 8 names.
    old = [{"event": "Old", "properties": {**fixed(i), **{f"p{i}": i}}} for i in range(8)]
    EventTable(ProjectPaths(tmp_path, project.id).events).append(
        events_to_table(old, project.shards), {}
    )
    env = {"TRACKWAY_MAX_PROPERTY_NAMES": "10"}

    def send(server: LiveServer, i: int, names: list[str]) -> int:
        # A connection per request, so that the workers share them.
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            body = json.dumps([event(project.token, i, names)])
            connection.request("POST", "/track?verbose=1", body)
            status: int = json.loads(connection.getresponse().read())["status"]
            return status
        finally:
            connection.close()

    with running_server(tmp_path, workers=2, env=env) as server:
        assert [send(server, i, [f"q{i}"]) for i in range(6)] == [1, 1, 0, 0, 0, 0]
        assert send(server, 6, [*(f"p{i}" for i in range(8)), "q0"]) == 1
    with running_server(tmp_path, env=env) as server:
        assert send(server, 7, ["q1"]) == 1
        assert send(server, 8, ["q6"]) == 0
    names = PropertyNames(tmp_path).names(project.id, "events")
    assert sorted(names) == sorted([*(f"p{i}" for i in range(8)), "q0", "q1"])


def fixed(i: int) -> dict[str, Any]:
    return {
        "time": 1_000 + i,
        "distinct_id": f"old{i}",
        "$insert_id": f"old-{i}",
        "mp_processing_time_ms": 2_000,
    }
