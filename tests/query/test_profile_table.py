"""`user["…"]` in every report: profile properties as filters and breakdowns, read through
identity clusters, from uncommitted profile updates at once, and group profiles under group
analytics. Each report is checked against a plain Python computation over the same data, and
every report kind against itself run over events that carry the profile values."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.query.answers import answer_json
from tests.query.store import (
    Event,
    event,
    new_project,
    reader,
    write_parts,
    write_profiles,
    write_tail,
)
from trackway.projects import Project
from trackway.query.context import ReportContext
from trackway.query.expr import UNDEFINED
from trackway.query.profile_table import ProfileTable
from trackway.settings import Settings
from trackway.storage.identity import IdentityMap
from trackway.storage.scan import EventReader
from trackway.storage.sharding import user_hash
from trackway.storage.worker import StorageWorker

NOV2 = date(2026, 11, 2)
DATES = {"from_date": "2026-11-02", "to_date": "2026-11-03"}
MISSING = object()  # no profile, or a profile without the property


def t(hour: float, day: int = 0) -> int:
    moment = datetime.combine(NOV2 + timedelta(days=day), datetime.min.time(), UTC)
    return int((moment + timedelta(hours=hour)).timestamp() * 1000)


def ev(name: str, user: str, hour: float, day: int = 0, **props: Any) -> Event:
    return event(name, user, t(hour, day), f"{name}-{user}-{day}-{hour}", **props)


def update(key: str, at: int = 100, **properties: Any) -> dict[str, Any]:
    return {"$distinct_id": key, "$time": at, "$set": properties}


def group_update(group_id: str, key: str = "company_id", **properties: Any) -> dict[str, Any]:
    return {"$group_key": key, "$group_id": group_id, "$time": 100, "$set": properties}


DEVICE = {"$device_id": "d7"}
EVENTS = [
    ev("View", "u1", 10),
    ev("Cart", "u1", 10.1),
    ev("Buy", "u1", 10.2),
    ev("View", "u1", 9, day=1),
    # An event property named like the profile property: user["plan"] never reads it.
    ev("View", "u2", 10, plan="enterprise"),
    ev("Cart", "u2", 10.3),
    ev("View", "u2", 12, day=1),
    ev("View", "u3", 11),
    ev("Buy", "u3", 11.5),
    ev("Cart", "u3", 8, day=1),
    ev("View", "u4", 9),  # u4 has no profile
    ev("Cart", "u4", 9.1),
    ev("Buy", "u4", 9.2),
    ev("View", "u5", 12),  # u5's profile has no plan
    ev("Cart", "u5", 12, day=1),
    ev("View", "u6", 13),  # u6's plan is JSON null
    ev("Cart", "u6", 13.1),
    ev("Buy", "u6", 13, day=1),
    # A device that signs in as u7: its events are u7's, and so is its profile's place.
    ev("View", "$device:d7", 14, **DEVICE),
    ev("Cart", "u7", 14.1, **DEVICE, **{"$user_id": "u7"}),
    ev("Buy", "u7", 14.2, day=1),
]
COMMITTED_PROFILES = [
    update("u1", plan="free", seats=3),
    update("u2", plan="free"),
    update("u5", name="Eve"),
    update("u6", plan=None),
    update("ghost", plan="pro"),  # a profile nobody's events belong to
    update("u7", plan="pro"),
    update("$device:d7", at=900, plan="free"),  # seen later, but u7's own profile wins
]
TAIL_PROFILES = [update("u1", at=200, plan="pro"), update("u3", plan="pro")]
# What the profiles say once the tail is applied, by canonical user.
PLAN: dict[str, Any] = {"u1": "pro", "u2": "free", "u3": "pro", "u6": None, "u7": "pro"}
CANONICAL = {"$device:d7": "u7"}


def user_of(e: Event) -> str:
    distinct_id: str = e["properties"]["distinct_id"]
    return CANONICAL.get(distinct_id, distinct_id)


def plan_of(e: Event) -> Any:
    return PLAN.get(user_of(e), MISSING)


def label(value: Any) -> str:
    return "undefined" if value is MISSING else "null" if value is None else str(value)


def day_of(e: Event) -> int:
    return (e["properties"]["time"] - t(0)) // 86_400_000


def stored(data_dir: Path, events: list[Event], profiles: bool = True) -> Project:
    """A project holding ``events`` (every other one uncommitted) and, with ``profiles``,
    the committed profiles plus the uncommitted tail updates."""
    project = new_project(data_dir)
    write_parts(data_dir, project, events[::2])
    if profiles:
        write_profiles(data_dir, project, "engage", COMMITTED_PROFILES)
        StorageWorker(data_dir, Settings()).run_once()
        write_profiles(data_dir, project, "engage", TAIL_PROFILES)
    write_tail(data_dir, project, events[1::2])
    return project


def insights(events_reader: EventReader, project: Project, **fields: Any) -> dict[Any, Any]:
    spec = {**DATES, "metrics": [{"event": "View", "measure": "unique"}], **fields}
    result = answer_json(events_reader, project, "insights", spec)
    return {tuple(s["segment"]): (s["values"], s["total"]) for s in result["series"]}


def behaviour(events_reader: EventReader, project: Project, kind: str, **spec: Any) -> Any:
    return answer_json(events_reader, project, kind, {**DATES, **spec})


def test_insights_unique_users_filtered_and_broken_down_by_plan(tmp_path: Path) -> None:
    project = stored(tmp_path, EVENTS)
    views = [e for e in EVENTS if e["event"] == "View"]

    def expected(segment: Any, keep: Any) -> tuple[list[int], int]:
        rows = [e for e in views if keep(e) and segment(e)]
        per_day = [len({user_of(e) for e in rows if day_of(e) == d}) for d in (0, 1)]
        return per_day, len({user_of(e) for e in rows})

    def is_pro(e: Event) -> bool:
        return plan_of(e) == "pro"

    filtered = insights(reader(tmp_path), project, where='user["plan"] == "pro"')
    assert filtered == {("",): expected(lambda _: True, is_pro)} == {("",): ([3, 1], 3)}
    broken_down = insights(reader(tmp_path), project, breakdowns=[{"expression": 'user["plan"]'}])
    labels = {label(plan_of(e)) for e in views}
    assert broken_down == {
        (name,): expected(lambda e, n=name: label(plan_of(e)) == n, lambda _: True)
        for name in labels
    }
    assert set(broken_down) == {("pro",), ("free",), ("null",), ("undefined",)}


def test_funnel_with_a_step_filter_and_a_breakdown_on_plan(tmp_path: Path) -> None:
    project = stored(tmp_path, EVENTS)
    steps = [
        {"event": "View"},
        {"event": "Cart", "where": 'user["plan"] != "free"'},
        {"event": "Buy"},
    ]
    result = behaviour(
        reader(tmp_path),
        project,
        "funnels",
        steps=steps,
        breakdowns=[{"expression": 'user["plan"]'}],
    )
    # Per user: the furthest step reached from their first View (loose order, no window
    # limit within these two days); free users never match the Cart step.
    reached: dict[str, int] = {}
    by_user: dict[str, list[Event]] = defaultdict(list)
    for e in sorted(EVENTS, key=lambda e: e["properties"]["time"]):
        by_user[user_of(e)].append(e)
    for user, events in by_user.items():
        step = 0
        for e in events:
            wanted = ["View", "Cart", "Buy"][step] if step < 3 else None
            if e["event"] == wanted and (wanted != "Cart" or PLAN.get(user) != "free"):
                step += 1
        if step:
            reached[user] = step
    segments: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for user, step in reached.items():
        for k in range(step):
            segments[label(PLAN.get(user, MISSING))][k] += 1
    assert [s["count"] for s in result["steps"]] == [7, 6, 4]
    rows = {row["segment"][0]: row["counts"] for row in result["segments"]["rows"]}
    assert rows == dict(segments)
    assert rows == {"pro": [3, 3, 2], "free": [1, 0, 0], "undefined": [2, 2, 1], "null": [1, 1, 1]}


def test_retention_with_a_user_filter(tmp_path: Path) -> None:
    project = stored(tmp_path, EVENTS)
    where = 'user["plan"] == "pro"'
    result = behaviour(
        reader(tmp_path), project, "retention", born={"event": "View"}, periods=2, where=where
    )
    # Pro users are born at their first View; a return is any later event, by day.
    cohorts: dict[int, list[int]] = {0: [0, 0, 0, 0], 1: [0, 0, 0, 0]}  # size, periods 0-2
    for user in {user_of(e) for e in EVENTS if plan_of(e) == "pro"}:
        events = sorted(
            (e for e in EVENTS if user_of(e) == user), key=lambda e: e["properties"]["time"]
        )
        birth = next(e for e in events if e["event"] == "View")
        born_day = day_of(birth)
        cohorts[born_day][0] += 1
        returns = {
            day_of(e) - born_day
            for e in events
            if e["properties"]["time"] > birth["properties"]["time"]
        }
        for period in returns:
            if period <= 2:
                cohorts[born_day][1 + period] += 1
    assert [(c["size"], c["counts"][:3]) for c in result["cohorts"]] == [
        (cohorts[d][0], cohorts[d][1:]) for d in (0, 1)
    ]
    assert result["cohorts"][0]["size"] == 3


def test_flows_with_a_user_filter(tmp_path: Path) -> None:
    project = stored(tmp_path, EVENTS)
    result = behaviour(
        reader(tmp_path),
        project,
        "flows",
        anchor={"event": "View"},
        steps=3,
        where='user["plan"] == "pro"',
        from_date="2026-11-02",
        to_date="2026-11-02",
    )
    nodes: dict[tuple[int, str], int] = defaultdict(int)
    for user in {user_of(e) for e in EVENTS if plan_of(e) == "pro"}:
        events = sorted(
            (e for e in EVENTS if user_of(e) == user), key=lambda e: e["properties"]["time"]
        )
        anchor = next(i for i, e in enumerate(events) if e["event"] == "View" and day_of(e) == 0)
        path = [e["event"] for e in events[anchor + 1 :]][:3]
        nodes[(0, "View")] += 1
        for step, name in enumerate([*path, "$end"][:3], start=1):
            nodes[(step, name)] += 1
    assert {(n["step"], n["event"]): n["count"] for n in result["nodes"]} == dict(nodes)
    assert result["total"] == 3


def denormalized(events: list[Event]) -> list[Event]:
    """The events, each carrying its user's plan as an event property (none when missing)."""
    out = []
    for e in events:
        props = {k: v for k, v in e["properties"].items() if k != "plan"}
        if plan_of(e) is not MISSING:
            props["plan"] = plan_of(e)
        out.append({**e, "properties": props})
    return out


