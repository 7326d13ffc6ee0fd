"""`cohort(N)` as a filter and a breakdown in every report: a report over all events filtered
to the cohort equals the same report over a project holding only the members' events, and
its `true`/`false` segments equal the members' and the others' reports."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.query.answers import answer_json
from tests.query.store import SavedCohorts, event, new_project, reader, store, write_profiles
from tests.reference.cohorts import Reference
from trackway.projects import Project
from trackway.query.cohorts.spec import CohortDefinition

START_MS = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp() * 1000)
DATES = {"from_date": "2026-03-02", "to_date": "2026-03-12"}
CONDITION = {
    "any": [
        {"did": {"event": "Buy", "at_least": 5}},
        {"profile": 'user["plan"] == "pro"'},
    ]
}


@dataclass
class Projects:
    data_dir: Path
    everyone: Project  # every event, and the saved cohort
    members: Project  # the members' events only
    others: Project  # everyone else's
    cohort_id: int


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> Projects:
    data_dir = tmp_path_factory.mktemp("cohort-reports")
    rng = random.Random(11)
    events = [
        event(
            rng.choice(["View", "View", "Cart", "Buy"]),
            f"u{rng.randrange(80)}",
            START_MS + rng.randrange(12 * 86_400_000),
            f"e{i}",
            browser=rng.choice(["Chrome", "Safari"]),
        )
        for i in range(1200)
    ]
    profiles = {f"u{i}": {"plan": rng.choice(["free", "pro"])} for i in range(0, 80, 5)}
    everyone, members, others = (new_project(data_dir) for _ in range(3))
    store(data_dir, everyone, [events[:700]], events[700:])
    updates = [{"$distinct_id": u, "$time": 1000, "$set": p} for u, p in profiles.items()]
    write_profiles(data_dir, everyone, "engage", updates)
    saved = SavedCohorts(data_dir, everyone).add(CohortDefinition("c", CONDITION), 1)
    now = int(time.time() * 1000)
    inside = Reference(events, profiles, {saved.id: CONDITION}, now, "UTC").members(saved.id)
    assert 10 < len(inside) < 70
    mine = [e for e in events if e["properties"]["distinct_id"] in inside]
    store(data_dir, members, [mine], [])
    store(data_dir, others, [[e for e in events if e not in mine]], [])
    return Projects(data_dir, everyone, members, others, saved.id)


Runner = Callable[[Path, Project, dict[str, Any]], dict[str, Any]]


def insights(data_dir: Path, project: Project, spec: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = answer_json(reader(data_dir), project, "insights", spec)
    return result


def behaviour(kind: str) -> Runner:
    def run(data_dir: Path, project: Project, spec: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = answer_json(reader(data_dir), project, kind, spec)
        return result

    return run


METRICS = [{"event": "View", "measure": "unique"}, {"event": "Cart", "measure": "total"}]
FILTERED = [
    pytest.param(insights, {"metrics": METRICS}, "where", id="insights"),
    pytest.param(insights, {"metrics": [{**METRICS[0], "where": "@"}]}, None, id="insights metric"),
    pytest.param(
        behaviour("funnels"),
        {"steps": [{"event": "View"}, {"event": "Cart"}, {"event": "Buy"}]},
        "where",
        id="funnel",
    ),
    pytest.param(
        behaviour("funnels"),
        {"steps": [{"event": "View", "where": "@"}, {"event": "Buy"}]},
        None,
        id="funnel step filter",
    ),
    pytest.param(
        behaviour("retention"),
        {"born": {"event": "View"}, "returning": {"event": "Buy"}, "periods": 4},
        "where",
        id="retention",
    ),
    pytest.param(
        behaviour("retention"),
        {"born": {"event": "View", "where": "@"}, "periods": 4},
        None,
        id="retention birth filter",
    ),
    pytest.param(
        behaviour("flows"), {"anchor": {"event": "Cart"}, "steps": 3}, "where", id="flows"
    ),
    pytest.param(behaviour("lifecycle"), {"event": ["View", "Buy"]}, "where", id="lifecycle"),
]


def _with_cohort(spec: Any, cohort: str) -> Any:
    """``spec`` with every ``"@"`` replaced by ``cohort(N)``."""
    return json.loads(json.dumps(spec).replace('"@"', json.dumps(cohort)))


@pytest.mark.parametrize(("run", "spec", "where"), FILTERED)
def test_a_cohort_filter_is_the_members_report(
    projects: Projects, run: Runner, spec: dict[str, Any], where: str | None
) -> None:
    cohort = f"cohort({projects.cohort_id})"
    filtered = _with_cohort({**DATES, **spec}, cohort)
    if where is not None:
        filtered[where] = cohort
    plain = json.loads(json.dumps({**DATES, **spec}).replace(', "where": "@"', ""))
    got = run(projects.data_dir, projects.everyone, filtered)
    assert _canonical(got) == _canonical(run(projects.data_dir, projects.members, plain))


def _canonical(value: Any) -> Any:
    """Lists of objects in a fixed order: ties (equal counts) may rank either way."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        if all(isinstance(v, dict) for v in items):
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True))
        return items
    return value


def _by_segment(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["segment"][0]: row for row in rows}


def test_insights_breakdown_by_cohort(projects: Projects) -> None:
    breakdown = [{"expression": f"cohort({projects.cohort_id})"}]
    spec = {**DATES, "metrics": METRICS}
    split = insights(projects.data_dir, projects.everyone, {**spec, "breakdowns": breakdown})
    for label, project in (("true", projects.members), ("false", projects.others)):
        alone = insights(projects.data_dir, project, spec)
        for metric in ("A", "B"):
            (mine,) = [
                s for s in split["series"] if s["metric"] == metric and s["segment"] == [label]
            ]
            (theirs,) = [s for s in alone["series"] if s["metric"] == metric]
            assert (mine["values"], mine["total"]) == (theirs["values"], theirs["total"])


def test_funnel_breakdown_by_cohort(projects: Projects) -> None:
    spec = {**DATES, "steps": [{"event": "View"}, {"event": "Cart"}, {"event": "Buy"}]}
    run = behaviour("funnels")
    breakdown = [{"expression": f"cohort({projects.cohort_id})"}]
    split = run(projects.data_dir, projects.everyone, {**spec, "breakdowns": breakdown})
    rows = _by_segment(split["segments"]["rows"])
    for label, project in (("true", projects.members), ("false", projects.others)):
        alone = run(projects.data_dir, project, spec)
        assert rows[label]["counts"] == [step["count"] for step in alone["steps"]]


def test_flows_breakdown_by_cohort(projects: Projects) -> None:
    spec = {**DATES, "anchor": {"event": "Cart"}, "steps": 3}
    run = behaviour("flows")
    breakdown = {"expression": f"cohort({projects.cohort_id})"}
    split = run(projects.data_dir, projects.everyone, {**spec, "breakdown": breakdown})
    segments = _by_segment(split["segments"])
    for label, project in (("true", projects.members), ("false", projects.others)):
        alone = run(projects.data_dir, project, spec)
        mine = segments[label]
        assert mine["total"] == alone["total"]
        for part in ("nodes", "links"):
            assert _canonical(mine[part]) == _canonical(alone[part])
