"""Saved cohorts through a live `trackway serve`: CRUD, members (paged and CSV), Mixpanel's
/cohorts/list, /engage's `where`, `filter_by_cohort` and `behaviors`, and their errors."""

from __future__ import annotations

import base64
import csv
import http.client
import io
import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.api.client import Answer, call
from tests.live_server import LiveServer, make_project, running_server
from tests.query.store import Event, event, store, write_profiles
from tests.reference.cohorts import Reference
from trackway.projects import Project

pytestmark = pytest.mark.slow

DAY_MS = 86_400_000
NOW = int(time.time() * 1000)
FAST = {"TRACKWAY_STORAGE_POLL_MS": "50"}
ERROR_SHAPE = {"code", "error", "status", "error_code"}
BUYERS = {"did": {"event": "Buy", "at_least": 2, "within_days": 30}}
PRO = {"profile": 'user["plan"] == "pro"'}
LIST_FIELDS = {"count", "is_visible", "description", "created", "project_id", "id", "name"}


@dataclass
class Served:
    server: LiveServer
    project: Project
    events: list[Event]
    profiles: dict[str, dict[str, Any]]

    def reference(self, definitions: dict[int, dict[str, Any]]) -> Reference:
        return Reference(self.events, self.profiles, definitions, int(time.time() * 1000), "UTC")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("cohorts-api")
    project = make_project(data_dir)
    rng = random.Random(4)
    events = [
        event(
            rng.choice(["View", "Buy", "Buy"]),
            f"u{rng.randrange(30):02d}",
            NOW - rng.randrange(1, 40 * DAY_MS),
            f"e{i}",
            price=rng.choice([1, 20]),
        )
        for i in range(300)
    ]
    profiles = {
        f"u{i:02d}": {"plan": rng.choice(["free", "pro"]), "seats": i} for i in range(0, 30, 2)
    }
    profiles["lurker"] = {"plan": "pro", "tags": ["a", "b"]}  # a profile without events
    store(data_dir, project, [events[:200]], events[200:])
    updates = [{"$distinct_id": u, "$time": 1000, "$set": p} for u, p in profiles.items()]
    write_profiles(data_dir, project, "engage", updates)
    with running_server(data_dir, env=FAST) as server:
        yield Served(server, project, events, profiles)


def send(served: Served, method: str, path: str, body: Any = None, **params: Any) -> Answer:
    query = "?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else ""
    secret = base64.b64encode(f"{served.project.secret}:".encode()).decode()
    headers = {"Content-Type": "application/json", "Authorization": f"Basic {secret}"}
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    connection = http.client.HTTPConnection("127.0.0.1", served.server.port, timeout=120)
    try:
        connection.request(method, path + query, raw, headers)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def native(served: Served, method: str, path: str = "", body: Any = None, **params: Any) -> Answer:
    return send(
        served, method, f"/api/v1/projects/{served.project.id}/cohorts{path}", body, **params
    )


def ok(answer: Answer) -> Any:
    assert answer.status == 200, answer.body
    return answer.json()


def refused(answer: Answer, status: int, fragment: str) -> None:
    assert answer.status == status, answer.body
    error = answer.json()
    assert set(error) == ERROR_SHAPE
    assert error["code"] == status
    assert fragment in error["error"], error["error"]


def engage(served: Served, **form: Any) -> list[str]:
    answer = call(
        served.server.port, "POST", "/api/2.0/engage", form=form, user=served.project.secret
    )
    body = ok(answer)
    assert body["total"] == len(body["results"])
    return [r["$distinct_id"] for r in body["results"]]


