"""The query API through a live `trackway serve`: Mixpanel's segmentation and event shapes
(docs/api.md, the Mixpanel query contract) with the numbers `answer`
gives, under /api/2.0 and /api/query; native Insights; errors; export's `where`; the OpenAPI
document against the routes; and `trackway query` against the API."""

from __future__ import annotations

import base64
import http.client
import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.routing import Route

from tests.api.client import Answer, call, track
from tests.live_server import LiveServer, make_project, running_server
from tests.query.answers import answer, answer_json
from tests.query.store import event, store
from trackway.api.app import create_api
from trackway.projects import Project, ProjectCatalog
from trackway.query.insights.spec import Breakdown, InsightsSpec, Metric
from trackway.services.context import Services
from trackway.settings import Settings
from trackway.storage.scan import EventReader

pytestmark = pytest.mark.slow

NOW_MS = int(time.time() * 1000)
TODAY = datetime.fromtimestamp(NOW_MS / 1000, UTC).date()
YESTERDAY = TODAY - timedelta(days=1)
DATES = {"from_date": str(YESTERDAY), "to_date": str(TODAY)}
BROWSERS = ["Chrome", "Firefox", "Safari", None]  # None: no browser property
FAST = {"TRACKWAY_STORAGE_POLL_MS": "50"}
ON_BROWSER = 'properties["browser"]'
ON_PRICE = 'properties["price"]'


def _events(count: int, seed: int, prefix: str) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = int(datetime.combine(YESTERDAY, datetime.min.time(), UTC).timestamp() * 1000)
    out = []
    for i in range(count):
        props: dict[str, Any] = {"price": rng.choice([1, 2, 5, 10.5, 40, 99])}
        browser = rng.choice(BROWSERS)
        if browser is not None:
            props["browser"] = browser
        if rng.random() < 0.3:
            props["plan"] = rng.choice(["free", "pro"])
        out.append(
            event(
                rng.choice(["View", "View", "View", "Buy", "Signup"]),
                f"u{rng.randrange(30)}",
                rng.randrange(start, NOW_MS - 60_000),
                f"{prefix}{i}",
                NOW_MS,
                **props,
            )
        )
    return out


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, Project, Project]]:
    """A server over ~400 events: two committed parts and a log tail written before it
    starts, and a batch through /track; and a second project with committed parts only."""
    data_dir = tmp_path_factory.mktemp("query-api")
    project = make_project(data_dir)
    stored = _events(300, 1, "s")
    store(data_dir, project, [stored[:150], stored[150:250]], stored[250:])
    committed = make_project(data_dir, "committed only")
    store(data_dir, committed, [_events(20, 3, "c")], [])
    with running_server(data_dir, env=FAST) as server:
        tracked = _events(100, 2, "t")
        for e in tracked:
            e["properties"]["time"] = e["properties"]["time"] / 1000  # /track takes seconds
            del e["properties"]["mp_processing_time_ms"]
        track(server.port, project.token, tracked)
        yield server, project, committed


def get(server: LiveServer, project: Project, path: str, **params: Any) -> Answer:
    return call(server.port, "GET", path, params, user=project.secret)


