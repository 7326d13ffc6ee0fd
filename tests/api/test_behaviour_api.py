"""The behavioural reports through a live `trackway serve`: the native routes against the
engine functions, saved funnels, Mixpanel's /funnels, /funnels/list, /retention and
/retention/addiction shapes (docs/api.md), and their errors."""

from __future__ import annotations

import base64
import http.client
import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest

from tests.api.client import Answer, call
from tests.live_server import LiveServer, make_project, running_server
from tests.query.answers import answer, answer_json
from tests.query.store import event, store
from trackway.projects import Project
from trackway.query.behaviour.spec import (
    FrequencySpec,
    FunnelSpec,
    Length,
    RetentionSpec,
    Step,
)
from trackway.query.insights.spec import Breakdown
from trackway.query.reports import REPORTS
from trackway.storage.scan import EventReader

pytestmark = pytest.mark.slow

FIRST_DAY = date(2026, 3, 2)  # a Monday
DAYS = 14
DATES = {"from_date": "2026-03-02", "to_date": "2026-03-11"}
NAMES = ["View", "View", "View", "Cart", "Cart", "Buy", "Open"]
BROWSERS = ["Chrome", "Firefox", "Safari"]
STEPS = [{"event": "View"}, {"event": "Cart"}, {"event": "Buy"}]
ON_BROWSER = 'properties["browser"]'
FAST = {"TRACKWAY_STORAGE_POLL_MS": "50"}
ERROR_SHAPE = {"code", "error", "status", "error_code"}


def _ms(day: date) -> int:
    return int(datetime.combine(day, datetime.min.time(), UTC).timestamp() * 1000)


def _events(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = _ms(FIRST_DAY)
    out = []
    for i in range(count):
        time_ms = rng.randrange(start, start + DAYS * 86_400_000)
        props = {"browser": rng.choice(BROWSERS), "price": rng.choice([1, 5, 20])}
        out.append(
            event(rng.choice(NAMES), f"u{rng.randrange(40)}", time_ms, f"e{seed}-{i}", **props)
        )
    return out


def _golden() -> list[dict[str, Any]]:
    """Three users on 2026-03-03: u1 View, Cart after 60 s, Buy after 120 s more; u2 View,
    Cart after 120 s; u3 View only."""
    t = _ms(FIRST_DAY + timedelta(days=1)) + 3_600_000
    return [
        event("View", "u1", t, "g1"),
        event("Cart", "u1", t + 60_000, "g2"),
        event("Buy", "u1", t + 180_000, "g3"),
        event("View", "u2", t, "g4"),
        event("Cart", "u2", t + 120_000, "g5"),
        event("View", "u3", t, "g6"),
    ]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[LiveServer, Project, Project]]:
    """~600 events over two weeks in two committed parts and a log tail, and a second
    project with three users' golden funnel."""
    data_dir = tmp_path_factory.mktemp("behaviour-api")
    project = make_project(data_dir)
    stored = _events(600, 1)
    store(data_dir, project, [stored[:300], stored[300:500]], stored[500:])
    golden = make_project(data_dir, "golden")
    store(data_dir, golden, [_golden()], [])
    with running_server(data_dir, env=FAST) as server:
        yield server, project, golden


def send(
    server: LiveServer,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    body: Any = None,
    user: str | None = None,
) -> Answer:
    """A request with a JSON body (a str is sent as is)."""
    query = f"?{urlencode(params)}" if params else ""
    headers = {"Content-Type": "application/json"}
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:".encode()).decode()
    raw = body if isinstance(body, str) or body is None else json.dumps(body)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        connection.request(method, path + query, raw, headers)
        response = connection.getresponse()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def native(
    server: LiveServer, project: Project, method: str, path: str, body: Any = None
) -> Answer:
    return send(server, method, f"/api/v1/projects/{project.id}{path}", None, body, project.secret)


def get(server: LiveServer, project: Project, path: str, **params: Any) -> Answer:
    return call(server.port, "GET", path, params, user=project.secret)


def ok(answer: Answer) -> Any:
    assert answer.status == 200, answer.body
    return answer.json()


def refused(answer: Answer, status: int, fragment: str) -> None:
    assert answer.status == status, answer.body
    error = answer.json()
    assert set(error) == ERROR_SHAPE
    assert error["code"] == status
    assert fragment in error["error"], error["error"]