def test_crud(served: Served) -> None:
    created = ok(native(served, "POST", body={"name": "Buyers", "condition": BUYERS}))
    number = created["cohort_id"]
    assert created["name"] == "Buyers"
    assert created["description"] == "" and created["group"] is None
    assert created["condition"] == BUYERS
    expected = served.reference({number: BUYERS}).members(number)
    one = ok(native(served, "GET", f"/{number}"))
    assert one["count"] == len(expected) > 0
    listed = ok(native(served, "GET"))["cohorts"]
    assert number in [c["cohort_id"] for c in listed]
    changed = {"name": "Pro", "description": "paying", "condition": PRO}
    updated = ok(native(served, "PUT", f"/{number}", changed))
    assert (updated["name"], updated["description"], updated["condition"]) == ("Pro", "paying", PRO)
    assert updated["created_ms"] == created["created_ms"] <= updated["updated_ms"]
    pro = {u for u, p in served.profiles.items() if p.get("plan") == "pro"}
    assert ok(native(served, "GET", f"/{number}"))["count"] == len(pro)
    assert ok(native(served, "DELETE", f"/{number}")) == {"cohort_id": number, "deleted": True}
    refused(native(served, "GET", f"/{number}"), 404, f"got {number}")
    again = ok(native(served, "POST", body={"name": "Again", "condition": PRO}))
    assert again["cohort_id"] == number + 1  # ids are never reused
    ok(native(served, "DELETE", f"/{again['cohort_id']}"))


def test_members_paged_and_as_csv(served: Served) -> None:
    condition = {"any": [BUYERS, PRO]}
    created = ok(native(served, "POST", body={"name": "Either", "condition": condition}))
    number = created["cohort_id"]
    expected = sorted(served.reference({number: condition}).members(number))
    assert "lurker" in expected
    seen: list[dict[str, Any]] = []
    for page in range(100):
        body = ok(native(served, "GET", f"/{number}/users", page=page, page_size=4))
        assert (body["cohort_id"], body["total"], body["page_size"]) == (number, len(expected), 4)
        if not body["results"]:
            break
        seen += body["results"]
    assert [r["distinct_id"] for r in seen] == expected
    for row in seen:
        profile = served.profiles.get(row["distinct_id"], {})
        shown = {k: v for k, v in row["properties"].items() if not k.startswith("$")}
        assert shown == profile
        assert ("$last_seen" in row["properties"]) == bool(profile)
    answer = native(served, "GET", f"/{number}/users", format="csv")
    assert answer.status == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.body.decode())))
    assert [r["distinct_id"] for r in rows] == expected
    lurker = next(r for r in rows if r["distinct_id"] == "lurker")
    assert (lurker["plan"], lurker["tags"], lurker["seats"]) == ("pro", '["a","b"]', "")


def test_mixpanel_cohorts_list(served: Served) -> None:
    number = ok(native(served, "POST", body={"name": "Pro", "description": "d", "condition": PRO}))[
        "cohort_id"
    ]
    for method, prefix in (("POST", "/api/2.0"), ("GET", "/api/query")):
        listed = ok(send(served, method, f"{prefix}/cohorts/list"))
        (mine,) = [c for c in listed if c["id"] == number]
        assert set(mine) == LIST_FIELDS
        pro = sum(1 for p in served.profiles.values() if p.get("plan") == "pro")
        assert (mine["count"], mine["name"], mine["description"]) == (pro, "Pro", "d")
        assert (mine["project_id"], mine["is_visible"]) == (served.project.id, 1)
        assert len(mine["created"]) == len("2026-03-01 12:00:00")