ALL_REPORTS = [
    pytest.param("insights", {"breakdowns": [{"expression": 'user["plan"]'}]}, id="insights"),
    pytest.param(
        "funnels",
        {
            "steps": [{"event": "View"}, {"event": "Buy", "where": 'user["plan"] != "free"'}],
            "breakdowns": [{"expression": 'string(user["plan"]) + "!"'}],
            "where": 'defined(user["plan"]) or event["name"] != "Cart"',
        },
        id="funnel",
    ),
    pytest.param(
        "retention",
        {"born": {"event": "View", "where": 'user["plan"] == "pro"'}, "periods": 2},
        id="retention",
    ),
    pytest.param(
        "flows",
        {"anchor": {"event": "View"}, "breakdown": {"expression": 'user["plan"]'}},
        id="flows",
    ),
    pytest.param("frequency", {"event": "View", "where": 'user["plan"] != "pro"'}, id="frequency"),
    pytest.param("lifecycle", {"event": "View", "where": 'user["plan"] == null'}, id="lifecycle"),
]


@pytest.mark.parametrize(("kind", "spec"), ALL_REPORTS)
def test_reports_read_user_properties_as_if_the_events_carried_them(
    tmp_path: Path, kind: str, spec: dict[str, Any]
) -> None:
    with_profiles = stored(tmp_path / "profiles", EVENTS)
    carried = stored(tmp_path / "events", denormalized(EVENTS), profiles=False)
    as_events = json.loads(json.dumps(spec).replace('user[\\"plan\\"]', 'properties[\\"plan\\"]'))

    def run(data_dir: Path, project: Project, fields: dict[str, Any]) -> Any:
        if kind == "insights":
            return insights(reader(data_dir), project, **fields)
        return behaviour(reader(data_dir), project, kind, **fields)

    assert run(tmp_path / "profiles", with_profiles, spec) == run(
        tmp_path / "events", carried, as_events
    )