def reader(server: LiveServer) -> EventReader:
    return EventReader(server.data_dir, 1 << 28)


def plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


# --- native routes ---

NATIVE = [
    pytest.param(
        "funnels",
        {
            **DATES,
            "steps": STEPS,
            "window": {"length": 2, "unit": "day"},
            "breakdowns": [{"property": "browser"}],
            "unit": "week",
            "drop_offs": {"step": 2},
        },
        id="funnel",
    ),
    pytest.param(
        "funnels",
        {
            **DATES,
            "steps": STEPS,
            "breakdowns": [{"property": "browser"}],
            "limit": 2,
            "per_period": {"unit": "day", "every": 3},
        },
        id="funnel per period",
    ),
    pytest.param(
        "retention",
        {**DATES, "born": {"event": "View"}, "returning": {"event": "Buy"}, "periods": 3},
        id="retention",
    ),
    pytest.param(
        "flows",
        {**DATES, "anchor": {"event": "Cart"}, "steps": 3, "breakdown": {"property": "browser"}},
        id="flows",
    ),
    pytest.param("frequency", {**DATES, "event": "View", "unit": "week"}, id="frequency"),
    pytest.param("lifecycle", {**DATES, "event": ["View", "Buy"]}, id="lifecycle"),
]


@pytest.mark.parametrize(("kind", "spec"), NATIVE)
def test_native_report_is_the_engine_result(
    served: tuple[LiveServer, Project, Project], kind: str, spec: dict[str, Any]
) -> None:
    server, project, _ = served
    body = ok(native(server, project, "POST", f"/{kind}", spec))
    expected = answer_json(reader(server), project, kind, spec)
    assert body == plain(expected)


NATIVE_ERRORS = [
    pytest.param("funnels", {**DATES, "steps": [{"event": 1}, {}]}, "$.steps[0].event", id="type"),
    pytest.param("funnels", {**DATES, "steps": [{"event": "View"}]}, "2 to 64 steps", id="1 step"),
    pytest.param("funnels", {**DATES, "steps": STEPS, "odrer": "any"}, "`odrer`", id="unknown"),
    pytest.param(
        "funnels",
        {**DATES, "steps": STEPS, "where": 'properties["x"] =='},
        "position",
        id="where syntax",
    ),
    pytest.param(
        "funnels",
        {**DATES, "steps": STEPS, "per_period": {"every": 0}},
        "$.per_period.every",
        id="every",
    ),
    pytest.param(
        "funnels",
        {**DATES, "steps": STEPS, "per_period": {"unit": "week"}, "unit": "week"},
        "no `unit` or `drop_offs` with `per_period`",
        id="per period and unit",
    ),
    pytest.param(
        "funnels",
        {"from_date": "2000-01-01", "to_date": "2026-01-01", "steps": STEPS, "per_period": {}},
        "at most 4000 periods",
        id="too many periods",
    ),
    pytest.param("retention", {"from_date": "2026-03-02"}, "`to_date`", id="no to_date"),
    pytest.param("flows", {**DATES}, "`anchor`", id="flows without anchor"),
    pytest.param(
        "flows", {**DATES, "anchor": {"event": "View"}, "steps": 50}, "`steps`", id="steps"
    ),
    pytest.param("frequency", {**DATES, "unit": "hour"}, "$.unit", id="frequency unit"),
    pytest.param("lifecycle", "{not json", "JSON", id="not JSON"),
    pytest.param("lifecycle", [1], "JSON object", id="not an object"),
]


@pytest.mark.parametrize(("kind", "spec", "fragment"), NATIVE_ERRORS)
def test_native_bad_specs_answer_400(
    served: tuple[LiveServer, Project, Project], kind: str, spec: Any, fragment: str
) -> None:
    server, project, _ = served
    refused(native(server, project, "POST", f"/{kind}", spec), 400, fragment)


# --- Mixpanel's /funnels ---