def test_engage_filters(served: Served) -> None:
    pro = sorted(u for u, p in served.profiles.items() if p.get("plan") == "pro")
    assert engage(served, where='properties["plan"] == "pro"') == pro
    assert engage(served, where='user["seats"] >= 20') == ["u20", "u22", "u24", "u26", "u28"]
    number = ok(native(served, "POST", body={"name": "Buyers", "condition": BUYERS}))["cohort_id"]
    buyers = served.reference({number: BUYERS}).members(number)
    with_profile = sorted(buyers & set(served.profiles))
    assert engage(served, filter_by_cohort=json.dumps({"id": number})) == with_profile
    assert engage(served, filter_by_cohort=json.dumps({"condition": BUYERS})) == with_profile
    assert engage(served, filter_by_cohort=json.dumps(BUYERS)) == with_profile
    assert engage(served, behaviors=json.dumps(BUYERS["did"])) == with_profile
    everyone = engage(served, filter_by_cohort=json.dumps({"id": number}), include_all_users="true")
    assert everyone == sorted(buyers)
    both = engage(
        served,
        filter_by_cohort=json.dumps({"id": number}),
        where='properties["plan"] == "pro"',
        behaviors=json.dumps([{"event": "View", "at_least": 1}]),
    )
    viewers = served.reference({1: {"did": {"event": "View"}}}).members(1)
    assert both == sorted(set(with_profile) & set(pro) & viewers)
    assert engage(served, where=f"cohort({number})") == with_profile


ENGAGE_ERRORS = [
    pytest.param({"where": 'properties["a"] =='}, "Invalid `where`: Expected an expression", id="where"),
    pytest.param({"where": 'event["name"] == "x"'}, "a profile has no event name", id="event in where"),
    pytest.param({"filter_by_cohort": "[1]"}, 'Expected `filter_by_cohort` as {"id": N}', id="cohort shape"),
    pytest.param({"filter_by_cohort": '{"id": "x"}'}, "id as an integer", id="cohort id type"),
    pytest.param({"filter_by_cohort": '{"id": 999}'}, "saved cohort of this project, got 999", id="unknown cohort"),
    pytest.param({"filter_by_cohort": '{"condition": {"did": {"at_least": -1}}}'}, "- at `$.condition.did.at_least`", id="bad definition"),
    pytest.param({"filter_by_cohort": '{"raw_cohort": {}}'}, "Expected `filter_by_cohort`", id="raw_cohort"),
    pytest.param({"behaviors": "123"}, "Expected `behaviors` as a JSON object", id="behaviors number"),
    pytest.param({"behaviors": '[{"window": "90d", "event_selectors": []}]'}, "Mixpanel's (`event_selectors`), which is not supported", id="mixpanel behaviors"),
    pytest.param({"behaviors": '{"at_least": "2"}'}, "Invalid `behaviors`: Expected `int`, got `str` - at `behaviors[0].at_least`", id="behaviors type"),
]  # fmt: skip


@pytest.mark.parametrize(("form", "fragment"), ENGAGE_ERRORS)
def test_engage_errors(served: Served, form: dict[str, str], fragment: str) -> None:
    answer = call(
        served.server.port, "POST", "/api/2.0/engage", form=form, user=served.project.secret
    )
    refused(answer, 400, fragment)


CRUD_ERRORS = [
    pytest.param("POST", "", "{", 400, "Expected a JSON object body", id="not json"),
    pytest.param("POST", "", {"nme": "x", "condition": PRO}, 400, "unknown field `nme`", id="unknown field"),
    pytest.param("POST", "", {"name": "x"}, 400, "missing required field `condition`", id="no condition"),
    pytest.param("POST", "", {"name": " ", "condition": PRO}, 400, "non-empty `name` - at `$.name`", id="blank name"),
    pytest.param("POST", "", {"name": "x", "condition": {"did": {"within_days": 0}}}, 400, "at `$.condition.did.within_days`", id="bad window"),
    pytest.param("POST", "", {"name": "x", "condition": {"cohort": 99999}}, 400, "got 99999", id="unknown reference"),
    pytest.param("POST", "", {"name": "x", "condition": {"users": []}}, 400, "1 to 100000 ids, got 0 ids - at `$.condition.users`", id="no users"),
    pytest.param("POST", "", {"name": "x", "condition": {"users": ["a", 7]}}, 400, "a non-empty string), got the number 7 - at `$.condition.users[1]`", id="user not text"),
    pytest.param("GET", "/abc", None, 404, "Expected a saved cohort id", id="malformed id"),
    pytest.param("GET", "/99999", None, 404, "got 99999", id="unknown id"),
    pytest.param("PUT", "/99999", {"name": "x", "condition": PRO}, 404, "got 99999", id="update unknown"),
    pytest.param("DELETE", "/99999", None, 404, "got 99999", id="delete unknown"),
    pytest.param("GET", "/99999/users", None, 404, "got 99999", id="users of unknown"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "status", "fragment"), CRUD_ERRORS)
