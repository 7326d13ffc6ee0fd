"""The routes the web app reads, through a live `trackway serve`: /me, the lexicon, the live
feed, freshness, saved reports and dashboards (docs/api.md), and their errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.api.client import call, track
from tests.api.test_behaviour_api import native, ok, reader, refused
from tests.live_server import LiveServer, make_project, running_server
from tests.query.store import event, store
from trackway.projects import Project, ProjectCatalog
from trackway.query import schema
from trackway.query.timebuckets import day_range, zone

pytestmark = pytest.mark.slow

TODAY = datetime.now(UTC).date()
FAST = {"TRACKWAY_STORAGE_POLL_MS": "50"}


def _ms(day: date, hour: int = 12) -> int:
    return (
        int(datetime.combine(day, datetime.min.time(), UTC).timestamp() * 1000) + hour * 3_600_000
    )


def _stored() -> list[dict[str, Any]]:
    """Ten events over the last three days: View with a browser and a price, Buy with a plan."""
    out = []
    for i in range(10):
        day = TODAY - timedelta(days=i % 3)
        if i % 2:
            props: dict[str, Any] = {"browser": "Chrome" if i % 3 else "Firefox", "price": i}
            out.append(event("View", f"u{i % 4}", _ms(day), f"s{i}", _ms(day) + 1_000, **props))
        else:
            out.append(event("Buy", f"u{i % 4}", _ms(day), f"s{i}", _ms(day) + 2_000, plan="pro"))
    return out


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, Project, Project]]:
    data_dir = tmp_path_factory.mktemp("web-api")
    project = make_project(data_dir, "Shop")
    stored = _stored()
    store(data_dir, project, [stored[:6]], stored[6:])
    other = make_project(data_dir, "Other")
    with running_server(data_dir, env=FAST) as server:
        yield server, project, other


def get(server: LiveServer, project: Project, path: str, **params: Any) -> Any:
    answer = call(
        server.port, "GET", f"/api/v1/projects/{project.id}{path}", params, user=project.secret
    )
    return ok(answer)


# --- /api/v1/me ---


def test_me_names_the_project_of_the_credentials(
    served: tuple[LiveServer, Project, Project],
) -> None:
    server, project, other = served
    for opened in (project, other):
        body = ok(call(server.port, "GET", "/api/v1/me", user=opened.secret))
        assert body["project"] == {
            "id": opened.id,
            "name": opened.name,
            "token": opened.token,
            "timezone": "UTC",
            "id_merge": "simplified",
            "created_ms": opened.created_ms,
        }
    account = ProjectCatalog(server.data_dir).create_service_account("web", [other.id])
    body = ok(
        call(
            server.port,
            "GET",
            "/api/v1/me",
            {"project_id": other.id},
            user=account.username,
            password=account.secret,
        )
    )
    assert body["project"]["id"] == other.id
    refused(call(server.port, "GET", "/api/v1/me"), 401, "none given")
    refused(call(server.port, "GET", "/api/v1/me", user="nope"), 401, "Invalid credentials")
    refused(call(server.port, "GET", "/api/v1/me", user=project.token), 401, "Invalid credentials")


# --- the lexicon ---


def test_lexicon_is_the_schema_discovery(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    last_31 = day_range(TODAY - timedelta(days=30), TODAY, zone("UTC"))
    events = get(server, project, "/schema/events")["events"]
    assert events == [{"name": "Buy", "count": 5}, {"name": "View", "count": 5}]
    expected = schema.event_properties(reader(server), project, "View", last_31, 1000)
    assert get(server, project, "/schema/properties", event="View")["properties"] == expected
    assert {p["name"]: p["types"] for p in expected} == {"browser": ["string"], "price": ["number"]}
    everything = get(server, project, "/schema/properties")["properties"]
    assert {p["name"] for p in everything} == {"browser", "price", "plan"}
    values = get(server, project, "/schema/values", name="browser", event="View")["values"]
    assert values == [{"value": "Chrome", "count": 3}, {"value": "Firefox", "count": 2}]
    # A range in the past has nothing.
    old = {"from_date": "2020-01-01", "to_date": "2020-01-02"}
    assert get(server, project, "/schema/events", **old)["events"] == []
    today = get(server, project, "/schema/events", from_date=str(TODAY), to_date=str(TODAY))
    assert sum(e["count"] for e in today["events"]) == 4


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        pytest.param("/schema/values", {}, "`name`", id="values without name"),
        pytest.param("/schema/events", {"from_date": "2026-01-01"}, "`to_date`", id="half a range"),
        pytest.param("/schema/events", {"limit": "0"}, "`limit`", id="limit"),
        pytest.param(
            "/schema/events",
            {"from_date": "2026-01-02", "to_date": "2026-01-01"},
            "on or after",
            id="reversed range",
        ),
        pytest.param(
            "/freshness",
            {"timezone": "Mars/Base", "from_date": "2026-01-01", "to_date": "2026-01-01"},
            "time zone",
            id="zone",
        ),
        pytest.param("/events/latest", {"after": "x"}, "`after`", id="after"),
        pytest.param("/events/latest", {"limit": "5000"}, "`limit`", id="latest limit"),
    ],
)
def test_bad_parameters_answer_400(
    served: tuple[LiveServer, Project, Project], path: str, params: dict[str, str], fragment: str
) -> None:
    server, project, _ = served
    answer = call(
        server.port, "GET", f"/api/v1/projects/{project.id}{path}", params, user=project.secret
    )
    refused(answer, 400, fragment)


# --- the live feed and freshness ---


def test_latest_events_then_new_ones_after_the_cursor(
    served: tuple[LiveServer, Project, Project],
) -> None:
    server, _, _ = served
    project = make_project(server.data_dir, "Live")
    first = get(server, project, "/events/latest")
    assert first == {"events": [], "cursor": -1, "truncated": False}
    # One request: one arrival time; the event times order them.
    sent = int(time.time() * 1000) - 1_000
    track(
        server.port,
        project.token,
        [
            {"event": f"Step {i}", "properties": {"distinct_id": "u1", "n": i, "time": sent + i}}
            for i in range(3)
        ],
    )
    found = get(server, project, "/events/latest", limit=2)
    assert [e["event"] for e in found["events"]] == ["Step 2", "Step 1"]
    assert found["truncated"] is True
    assert found["events"][0]["properties"]["n"] == 2
    cursor = found["cursor"]
    assert get(server, project, "/events/latest", after=cursor)["events"] == []
    time.sleep(0.01)  # a later millisecond of arrival
    track(server.port, project.token, [{"event": "Later", "properties": {"distinct_id": "u2"}}])
    later = get(server, project, "/events/latest", after=cursor)
    assert [e["event"] for e in later["events"]] == ["Later"]
    assert later["cursor"] > cursor


def test_freshness(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    stored = _stored()
    found = get(server, project, "/freshness")
    assert found["newest_event_ms"] == max(e["properties"]["time"] for e in stored)
    last = max(
        stored, key=lambda e: (e["properties"]["mp_processing_time_ms"], e["properties"]["time"])
    )
    assert found["received_ms"] == last["properties"]["mp_processing_time_ms"]
    assert found["lag_ms"] == 2_000  # a Buy of today, received 2 s after it happened
    assert 0 <= found["uncommitted_events"] <= 4  # the storage worker commits the tail
    assert abs(found["computed_ms"] - time.time() * 1000) < 60_000
    yesterday = str(TODAY - timedelta(days=1))
    one_day = get(server, project, "/freshness", from_date=yesterday, to_date=yesterday)
    assert one_day["newest_event_ms"] == _ms(TODAY - timedelta(days=1))
    empty = get(server, project, "/freshness", from_date="2020-01-01", to_date="2020-01-01")
    assert (empty["newest_event_ms"], empty["received_ms"], empty["lag_ms"]) == (None, None, None)


# --- saved reports and dashboards ---

STATE = {"metrics": [{"event": "View", "measure": "unique"}], "range": {"last": 7}, "view": "bar"}


def test_reports_and_dashboards(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, other = served
    created = ok(
        native(
            server,
            project,
            "POST",
            "/reports",
            {"name": "Views", "kind": "insights", "state": STATE},
        )
    )
    assert set(created) == {"report_id", "name", "kind", "state", "created_ms", "updated_ms"}
    assert (created["name"], created["kind"], created["state"]) == ("Views", "insights", STATE)
    report_id = created["report_id"]
    second = ok(
        native(
            server, project, "POST", "/reports", {"name": "Funnel", "kind": "funnels", "state": {}}
        )
    )
    assert second["report_id"] == report_id + 1
    assert ok(native(server, project, "GET", f"/reports/{report_id}")) == created
    listed = ok(native(server, project, "GET", "/reports"))["reports"]
    assert [r["report_id"] for r in listed][-2:] == [report_id, report_id + 1]
    changed = ok(
        native(
            server,
            project,
            "PUT",
            f"/reports/{report_id}",
            {"name": "Viewers", "kind": "insights", "state": {**STATE, "view": "line"}},
        )
    )
    assert (changed["name"], changed["state"]["view"], changed["created_ms"]) == (
        "Viewers",
        "line",
        created["created_ms"],
    )
    assert changed["updated_ms"] >= created["updated_ms"]

    board = ok(
        native(
            server,
            project,
            "POST",
            "/dashboards",
            {"name": "Weekly", "report_ids": [report_id + 1, report_id]},
        )
    )
    assert (board["name"], board["report_ids"]) == ("Weekly", [report_id + 1, report_id])
    board_id = board["dashboard_id"]
    assert ok(native(server, project, "GET", f"/dashboards/{board_id}")) == board
    assert board in ok(native(server, project, "GET", "/dashboards"))["dashboards"]
    renamed = ok(
        native(
            server,
            project,
            "PUT",
            f"/dashboards/{board_id}",
            {"name": "Daily", "report_ids": [report_id]},
        )
    )
    assert (renamed["name"], renamed["report_ids"]) == ("Daily", [report_id])

    # Deleting a report takes it off every dashboard.
    assert ok(native(server, project, "DELETE", f"/reports/{report_id}")) == {
        "report_id": report_id,
        "deleted": True,
    }
    assert ok(native(server, project, "GET", f"/dashboards/{board_id}"))["report_ids"] == []
    refused(native(server, project, "GET", f"/reports/{report_id}"), 404, str(report_id))
    refused(native(server, project, "DELETE", f"/reports/{report_id}"), 404, str(report_id))
    # Another project sees none of it; ids are never reused.
    refused(native(server, other, "GET", f"/reports/{report_id + 1}"), 404, "saved report")
    refused(native(server, other, "GET", f"/dashboards/{board_id}"), 404, "dashboard")
    third = ok(
        native(
            server, project, "POST", "/reports", {"name": "Again", "kind": "insights", "state": {}}
        )
    )
    assert third["report_id"] == report_id + 2
    assert ok(native(server, project, "DELETE", f"/dashboards/{board_id}")) == {
        "dashboard_id": board_id,
        "deleted": True,
    }
    refused(native(server, project, "GET", f"/dashboards/{board_id}"), 404, "dashboard")
    refused(native(server, project, "GET", "/dashboards/abc"), 404, "abc")


SAVE_ERRORS = [
    pytest.param(
        "/reports", {"name": "x", "kind": "pie", "state": {}}, "$.kind", id="unknown kind"
    ),
    pytest.param(
        "/reports",
        {"name": "x", "kind": "insights", "state": [1]},
        "$.state",
        id="state not an object",
    ),
    pytest.param(
        "/reports", {"name": " ", "kind": "insights", "state": {}}, "`name`", id="blank name"
    ),
    pytest.param("/reports", {"kind": "insights", "state": {}}, "`name`", id="no name"),
    pytest.param(
        "/reports",
        {"name": "x", "kind": "insights", "state": {}, "x": 1},
        "`x`",
        id="unknown field",
    ),
    pytest.param(
        "/reports",
        {"name": "x", "kind": "insights", "state": {"s": "a" * 70_000}},
        "$.state",
        id="state too large",
    ),
    pytest.param("/reports", "{not json", "JSON", id="not JSON"),
    pytest.param(
        "/dashboards", {"name": "x", "report_ids": [999]}, "$.report_ids[0]", id="unknown report"
    ),
    pytest.param(
        "/dashboards", {"name": "x", "report_ids": ["1"]}, "$.report_ids[0]", id="id type"
    ),
    pytest.param("/dashboards", {"name": ""}, "`name`", id="dashboard without name"),
]


@pytest.mark.parametrize(("path", "body", "fragment"), SAVE_ERRORS)
def test_bad_saves_answer_400(
    served: tuple[LiveServer, Project, Project], path: str, body: Any, fragment: str
) -> None:
    server, project, _ = served
    refused(native(server, project, "POST", path, body), 400, fragment)


def test_a_dashboard_names_each_report_once(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    report = ok(
        native(server, project, "POST", "/reports", {"name": "x", "kind": "insights", "state": {}})
    )
    body = {"name": "x", "report_ids": [report["report_id"], report["report_id"]]}
    refused(native(server, project, "POST", "/dashboards", body), 400, "$.report_ids[1]")


def test_saved_reports_file_is_the_projects(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    ok(
        native(
            server,
            project,
            "POST",
            "/reports",
            {"name": "On disk", "kind": "retention", "state": {"a": 1}},
        )
    )
    saved = json.loads((server.data_dir / "projects" / str(project.id) / "saved.json").read_bytes())
    assert {"name": "On disk", "kind": "retention", "state": {"a": 1}}.items() <= saved["reports"][
        "items"
    ][-1].items()
