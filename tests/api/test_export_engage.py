"""Export, engage, deletion and versions through a live `trackway serve`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.api.client import call, engage, track
from tests.live_server import LiveServer, make_project, running_server
from trackway.projects import Project, ProjectCatalog
from trackway.storage.worker import wait_until_stored

NOW = time.time()
TODAY = datetime.fromtimestamp(NOW, UTC).strftime("%Y-%m-%d")
FAST = {"TRACKWAY_STORAGE_POLL_MS": "50"}


def events(n: int, name: str = "Viewed", **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "event": name,
            "properties": {
                "distinct_id": f"u{i % 3}",
                "time": NOW - 100 + i,
                "$insert_id": f"{name[:3]}-{i}",
                "i": i,
                **extra,
            },
        }
        for i in range(n)
    ]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[LiveServer, Project]]:
    project = make_project(tmp_path)
    with running_server(tmp_path, env=FAST) as server:
        yield server, project


def export(server: LiveServer, project: Project, **params: Any) -> list[dict[str, Any]]:
    answer = call(
        server.port,
        "GET",
        "/api/2.0/export",
        {"from_date": TODAY, "to_date": TODAY, **params},
        user=project.secret,
    )
    assert answer.status == 200, answer.body
    return answer.lines()


def test_export_returns_what_was_received_right_after_the_ack(
    served: tuple[LiveServer, Project],
) -> None:
    server, project = served
    batch = events(10)
    track(server.port, project.token, batch + batch[:2])  # a client retry: two duplicates
    lines = export(server, project)
    assert len(lines) == 12  # raw export is not deduplicated
    first = next(line for line in lines if line["properties"]["$insert_id"] == "Vie-0")
    assert first["event"] == "Viewed"
    assert first["properties"]["time"] == int(NOW - 100)
    assert first["properties"]["i"] == 0
    in_ms = export(server, project, time_in_ms="true", limit=3, event='["Viewed"]')
    assert len(in_ms) == 3
    assert all(line["properties"]["time"] > 10**12 for line in in_ms)
    assert export(server, project, event='["Other"]') == []


def test_export_gzip_and_stored_data(served: tuple[LiveServer, Project]) -> None:
    server, project = served
    track(server.port, project.token, events(50))
    wait_until_stored(server.data_dir)
    answer = call(
        server.port,
        "GET",
        "/api/2.0/export",
        {"from_date": TODAY, "to_date": TODAY},
        user=project.secret,
        headers={"Accept-Encoding": "gzip"},
    )
    assert answer.headers["content-encoding"] == "gzip"
    assert sorted(line["properties"]["i"] for line in answer.lines()) == list(range(50))


def test_service_account_reads_only_its_projects(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    other = make_project(tmp_path, "other")
    account = ProjectCatalog(tmp_path).create_service_account("reader", [project.id])
    with running_server(tmp_path, env=FAST) as server:
        track(server.port, project.token, events(3))
        params = {"from_date": TODAY, "to_date": TODAY}
        ok = call(
            server.port,
            "GET",
            "/api/2.0/export",
            {**params, "project_id": project.id},
            user=account.username,
            password=account.secret,
        )
        assert ok.status == 200 and len(ok.lines()) == 3
        for extra, user in [
            ({"project_id": other.id}, account.username),
            ({}, account.username),
            ({}, project.token),
            ({}, other.secret + "x"),
        ]:
            denied = call(
                server.port,
                "GET",
                "/api/2.0/export",
                {**params, **extra},
                user=user,
                password=account.secret if user == account.username else "",
            )
            assert denied.status == 401, (extra, user)
        # another project's secret reads that project only
        assert call(server.port, "GET", "/api/2.0/export", params, user=other.secret).lines() == []


def test_engage_profiles_paging_and_output_properties(served: tuple[LiveServer, Project]) -> None:
    server, project = served
    engage(
        server.port,
        project.token,
        [{"$distinct_id": f"p{i:04d}", "$set": {"n": i, "plan": "pro"}} for i in range(1500)],
    )
    engage(
        server.port,
        project.token,
        [{"$distinct_id": "p0001", "$add": {"n": 10}}, {"$distinct_id": "p0002", "$delete": ""}],
    )
    first = call(server.port, "POST", "/api/2.0/engage", form={}, user=project.secret).json()
    assert (first["page"], first["page_size"], first["total"], first["status"]) == (
        0,
        1000,
        1499,
        "ok",
    )
    assert len(first["results"]) == 1000
    assert first["results"][1] == {
        "$distinct_id": "p0001",
        "$properties": {
            "n": 11,
            "plan": "pro",
            "$created": first["results"][1]["$properties"]["$created"],
            "$last_seen": first["results"][1]["$properties"]["$last_seen"],
        },
    }
    second = call(
        server.port,
        "POST",
        "/api/2.0/engage",
        form={"page": 1, "session_id": first["session_id"]},
        user=project.secret,
    ).json()
    assert len(second["results"]) == 499
    ids = [r["$distinct_id"] for r in first["results"] + second["results"]]
    assert len(set(ids)) == 1499 and "p0002" not in ids
    picked = call(
        server.port,
        "POST",
        "/api/2.0/engage",
        form={"distinct_ids": '["p0003","p0004"]', "output_properties": '["n"]'},
        user=project.secret,
    ).json()
    assert [r["$properties"] for r in picked["results"]] == [{"n": 3}, {"n": 4}]
    no_session = call(server.port, "POST", "/api/2.0/engage", form={"page": 1}, user=project.secret)
    assert no_session.status == 400


def test_deleting_users_hides_them_everywhere_at_once(served: tuple[LiveServer, Project]) -> None:
    server, project = served
    track(server.port, project.token, events(9))
    engage(server.port, project.token, [{"$distinct_id": "u1", "$set": {"a": 1}}])
    answer = call(
        server.port,
        "POST",
        f"/api/v1/projects/{project.id}/deletions",
        form={"distinct_ids": '["u1"]'},
        user=project.secret,
    )
    assert answer.status == 200 and answer.json()["deleted"] == 1
    assert {line["properties"]["distinct_id"] for line in export(server, project)} == {"u0", "u2"}
    profiles = call(server.port, "POST", "/api/2.0/engage", form={}, user=project.secret).json()
    assert profiles["total"] == 0
    track(
        server.port, project.token, events(2, "Returned")
    )  # new activity after the deletion stays
    assert sum(line["properties"]["distinct_id"] == "u1" for line in export(server, project)) == 1
    wait_until_stored(server.data_dir)
    versions = call(
        server.port, "GET", f"/api/v1/projects/{project.id}/versions", user=project.secret
    ).json()["versions"]
    assert versions and versions[0]["version"] >= versions[-1]["version"]


def test_time_travel_export(served: tuple[LiveServer, Project]) -> None:
    server, project = served
    track(server.port, project.token, events(4))
    wait_until_stored(server.data_dir)
    track(server.port, project.token, events(6, "Later"))
    wait_until_stored(server.data_dir)
    versions = call(
        server.port, "GET", f"/api/v1/projects/{project.id}/versions", user=project.secret
    ).json()["versions"]
    first_write = min(v["version"] for v in versions)
    assert len(export(server, project, as_of_version=first_write)) == 4
    assert len(export(server, project)) == 10


def test_time_travel_to_a_version_the_table_does_not_hold_is_a_400(
    served: tuple[LiveServer, Project],
) -> None:
    server, project = served
    track(server.port, project.token, events(2))
    wait_until_stored(server.data_dir)
    answer = call(
        server.port,
        "GET",
        "/api/2.0/export",
        {"from_date": TODAY, "to_date": TODAY, "as_of_version": 999},
        user=project.secret,
    )
    assert answer.status == 400, answer.body
    assert answer.json()["error"].startswith("Expected a table version from 0 to ")