def mixpanel_funnel(
    counts: list[int], times: list[dict[str, Any] | None], definition: list[Step]
) -> dict[str, Any]:
    """Mixpanel's {"steps", "analysis"} from counts and times to convert, as docs/api.md says
    (these tests' steps each name one event)."""
    steps = []
    for k, count in enumerate(counts):
        previous = counts[k - 1] if k else count
        time = times[k]
        steps.append(
            {
                "count": count,
                "avg_time": None if time is None else round(time["avg_ms"] / 1000),
                "avg_time_from_start": None
                if time is None
                else round(time["avg_from_start_ms"] / 1000),
                "step_conv_ratio": count / previous if previous else 0.0,
                "overall_conv_ratio": count / counts[0] if counts[0] else 0.0,
                "goal": definition[k].event,
                "event": definition[k].event,
                "step_label": definition[k].label(),
            }
        )
    ratios = [s["step_conv_ratio"] for s in steps]
    worst = min(range(1, len(steps)), key=lambda k: (ratios[k], k))
    analysis = {
        "completion": counts[-1],
        "starting_amount": counts[0],
        "steps": len(counts),
        "worst": worst,
    }
    return {"steps": steps, "analysis": analysis}


def expected_funnels(
    server: LiveServer,
    project: Project,
    spec: FunnelSpec,
    buckets: list[tuple[str, date, date]],
    on: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for label, first, last in buckets:
        run = msgspec.structs.replace(
            spec,
            from_date=first,
            to_date=last,
            breakdowns=[Breakdown(expression=on)] if on else [],
            limit=255,
        )
        result = answer(reader(server), project, run)
        if on:
            data[label] = {
                row["segment"][0]: mixpanel_funnel(
                    row["counts"], [None] * len(spec.steps), spec.steps
                )
                for row in result["segments"]["rows"]
                if row["segment"] != ["$other"]
            }
        else:
            counts = [s["count"] for s in result["steps"]]
            times = [s["time_to_convert"] for s in result["steps"]]
            data[label] = mixpanel_funnel(counts, times, spec.steps)
    return {"meta": {"dates": [b[0] for b in buckets]}, "data": data}


def _days(first: date, last: date, size: int = 1) -> list[tuple[str, date, date]]:
    out = []
    while first <= last:
        out.append((str(first), first, min(first + timedelta(days=size - 1), last)))
        first += timedelta(days=size)
    return out


D = date.fromisoformat
WEEKS = [
    ("2026-03-02", D("2026-03-04"), D("2026-03-08")),
    ("2026-03-09", D("2026-03-09"), D("2026-03-12")),
]
FUNNELS = [
    pytest.param({}, {}, _days(D("2026-03-02"), D("2026-03-11")), None, id="daily"),
    pytest.param(
        {"interval": "3"}, {}, _days(D("2026-03-02"), D("2026-03-11"), 3), None, id="3 days"
    ),
    pytest.param(
        {"unit": "week", "from_date": "2026-03-04", "to_date": "2026-03-12"},
        {},
        WEEKS,
        None,
        id="weeks, cut to the range",
    ),
    pytest.param(
        {"length": "90", "length_unit": "minute", "where": 'properties["price"] > 1'},
        {"window": Length(90, "minute"), "where": 'properties["price"] > 1'},
        _days(D("2026-03-02"), D("2026-03-11")),
        None,
        id="length and where",
    ),
    pytest.param(
        {"on": ON_BROWSER, "interval": "5"},
        {},
        _days(D("2026-03-02"), D("2026-03-11"), 5),
        ON_BROWSER,
        id="segmented by on",
    ),
]


@pytest.mark.parametrize("prefix", ["/api/2.0", "/api/query"])
@pytest.mark.parametrize(("params", "fields", "buckets", "on"), FUNNELS)
def test_funnels_with_steps(
    served: tuple[LiveServer, Project, Project],
    prefix: str,
    params: dict[str, str],
    fields: dict[str, Any],
    buckets: list[tuple[str, date, date]],
    on: str | None,
) -> None:
    server, project, _ = served
    query = {**DATES, "steps": json.dumps(STEPS), **params}
    body = ok(get(server, project, f"{prefix}/funnels", **query))
    spec = FunnelSpec(
        from_date=D(query["from_date"]),
        to_date=D(query["to_date"]),
        steps=[Step(event=s["event"]) for s in STEPS],
        **fields,
    )
    assert body == plain(expected_funnels(server, project, spec, buckets, on))
    if not on:
        assert sum(d["analysis"]["starting_amount"] for d in body["data"].values()) > 0


def test_funnels_on_segments_by_the_expression(
    served: tuple[LiveServer, Project, Project],
) -> None:
    server, project, _ = served
    query = {**DATES, "steps": json.dumps(STEPS), "on": ON_BROWSER, "interval": "10"}
    body = ok(get(server, project, "/api/2.0/funnels", **query))
    (by_segment,) = body["data"].values()
    assert set(by_segment) == set(BROWSERS)
    two = ok(get(server, project, "/api/2.0/funnels", **query, limit="2"))
    (top,) = two["data"].values()
    assert len(top) == 2  # the rest is `$other`, which Mixpanel's shape leaves out
    assert top.items() <= by_segment.items()


def test_funnels_golden(served: tuple[LiveServer, Project, Project]) -> None:
    server, _, golden = served
    body = ok(get(server, golden, "/api/2.0/funnels", **DATES, steps=json.dumps(STEPS)))
    assert body["meta"]["dates"] == [str(d) for d in _days_list(D("2026-03-02"), D("2026-03-11"))]
    day = body["data"]["2026-03-03"]
    assert day == {
        "steps": [
            {
                "count": 3,
                "avg_time": None,
                "avg_time_from_start": None,
                "step_conv_ratio": 1.0,
                "overall_conv_ratio": 1.0,
                "goal": "View",
                "event": "View",
                "step_label": "View",
            },
            {
                "count": 2,
                "avg_time": 90,
                "avg_time_from_start": 90,
                "step_conv_ratio": 2 / 3,
                "overall_conv_ratio": 2 / 3,
                "goal": "Cart",
                "event": "Cart",
                "step_label": "Cart",
            },
            {
                "count": 1,
                "avg_time": 120,
                "avg_time_from_start": 180,
                "step_conv_ratio": 0.5,
                "overall_conv_ratio": 1 / 3,
                "goal": "Buy",
                "event": "Buy",
                "step_label": "Buy",
            },
        ],
        "analysis": {"completion": 1, "starting_amount": 3, "steps": 3, "worst": 2},
    }
    empty = body["data"]["2026-03-02"]
    assert [s["count"] for s in empty["steps"]] == [0, 0, 0]
    assert [s["step_conv_ratio"] for s in empty["steps"]] == [0.0, 0.0, 0.0]
    assert empty["analysis"]["worst"] == 1


def _days_list(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- saved funnels ---


def test_saved_funnels(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, golden = served
    definition = {
        "steps": [{"event": "View"}, {"event": "Cart", "name": "Added to cart"}],
        "order": "strict",
        "window": {"length": 1, "unit": "day"},
        "where": 'properties["price"] >= 5',
    }
    created = ok(
        native(server, project, "POST", "/saved-funnels", {"name": "Cart", "funnel": definition})
    )
    assert set(created) == {"funnel_id", "name"}
    assert created["name"] == "Cart"
    funnel_id = created["funnel_id"]
    second = ok(
        native(
            server, project, "POST", "/saved-funnels", {"name": "Buy", "funnel": {"steps": STEPS}}
        )
    )
    assert second["funnel_id"] == funnel_id + 1

    listed = ok(native(server, project, "GET", "/saved-funnels"))["funnels"]
    one = ok(native(server, project, "GET", f"/saved-funnels/{funnel_id}"))
    assert one["funnel"] == definition
    assert (one["funnel_id"], one["name"]) == (funnel_id, "Cart")
    assert one in listed
    assert [f["funnel_id"] for f in listed][-2:] == [funnel_id, funnel_id + 1]
    mixpanel_list = ok(get(server, project, "/api/query/funnels/list"))
    assert {"funnel_id": funnel_id, "name": "Cart"} in mixpanel_list
    assert set(mixpanel_list[0]) == {"funnel_id", "name"}
    # Another project's list is its own.
    assert funnel_id not in [
        f["funnel_id"] for f in ok(get(server, golden, "/api/2.0/funnels/list"))
    ]

    # /funnels?funnel_id= runs the saved definition; `where` adds to its filter.
    body = ok(get(server, project, "/api/2.0/funnels", **DATES, funnel_id=funnel_id, interval=5))
    spec = msgspec.convert({**definition, **DATES}, FunnelSpec)
    buckets = _days(D("2026-03-02"), D("2026-03-11"), 5)
    assert body == plain(expected_funnels(server, project, spec, buckets))
    assert body["data"]["2026-03-02"]["steps"][1]["step_label"] == "Added to cart"
    narrowed = ok(
        get(
            server,
            project,
            "/api/2.0/funnels",
            **DATES,
            funnel_id=funnel_id,
            interval=5,
            where='properties["browser"] == "Chrome"',
            length=2,
            length_unit="hour",
        )
    )
    spec = msgspec.structs.replace(
        spec,
        where='(properties["price"] >= 5) and (properties["browser"] == "Chrome")',
        window=Length(2, "hour"),
    )
    assert narrowed == plain(expected_funnels(server, project, spec, buckets))

    deleted = ok(native(server, project, "DELETE", f"/saved-funnels/{funnel_id}"))
    assert deleted == {"funnel_id": funnel_id, "deleted": True}
    refused(native(server, project, "GET", f"/saved-funnels/{funnel_id}"), 404, str(funnel_id))
    refused(native(server, project, "DELETE", f"/saved-funnels/{funnel_id}"), 404, str(funnel_id))
    refused(
        get(server, project, "/api/2.0/funnels", **DATES, funnel_id=funnel_id), 404, "saved funnel"
    )
    assert funnel_id not in [
        f["funnel_id"] for f in ok(get(server, project, "/api/2.0/funnels/list"))
    ]
    # Ids are not reused.
    third = ok(
        native(
            server, project, "POST", "/saved-funnels", {"name": "Again", "funnel": {"steps": STEPS}}
        )
    )
    assert third["funnel_id"] == funnel_id + 2
    # A saved funnel is per project.
    refused(native(server, golden, "GET", f"/saved-funnels/{funnel_id + 1}"), 404, "saved funnel")


SAVE_ERRORS = [
    pytest.param(
        {"name": "x", "funnel": {"steps": [{"event": 1}, {}]}},
        "$.funnel.steps[0].event",
        id="field type",
    ),
    pytest.param(
        {"name": "x", "funnel": {"steps": [{"event": "A"}]}}, "2 to 64 steps", id="one step"
    ),
    pytest.param({"name": "x", "funnel": {}}, "`steps`", id="no steps"),
    pytest.param({"name": "x", "funnel": {"steps": STEPS, "limit": 0}}, "`limit`", id="limit 0"),
    pytest.param(
        {"name": "x", "funnel": {"steps": STEPS, "from_date": "2026-01-01"}},
        "`from_date`",
        id="dates",
    ),
    pytest.param(
        {"name": "x", "funnel": {"steps": STEPS, "colour": 1}}, "`colour`", id="unknown field"
    ),
    pytest.param(
        {"name": "x", "funnel": {"steps": [{}, {"where": 'properties["a"] =='}]}},
        "at `$.funnel.steps[1].where`: Expected",
        id="step where syntax",
    ),
    pytest.param(
        {"name": "x", "funnel": {"steps": STEPS, "timezone": "Mars/Base"}},
        "time zone",
        id="time zone",
    ),
    pytest.param({"funnel": {"steps": STEPS}}, "`name`", id="no name"),
    pytest.param({"name": " ", "funnel": {"steps": STEPS}}, "`name`", id="blank name"),
    pytest.param({"name": "x", "funnel": [1]}, "$.funnel", id="funnel not an object"),
    pytest.param("{not json", "JSON", id="not JSON"),
]


@pytest.mark.parametrize(("body", "fragment"), SAVE_ERRORS)
def test_saving_a_bad_funnel_answers_400(
    served: tuple[LiveServer, Project, Project], body: Any, fragment: str
) -> None:
    server, project, _ = served
    refused(native(server, project, "POST", "/saved-funnels", body), 400, fragment)


def test_a_malformed_funnel_id_is_not_found(served: tuple[LiveServer, Project, Project]) -> None:
    server, project, _ = served
    refused(native(server, project, "GET", "/saved-funnels/abc"), 404, "abc")
    refused(get(server, project, "/api/2.0/funnels", **DATES, funnel_id="-1"), 404, "-1")


# --- Mixpanel's /retention and /retention/addiction ---

RETENTIONS = [
    pytest.param(
        {"born_event": "View", "event": "Buy"},
        {"born": Step(event="View"), "returning": Step(event="Buy"), "periods": 1},
        id="birth",
    ),
    pytest.param(
        {
            "born_event": "View",
            "born_where": 'properties["browser"] == "Chrome"',
            "where": 'properties["price"] > 1',
            "interval_count": "4",
            "unbounded_retention": "true",
        },
        {
            "born": Step(event="View", where='properties["browser"] == "Chrome"'),
            "returning": Step(where='properties["price"] > 1'),
            "periods": 4,
            "mode": "on_or_after",
        },
        id="filters, unbounded",
    ),
    pytest.param(
        {"retention_type": "compounded", "event": "Cart", "unit": "week", "interval_count": "2"},
        {
            "born": Step(event="Cart"),
            "returning": Step(event="Cart"),
            "retention_type": "recurring",
            "unit": "week",
            "periods": 2,
        },
        id="compounded weeks",
    ),
]


@pytest.mark.parametrize("prefix", ["/api/2.0", "/api/query"])
@pytest.mark.parametrize(("params", "fields"), RETENTIONS)
def test_retention(
    served: tuple[LiveServer, Project, Project],
    prefix: str,
    params: dict[str, str],
    fields: dict[str, Any],
) -> None:
    server, project, _ = served
    body = ok(get(server, project, f"{prefix}/retention", **DATES, **params))
    spec = RetentionSpec(from_date=D(DATES["from_date"]), to_date=D(DATES["to_date"]), **fields)
    result = answer(reader(server), project, spec)
    expected = {c["cohort"]: {"counts": c["counts"], "first": c["size"]} for c in result["cohorts"]}
    assert body == plain(expected)
    assert sum(c["first"] for c in body.values()) > 0
    assert all(len(c["counts"]) == spec.periods + 1 for c in body.values())


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        pytest.param({"event": "View"}, {"event": "View"}, id="weeks of days (default)"),
        pytest.param(
            {"unit": "day", "addiction_unit": "hour", "where": 'properties["price"] > 1'},
            {"unit": "day", "addiction_unit": "hour", "where": 'properties["price"] > 1'},
            id="days of hours, any event",
        ),
    ],
)
def test_retention_addiction(
    served: tuple[LiveServer, Project, Project], params: dict[str, str], fields: dict[str, Any]
) -> None:
    server, project, _ = served
    body = ok(get(server, project, "/api/2.0/retention/addiction", **DATES, **params))
    spec = FrequencySpec(from_date=D(DATES["from_date"]), to_date=D(DATES["to_date"]), **fields)
    result = answer(reader(server), project, spec)
    assert body == {"data": dict(zip(result["buckets"], result["at_least"], strict=True))}
    assert any(any(row) for row in body["data"].values())


# --- errors ---

STEPS_PARAM = json.dumps(STEPS)
MIXPANEL_ERRORS = [
    ("/funnels", {**DATES}, "`funnel_id` or `steps`"),
    ("/funnels", {**DATES, "funnel_id": "1", "steps": STEPS_PARAM}, "`funnel_id` or `steps`"),
    ("/funnels", {**DATES, "steps": "[{"}, "`steps` as a JSON array"),
    ("/funnels", {**DATES, "steps": '[{"event": 3}]'}, "$[0].event"),
    ("/funnels", {**DATES, "steps": '[{"event": "View"}]'}, "2 to 64 steps"),
    (
        "/funnels",
        {**DATES, "steps": STEPS_PARAM, "length_unit": "week", "length": "2"},
        "`length_unit`",
    ),
    ("/funnels", {**DATES, "steps": STEPS_PARAM, "length": "0"}, "`length`"),
    ("/funnels", {**DATES, "steps": STEPS_PARAM, "unit": "week", "interval": "2"}, "got both"),
    ("/funnels", {**DATES, "steps": STEPS_PARAM, "unit": "year"}, "`unit`"),
    ("/funnels", {**DATES, "steps": STEPS_PARAM, "limit": "0"}, "`limit`"),
    ("/funnels", {**DATES, "steps": STEPS_PARAM, "on": "frobnicate(1)"}, "position 0"),
    ("/funnels", {**DATES, "steps": STEPS_PARAM, "type": "unique"}, "got `type`"),
    ("/funnels", {**DATES, "steps": STEPS_PARAM, "workspace_id": "3"}, "data views"),
    (
        "/funnels",
        {"from_date": "2010-01-01", "to_date": "2026-01-01", "steps": STEPS_PARAM},
        "at most 4000 date buckets, got 5845",
    ),
    (
        "/funnels",
        {"from_date": "2026-03-02", "to_date": "2026-03-01", "steps": STEPS_PARAM},
        "`to_date`",
    ),
    ("/funnels/list", {"limit": "3"}, "no parameter"),
    ("/retention", {**DATES}, "`born_event`"),
    ("/retention", {**DATES, "born_event": "View", "interval": "2"}, "`interval` 1"),
    ("/retention", {**DATES, "born_event": "View", "on": ON_BROWSER}, "got `on`"),
    ("/retention", {**DATES, "born_event": "View", "retention_type": "first"}, "`retention_type`"),
    (
        "/retention",
        {**DATES, "retention_type": "compounded", "born_event": "View"},
        "`born_event` only with retention_type=birth",
    ),
    ("/retention", {**DATES, "born_event": "View", "interval_count": "x"}, "`interval_count`"),
    ("/retention/addiction", {**DATES, "addiction_unit": "week"}, "`addiction_unit`"),
    ("/retention/addiction", {**DATES, "on": ON_BROWSER}, "got `on`"),
    ("/retention/addiction", {"from_date": "2026-03-02"}, "`to_date`"),
]


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [pytest.param(*case, id=f"{case[0]} {case[2]}") for case in MIXPANEL_ERRORS],
)
def test_mixpanel_bad_parameters_answer_400(
    served: tuple[LiveServer, Project, Project], path: str, params: dict[str, str], fragment: str
) -> None:
    server, project, _ = served
    refused(get(server, project, f"/api/2.0{path}", **params), 400, fragment)