def test_a_profile_update_in_the_log_tail_shows_in_the_next_query(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    write_parts(tmp_path, project, [ev("View", "u1", 10), ev("View", "u2", 10)])
    events_reader = reader(tmp_path)  # one reader: its caches must not hide the update
    by_plan = {"breakdowns": [{"expression": 'user["plan"]'}]}
    assert insights(events_reader, project, **by_plan) == {("undefined",): ([2, 0], 2)}
    context = ReportContext(events_reader, project)
    first = ProfileTable.build(context)
    assert ProfileTable.build(ReportContext(events_reader, project)) is first  # cached
    write_profiles(tmp_path, project, "engage", [update("u1", plan="pro")])
    assert ProfileTable.build(ReportContext(events_reader, project)) is not first
    assert insights(events_reader, project, **by_plan) == {
        ("pro",): ([1, 0], 1),
        ("undefined",): ([1, 0], 1),
    }


def test_group_profiles_under_group_analytics(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    events = [
        ev("View", "u1", 10, company_id="c1"),
        ev("Buy", "u1", 11, company_id="c1"),
        ev("View", "u2", 10, company_id="c1"),
        ev("View", "u3", 10, company_id="c2"),
        ev("Buy", "u3", 10.5, company_id="c2"),
        ev("View", "u4", 10, company_id="c3"),  # a group without a profile
        ev("View", "u5", 10),  # no group: not counted
    ]
    write_parts(tmp_path, project, events)
    write_profiles(
        tmp_path,
        project,
        "groups",
        [
            group_update("c1", tier="gold"),
            group_update("c2", tier="bronze"),
            group_update("c1", key="team_id", tier="other group key"),
        ],
    )
    write_profiles(tmp_path, project, "engage", [update("c1", tier="a user's profile")])
    StorageWorker(tmp_path, Settings()).run_once()
    write_profiles(tmp_path, project, "groups", [group_update("c2", tier="silver")])  # tail
    tier = {"c1": "gold", "c2": "silver"}
    by_tier = insights(
        reader(tmp_path),
        project,
        group="company_id",
        breakdowns=[{"expression": 'user["tier"]'}],
    )
    assert by_tier == {(label(tier.get(c, MISSING)),): ([1, 0], 1) for c in ("c1", "c2", "c3")}
    assert set(by_tier) == {("gold",), ("silver",), ("undefined",)}
    funnel = behaviour(
        reader(tmp_path),
        project,
        "funnels",
        group="company_id",
        steps=[{"event": "View"}, {"event": "Buy", "where": 'user["tier"] == "gold"'}],
    )
    assert [s["count"] for s in funnel["steps"]] == [3, 1]


def test_one_profile_per_person_by_the_identity_rule() -> None:
    def state(plan: str, last_seen: int) -> dict[str, Any]:
        return {"properties": {"plan": plan}, "created_ms": 0, "last_seen_ms": last_seen}

    states = {
        "alice": state("own", 1),
        "$device:a": state("device, seen later", 9),
        "$device:b1": state("seen first", 1),
        "$device:b2": state("seen last", 5),
        "$device:c2": state("tie, higher id", 3),
        "$device:c1": state("tie, lowest id", 3),
        "dave": state("alone", 1),
    }
    identity = IdentityMap(
        {
            "$device:a": "alice",
            "$device:b1": "bob",
            "$device:b2": "bob",
            "$device:c1": "carol",
            "$device:c2": "carol",
        }
    )
    table = ProfileTable.from_states(states, identity, None)
    owners = dict(zip(table.ids.tolist(), table.column("plan").to_pylist(), strict=True))
    assert owners == {
        "alice": "own",
        "bob": "seen last",
        "carol": "tie, lowest id",
        "dave": "alone",
    }
    assert list(table.hashes) == sorted(table.hashes)
    # Rows come in runs of one user, in any order of users.
    rows = ["bob", "bob", "nobody", "dave", "dave", "bob", "$device:a"]
    users = np.array([user_hash(u) for u in rows], np.int64)
    plans = {**owners, "nobody": UNDEFINED, "$device:a": UNDEFINED}  # rows hold canonical ids
    assert table.vector("plan", users).to_pylist() == [plans[u] for u in rows]
    assert table.vector("missing", users).to_pylist() == [UNDEFINED] * len(rows)
    assert table.vector("$last_seen", users[:1]).to_pylist() == ["1970-01-01T00:00:00"]
    assert table.vector("$created", users[:1]).to_pylist() == ["1970-01-01T00:00:00"]
    empty = ProfileTable.from_states({}, None, None)
    assert empty.vector("plan", users).to_pylist() == [UNDEFINED] * len(rows)
    assert len(table.vector("plan", users[:0])) == 0