def send(
    server: LiveServer,
    project: Project,
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    body: str | None = None,
) -> Answer:
    """A request with a raw JSON body (the shared client sends forms)."""
    query = f"?{urlencode(params)}" if params else ""
    secret = base64.b64encode(f"{project.secret}:".encode()).decode()
    headers = {"Authorization": f"Basic {secret}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        connection.request(method, path + query, body, headers)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def ok(answer: Answer) -> Any:
    assert answer.status == 200, answer.body
    return answer.json()


def insights(server: LiveServer, project: Project, **fields: Any) -> dict[str, Any]:
    spec = InsightsSpec(from_date=YESTERDAY, to_date=TODAY, **fields)
    return answer(EventReader(server.data_dir, 1 << 28), project, spec)


def shaped(result: dict[str, Any], key: Any) -> dict[str, Any]:
    """Mixpanel's {"data": {"series", "values"}, "legend_size"} from an Insights result."""
    values = {
        key(s): dict(zip(result["buckets"], s["values"], strict=True))
        for s in result["series"]
        if s["segment"] != ["$other"]
    }
    return {"data": {"series": result["buckets"], "values": values}, "legend_size": len(values)}


SEGMENTATIONS = [
    pytest.param({"event": "View"}, {}, id="an event"),
    pytest.param({"event": "View", "on": ON_BROWSER}, {"on": True}, id="segmented"),
    pytest.param(
        {"event": "View", "on": ON_BROWSER, "type": "unique"},
        {"on": True, "measure": "unique"},
        id="unique users",
    ),
    pytest.param(
        {"event": "Buy", "on": ON_BROWSER, "type": "average"},
        {"on": True, "measure": "per_user_avg"},
        id="events per user",
    ),
    pytest.param(
        {"event": "View", "on": ON_BROWSER, "limit": "2"},
        {"on": True, "limit": 2},
        id="top 2 (no $other)",
    ),
    pytest.param(
        {"event": "View", "on": ON_BROWSER, "where": 'properties["price"] > 5'},
        {"on": True, "where": 'properties["price"] > 5'},
        id="filtered",
    ),
    pytest.param({"event": "Signup", "unit": "hour"}, {"unit": "hour"}, id="hourly"),
]


@pytest.mark.parametrize("prefix", ["/api/2.0", "/api/query"])
@pytest.mark.parametrize(("params", "spec"), SEGMENTATIONS)
def test_segmentation(
    served: tuple[LiveServer, Project, Project],
    prefix: str,
    params: dict[str, str],
    spec: dict[str, Any],
) -> None:
    server, project, _ = served
    body = ok(get(server, project, f"{prefix}/segmentation", **DATES, **params))
    spec = dict(spec)
    on = spec.pop("on", False)
    result = insights(
        server,
        project,
        metrics=[
            Metric(
                event=params["event"],
                measure=spec.pop("measure", "total"),
                where=spec.pop("where", None),
            )
        ],
        breakdowns=[Breakdown(expression=ON_BROWSER)] if on else [],
        limit=spec.pop("limit", 60),
        **spec,
    )
    assert body == shaped(result, lambda s: s["segment"][0] if on else params["event"])
    assert body["data"]["values"]


def test_segmentation_counts_are_integers(served: tuple[LiveServer, Project, Project]) -> None:
    """Mixpanel answers counts as JSON integers (`"2011-08-06": 147`); a typed client (Go,
    Java) refuses `147.0` for an integer field."""
    server, project, _ = served
    for params in ({"event": "View"}, {"event": "View", "on": ON_BROWSER, "type": "unique"}):
        body = ok(get(server, project, "/api/2.0/segmentation", **DATES, **params))
        counts = [n for by_date in body["data"]["values"].values() for n in by_date.values()]
        assert all(type(n) is int for n in counts), counts[:5]
    body = ok(get(server, project, "/api/2.0/events", **DATES, event='["View"]'))
    assert all(type(n) is int for n in body["data"]["values"]["View"].values())


def test_segmentation_numeric(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    body = ok(
        get(server, project, "/api/2.0/segmentation/numeric", **DATES, event="View", on=ON_PRICE)
    )
    result = insights(
        server,
        project,
        metrics=[Metric(event="View")],
        breakdowns=[Breakdown(expression=ON_PRICE, buckets="auto")],
        limit=60,
    )
    assert body == shaped(result, lambda s: s["segment"][0])
    assert all(re.fullmatch(r"[\d,.]+ - [\d,.]+", key) for key in body["data"]["values"])


@pytest.mark.parametrize(("variant", "measure"), [("sum", "sum"), ("average", "avg")])
def test_segmentation_sum_and_average(
    served: tuple[LiveServer, Project, Project], variant: str, measure: str
) -> None:
    server, project, _ = served
    body = ok(
        get(server, project, f"/api/2.0/segmentation/{variant}", **DATES, event="Buy", on=ON_PRICE)
    )
    result = insights(
        server,
        project,
        metrics=[Metric(event="Buy", measure=measure, value=ON_PRICE)],  # type: ignore[arg-type]
    )
    results = dict(zip(result["buckets"], result["series"][0]["values"], strict=True))
    assert body.pop("results") == results
    if variant == "sum":
        assert body.pop("computed_at")
    assert body == {"status": "ok"}


EMPTY_RANGE = {"from_date": "2001-01-01", "to_date": "2001-01-02"}
ZEROS = {"2001-01-01": 0.0, "2001-01-02": 0.0}


@pytest.mark.parametrize(
    ("path", "params", "expected"),
    [
        pytest.param(
            "/api/2.0/segmentation/sum",
            {"event": "Buy", "on": ON_PRICE},
            lambda body: body["results"] == ZEROS,
            id="sum",
        ),
        pytest.param(
            "/api/2.0/segmentation",
            {"event": "Buy"},
            lambda body: body["data"]["values"] == {"Buy": ZEROS},
            id="segmentation",
        ),
        pytest.param(
            "/api/2.0/segmentation",
            {"event": "Buy", "type": "unique", "on": ON_BROWSER},
            lambda body: body["data"]["values"] == {},
            id="segmented unique users",
        ),
        pytest.param(
            "/api/2.0/events",
            {"event": '["Buy"]'},
            lambda body: body["data"]["values"] == {"Buy": ZEROS},
            id="events",
        ),
    ],
)
def test_a_range_without_events(
    served: tuple[LiveServer, Project, Project],
    path: str,
    params: dict[str, str],
    expected: Any,
) -> None:
    server, _, project = served  # committed parts only: nothing at all is scanned
    body = ok(get(server, project, path, **EMPTY_RANGE, **params))
    assert expected(body), body


@pytest.mark.parametrize("prefix", ["/api/2.0", "/api/query"])
def test_events(served: tuple[LiveServer, Project, Project], prefix: str) -> None:
    server, project, _ = served
    body = ok(get(server, project, f"{prefix}/events", **DATES, event='["View", "Buy"]'))
    result = insights(server, project, metrics=[Metric(event=n, name=n) for n in ("View", "Buy")])
    assert body == shaped(result, lambda s: s["metric"])
    assert set(body["data"]["values"]) == {"View", "Buy"}


def test_events_top(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    body = ok(get(server, project, "/api/2.0/events/top", type="unique", limit="2"))
    result = insights(
        server,
        project,
        metrics=[Metric(measure="unique")],
        breakdowns=[Breakdown(expression='event["name"]')],
        limit=100,
    )
    change = {
        s["segment"][0]: (s["values"][1], (s["values"][1] - s["values"][0]) / s["values"][0])
        for s in result["series"]
    }
    assert body["type"] == "unique"
    assert [row["event"] for row in body["events"] if row["event"] not in change] == []
    assert len(body["events"]) == 2
    amounts = [row["amount"] for row in body["events"]]
    # Today's top events: the two highest amounts of today.
    assert amounts == sorted((today for today, _ in change.values()), reverse=True)[:2]
    for row in body["events"]:
        assert set(row) == {"amount", "event", "percent_change"}
        assert (row["amount"], row["percent_change"]) == pytest.approx(change[row["event"]])


def _all_events(server: LiveServer, project: Project) -> list[dict[str, Any]]:
    lines = get(server, project, "/api/2.0/export", **DATES).lines()
    assert len(lines) == 400
    return lines


def test_event_names(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    counts = Counter(e["event"] for e in _all_events(server, project))
    expected = [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    assert ok(get(server, project, "/api/2.0/events/names")) == expected
    assert ok(get(server, project, "/api/query/events/names", limit="1")) == expected[:1]


def test_event_properties_top(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    views = [e for e in _all_events(server, project) if e["event"] == "View"]
    counts = Counter(
        name
        for e in views
        for name in e["properties"]
        # Export adds the resolved id, which is no stored property.
        if name
        not in (
            "time",
            "distinct_id",
            "$insert_id",
            "mp_processing_time_ms",
            "token",
            "$resolved_distinct_id",
        )
    )
    body = ok(get(server, project, "/api/2.0/events/properties/top", event="View"))
    assert body == {name: {"count": n} for name, n in counts.items()}
    assert list(body) == [n for n, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def test_event_property_values(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    buys = [e for e in _all_events(server, project) if e["event"] == "Buy"]
    counts = Counter(e["properties"]["browser"] for e in buys if "browser" in e["properties"])
    body = ok(
        get(server, project, "/api/2.0/events/properties/values", name="browser", event="Buy")
    )
    assert sorted(body) == sorted(counts)
    assert [counts[v] for v in body] == sorted(counts.values(), reverse=True)


def test_event_properties(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    body = ok(
        get(
            server,
            project,
            "/api/2.0/events/properties",
            **DATES,
            event="View",
            name="browser",
            values='["Chrome", "Safari"]',
        )
    )
    result = insights(
        server,
        project,
        metrics=[Metric(event="View")],
        breakdowns=[Breakdown(property="browser")],
        limit=255,
    )
    expected = shaped(result, lambda s: s["segment"][0])
    wanted = {k: v for k, v in expected["data"]["values"].items() if k in ("Chrome", "Safari")}
    assert body == {
        "data": {"series": expected["data"]["series"], "values": wanted},
        "legend_size": 2,
    }


def test_native_insights(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    spec = {
        **DATES,
        "unit": "hour",
        "metrics": [
            {"event": "View", "measure": "unique"},
            {"event": "Buy", "measure": "sum", "property": "price"},
        ],
        "formulas": [{"name": "per user", "expression": "B / A"}],
        "breakdowns": [{"property": "browser"}],
        "limit": 2,
    }
    response = send(
        server, project, "POST", f"/api/v1/projects/{project.id}/insights", body=json.dumps(spec)
    )
    expected = answer_json(EventReader(server.data_dir, 1 << 28), project, "insights", spec)
    assert ok(response) == json.loads(json.dumps(expected))


ERROR_SHAPE = {"code", "error", "status", "error_code"}
BAD_REQUESTS = [
    pytest.param(
        "POST",
        "/api/v1/projects/{id}/insights",
        {},
        json.dumps({**DATES, "metrics": [{}], "limit": "ten"}),
        "$.limit",
        id="spec field of the wrong type",
    ),
    pytest.param(
        "POST",
        "/api/v1/projects/{id}/insights",
        {},
        json.dumps({**DATES, "metrics": [{"measure": "sum"}]}),
        "metrics[0]",
        id="sum without a property",
    ),
    pytest.param(
        "POST",
        "/api/v1/projects/{id}/insights",
        {},
        "{not json",
        "JSON",
        id="not JSON",
    ),
    pytest.param(
        "GET",
        "/api/2.0/segmentation",
        {**DATES, "event": "View", "where": 'properties["x"] =='},
        None,
        "position 18",
        id="where syntax error",
    ),
    pytest.param(
        "GET",
        "/api/query/segmentation",
        {**DATES, "event": "View", "on": "frobnicate(1)"},
        None,
        "position 0",
        id="on: unknown function",
    ),
    pytest.param(
        "GET",
        "/api/2.0/segmentation",
        {**DATES, "event": "View", "unit": "fortnight"},
        None,
        "`unit`",
        id="bad unit",
    ),
    pytest.param(
        "GET",
        "/api/2.0/export",
        {**DATES, "where": 'properties["x"] == '},
        None,
        "position",
        id="export where syntax error",
    ),
    pytest.param(
        "GET",
        "/api/2.0/export",
        {**DATES, "where": 'user["plan"] == "pro"'},
        None,
        "event properties only",
        id="export where on a profile",
    ),
    pytest.param(
        "GET",
        "/api/2.0/export",
        {**DATES, "where": "cohort(1)"},
        None,
        "event properties only",
        id="export where on a cohort",
    ),
]


@pytest.mark.parametrize(("method", "path", "params", "body", "fragment"), BAD_REQUESTS)
def test_bad_requests_answer_400_with_the_one_error_shape(
    served: tuple[LiveServer, Project, Project],
    method: str,
    path: str,
    params: dict[str, str],
    body: str | None,
    fragment: str,
) -> None:
    server, project, _ = served
    answer = send(server, project, method, path.format(id=project.id), params, body)
    assert answer.status == 400, answer.body
    error = answer.json()
    assert set(error) == ERROR_SHAPE
    assert (error["code"], error["status"]) == (400, "Bad Request")
    assert fragment in error["error"]


def test_export_where(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    everything = _all_events(server, project)
    where = 'properties["browser"] == "Chrome" and properties["price"] >= 10'
    lines = get(server, project, "/api/2.0/export", **DATES, where=where).lines()
    expected = [
        e
        for e in everything
        if e["properties"].get("browser") == "Chrome" and e["properties"]["price"] >= 10
    ]
    key = sorted(e["properties"]["$insert_id"] for e in expected)
    assert sorted(e["properties"]["$insert_id"] for e in lines) == key
    assert 0 < len(lines) < len(everything)


def test_openapi_describes_every_route(
    served: tuple[LiveServer, Project, Project], tmp_path: Path
) -> None:
    server, _, _ = served
    document = ok(call(server.port, "GET", "/api/v1/openapi.json"))
    assert document["openapi"].startswith("3.1")
    services = Services.open(tmp_path, Settings.from_env(), ProjectCatalog(tmp_path))
    routes = [r for r in create_api(services).routes if isinstance(r, Route)]
    described = {(p, m) for p, methods in document["paths"].items() for m in methods}
    served_routes = {
        (route.path.replace("{project_id:int}", "{project_id}"), method.lower())
        for route in routes
        for method in route.methods or []
        if method != "HEAD"
    }
    assert served_routes - described == set()
    assert described - served_routes == set()
    for path, methods in document["paths"].items():
        if "{project_id}" in path:
            for operation in methods.values():
                (parameter,) = [
                    p
                    for p in operation["parameters"]
                    if p["in"] == "path" and p["name"] == "project_id"
                ]
                assert parameter == {
                    "name": "project_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                }


def test_cli_query_prints_the_numbers_the_api_gives(
    served: tuple[LiveServer, Project, Project],
) -> None:
    server, project, _ = served
    command = [sys.executable, "-m", "trackway.cli", "query", "--project", str(project.id)]
    command += ["--from-date", DATES["from_date"], "--to-date", DATES["to_date"]]
    command += ["--event", "View", "--breakdown", "browser", "--data-dir", str(server.data_dir)]
    printed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    header, *rows = [line.split() for line in printed.stdout.splitlines()]
    # Header: bucket, then one column per series, "A / <browser>" split on blanks.
    columns = " ".join(header[1:]).split("A / ")[1:]
    table = {row[0]: dict(zip([c.strip() for c in columns], row[1:], strict=True)) for row in rows}
    body = ok(get(server, project, "/api/2.0/segmentation", **DATES, event="View", on=ON_BROWSER))
    for label, by_date in body["data"]["values"].items():
        for day, value in by_date.items():
            assert float(table[day][label]) == value
        assert float(table["total"][label]) == sum(by_date.values())
    assert set(table) == {*body["data"]["series"], "total"}