ROUTES = [
    ("GET", "/api/2.0/funnels", None),
    ("GET", "/api/query/funnels/list", None),
    ("GET", "/api/2.0/retention", None),
    ("GET", "/api/query/retention/addiction", None),
    *[("POST", f"/api/v1/projects/{{id}}/{kind}", {**DATES}) for kind in REPORTS],
    ("POST", "/api/v1/projects/{id}/saved-funnels", {"name": "x", "funnel": {"steps": STEPS}}),
    ("GET", "/api/v1/projects/{id}/saved-funnels", None),
    ("GET", "/api/v1/projects/{id}/saved-funnels/1", None),
    ("DELETE", "/api/v1/projects/{id}/saved-funnels/1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_credentials_are_checked(
    served: tuple[LiveServer, Project, Project], method: str, path: str, body: Any
) -> None:
    server, project, golden = served
    path = path.format(id=project.id)
    refused(send(server, method, path, DATES, body), 401, "Invalid credentials")
    refused(
        send(server, method, path, DATES, body, user="not-a-secret"), 401, "Invalid credentials"
    )
    if "/projects/" in path:
        # Another project's secret does not open this project.
        refused(send(server, method, path, DATES, body, user=golden.secret), 401, "Invalid")


def test_openapi_describes_the_behaviour_routes(
    served: tuple[LiveServer, Project, Project],
) -> None:
    server, _, _ = served
    document = ok(call(server.port, "GET", "/api/v1/openapi.json"))
    paths = document["paths"]
    for prefix in ("/api/2.0", "/api/query"):
        for path in ("/funnels", "/funnels/list", "/retention", "/retention/addiction"):
            assert "get" in paths[prefix + path]
    native_base = "/api/v1/projects/{project_id}"
    for kind, spec in [
        ("funnels", "FunnelSpec"),
        ("retention", "RetentionSpec"),
        ("flows", "FlowsSpec"),
        ("frequency", "FrequencySpec"),
        ("lifecycle", "LifecycleSpec"),
    ]:
        body = paths[f"{native_base}/{kind}"]["post"]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{spec}"
        }
        assert spec in document["components"]["schemas"]
    assert set(paths[f"{native_base}/saved-funnels"]) == {"get", "post"}
    item = paths[f"{native_base}/saved-funnels/{{funnel_id}}"]
    assert set(item) == {"get", "delete"}
    for operation in item.values():
        assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == [
            "project_id",
            "funnel_id",
        ]
    funnel_params = {p["name"] for p in paths["/api/2.0/funnels"]["get"]["parameters"]}
    assert {"funnel_id", "steps", "length", "length_unit", "on", "limit"} <= funnel_params