def test_crud_errors(
    served: Served, method: str, path: str, body: Any, status: int, fragment: str
) -> None:
    refused(native(served, method, path, body), status, fragment)


def test_reference_rules_over_http(served: Served) -> None:
    a = ok(native(served, "POST", body={"name": "a", "condition": PRO}))["cohort_id"]
    b = ok(native(served, "POST", body={"name": "b", "condition": {"not": {"cohort": a}}}))
    refused(
        native(served, "PUT", f"/{a}", {"name": "a", "condition": {"cohort": b["cohort_id"]}}),
        400,
        f"depend on itself, got {a} → {b['cohort_id']} → {a}",
    )
    refused(native(served, "DELETE", f"/{a}"), 400, f"cohorts {b['cohort_id']} use it")
    number = b["cohort_id"]
    refused(native(served, "GET", f"/{number}/users", format="xml"), 400, "`format`")
    refused(native(served, "GET", f"/{number}/users", page_size=0), 400, "`page_size`")


def test_reports_read_cohorts(served: Served) -> None:
    number = ok(native(served, "POST", body={"name": "Buyers", "condition": BUYERS}))["cohort_id"]
    base = f"/api/v1/projects/{served.project.id}"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    first = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 40 * 86_400))
    spec: dict[str, Any] = {"from_date": first, "to_date": today}
    spec["metrics"] = [{"event": "Buy", "measure": "unique"}]
    spec["breakdowns"] = [{"expression": f"cohort({number})"}]
    result = ok(send(served, "POST", f"{base}/insights", spec))
    totals = {s["segment"][0]: s["total"] for s in result["series"]}
    buyers = served.reference({number: BUYERS}).members(number)
    assert totals["true"] == len(buyers)
    refused(
        send(served, "POST", f"{base}/insights", {**spec, "where": "cohort(99999)"}),
        400,
        "saved cohort of this project, got 99999 at position 0",
    )


def test_a_funnels_drop_offs_as_a_listed_cohort(served: Served) -> None:
    """The users who reached step 1 and not step 2, saved as `{"users": [...]}`: the cohort
    holds exactly them, ids that name nobody are left out, and it filters reports."""
    base = f"/api/v1/projects/{served.project.id}"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    first = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 40 * 86_400))
    funnel: dict[str, Any] = {"from_date": first, "to_date": today}
    funnel["steps"] = [{"event": "View"}, {"event": "Buy"}]
    funnel["drop_offs"] = {"step": 1, "limit": 10_000}
    dropped = ok(send(served, "POST", f"{base}/funnels", funnel))["drop_offs"]["users"]
    assert dropped
    condition = {"users": [*dropped, "nobody", dropped[0]]}
    number = ok(native(served, "POST", body={"name": "Dropped", "condition": condition}))[
        "cohort_id"
    ]
    assert ok(native(served, "GET", f"/{number}"))["count"] == len(dropped)
    body = ok(native(served, "GET", f"/{number}/users", page_size=10_000))
    assert [r["distinct_id"] for r in body["results"]] == dropped
    (listed,) = [c for c in ok(send(served, "GET", "/api/2.0/cohorts/list")) if c["id"] == number]
    assert listed["count"] == len(dropped)
    again = ok(send(served, "POST", f"{base}/funnels", {**funnel, "where": f"cohort({number})"}))
    assert again["steps"][0]["count"] == len(dropped)
    assert again["steps"][1]["count"] == 0
