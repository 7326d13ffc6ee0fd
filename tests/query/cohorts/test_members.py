"""Cohort members from the real scan: against a per-user reference on random data (nested
cohorts, `not`, `at_most: 0`, windows at their edges, two time zones), golden edge cases, and
the rules a saved definition must keep."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from tests.query.store import Event, SavedCohorts, event, new_project, reader, store, write_profiles
from tests.reference.cohorts import Reference, local_midnight
from trackway.errors import NotFoundError
from trackway.projects import Project
from trackway.query.cohorts.evaluate import CohortMembers
from trackway.query.cohorts.spec import CohortDefinition, check_definition
from trackway.query.errors import SpecError
from trackway.query.expr import ExpressionError
from trackway.query.reports import report_context
from trackway.storage.layout import ProjectPaths
from trackway.storage.sharding import user_hash

NOW = int(datetime(2026, 3, 20, 15, tzinfo=UTC).timestamp() * 1000)
FIRST = date(2026, 2, 20)
ZONES = ["UTC", "America/New_York"]
NAMES = ["View", "View", "Buy", "Open"]
WHERES = [None, 'properties["price"] > 5', 'properties["browser"] == "Chrome"']
PLANS = ["free", "pro", "team"]


@dataclass
class World:
    data_dir: Path
    project: Project
    events: list[Event]
    profiles: dict[str, dict[str, Any]]


def _events(rng: random.Random) -> list[Event]:
    start = local_midnight(FIRST, "UTC")
    out = []
    for i in range(900):
        time_ms = rng.randrange(start, NOW + 5 * 86_400_000)  # some after now
        props = {"price": rng.choice([1, 5, 20]), "browser": rng.choice(["Chrome", "Safari"])}
        out.append(event(rng.choice(NAMES), f"u{rng.randrange(40)}", time_ms, f"e{i}", **props))
    # Events on the edges: midnights of both zones, a millisecond either side, and now.
    edges = [NOW - 1, NOW, NOW + 1]
    for offset in range(8):
        day = date(2026, 3, 20) - timedelta(days=offset)
        for tz in ZONES:
            midnight = local_midnight(day, tz)
            edges += [midnight - 1, midnight]
    for i, time_ms in enumerate(edges):
        out.append(event(rng.choice(NAMES), f"edge{i % 7}", time_ms, f"x{i}", price=20))
    out.append(event("Buy", "future", NOW + 3_600_000, "f1"))  # no event up to now
    return out


def _profiles(rng: random.Random) -> dict[str, dict[str, Any]]:
    users = [f"u{i}" for i in range(0, 40, 2)] + ["edge1", "only1", "only2", "only3"]
    out: dict[str, dict[str, Any]] = {}
    for user in users:
        props: dict[str, Any] = {"plan": rng.choice(PLANS), "seats": rng.randrange(1, 30)}
        if rng.random() < 0.3:
            del props["plan"]
        out[user] = props
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    data_dir = tmp_path_factory.mktemp("cohorts")
    project = new_project(data_dir)
    rng = random.Random(3)
    events = _events(rng)
    profiles = _profiles(rng)
    store(data_dir, project, [events[:400], events[400:800]], events[800:])
    updates = [{"$distinct_id": u, "$time": 1000, "$set": p} for u, p in profiles.items()]
    write_profiles(data_dir, project, "engage", updates)
    return World(data_dir, project, events, profiles)


def _did(rng: random.Random, earlier: list[int]) -> dict[str, Any]:
    did: dict[str, Any] = {"event": rng.choice([None, "View", "Buy", "Open"])}
    wheres = WHERES + ([f"cohort({rng.choice(earlier)})"] if earlier else [])
    did["where"] = rng.choice(wheres)
    did["at_least"] = rng.choice([0, 1, 1, 2, 4])
    did["at_most"] = rng.choice([None, None, did["at_least"], did["at_least"] + 2])
    if rng.random() < 0.15:
        did["at_least"], did["at_most"] = 0, 0  # did not do
    window = rng.choice(["days", "days", "dates", "from", "to", "ever"])
    if window == "days":
        did["within_days"] = rng.choice([1, 2, 3, 7, 30])
    if window in ("dates", "from"):
        did["from_date"] = str(date(2026, 3, 20) - timedelta(days=rng.randrange(6)))
    if window in ("dates", "to"):
        did["to_date"] = str(date(2026, 3, 22) - timedelta(days=rng.randrange(6)))
    if did.get("from_date") and did.get("to_date") and did["to_date"] < did["from_date"]:
        did["to_date"] = did["from_date"]
    return {"did": did}


def _condition(rng: random.Random, depth: int, earlier: list[int]) -> dict[str, Any]:
    kinds = ["did", "did", "profile"] + (["cohort"] if earlier else [])
    if depth > 0:
        kinds += ["not", "all", "any"]
    kind = rng.choice(kinds)
    if kind == "did":
        return _did(rng, earlier)
    if kind == "profile":
        texts = ['user["plan"] == "pro"', 'properties["seats"] > 10', 'not defined(user["plan"])']
        texts += [f'cohort({rng.choice(earlier)}) or user["plan"] == "team"'] if earlier else []
        return {"profile": rng.choice(texts)}
    if kind == "cohort":
        return {"cohort": rng.choice(earlier)}
    if kind == "not":
        return {"not": _condition(rng, depth - 1, earlier)}
    items = [_condition(rng, depth - 1, earlier) for _ in range(rng.randrange(1, 4))]
    return {kind: items}


def _members(world: World, tz: str, cohort_id: int, now_ms: int = NOW) -> set[str]:
    project = msgspec.structs.replace(world.project, timezone=tz)
    found = CohortMembers(report_context(reader(world.data_dir), project, now_ms=now_ms))
    return _names(world, found.members(cohort_id))


def _names(world: World, hashes: np.ndarray[Any, Any]) -> set[str]:
    everyone = {e["properties"]["distinct_id"] for e in world.events} | set(world.profiles)
    by_hash = {user_hash(u): u for u in everyone}
    assert list(hashes) == sorted(set(hashes.tolist()))  # sorted, unique
    return {by_hash[h] for h in hashes.tolist()}


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("seed", range(10))
def test_members_agree_with_the_reference(world: World, seed: int, tz: str) -> None:
    rng = random.Random(seed)
    cohorts = SavedCohorts(world.data_dir, world.project)
    mine: list[int] = []
    for i in range(6):
        earlier = [c.id for c in cohorts.all()][-8:]
        condition = _condition(rng, 2 if i % 2 else 1, earlier)
        mine.append(cohorts.add(CohortDefinition(f"c{seed}-{i}", condition), 1).id)
    definitions = {c.id: c.condition for c in cohorts.all()}
    expected = Reference(world.events, world.profiles, definitions, NOW, tz)
    project = msgspec.structs.replace(world.project, timezone=tz)
    # Twice: the second run reads what the first left in the column cache.
    shared = reader(world.data_dir)
    for _ in range(2):
        source = CohortMembers(report_context(shared, project, now_ms=NOW))
        for cohort_id in mine:
            found = _names(world, source.members(cohort_id))
            assert found == expected.members(cohort_id), (cohort_id, definitions[cohort_id])


def _golden(tmp_path: Path, events: list[Event], tz: str = "UTC") -> tuple[Path, Project]:
    project = msgspec.structs.replace(new_project(tmp_path), timezone=tz)
    store(tmp_path, project, [events], [])
    return tmp_path, project


def _evaluate(data: tuple[Path, Project], condition: dict[str, Any], now: int = NOW) -> set[str]:
    data_dir, project = data
    saved = SavedCohorts(data_dir, project).add(CohortDefinition("t", condition), 1)
    source = CohortMembers(report_context(reader(data_dir), project, now_ms=now))
    names = {user_hash(f"u{i}"): f"u{i}" for i in range(10)}
    return {names[h] for h in source.members(saved.id).tolist()}


def _at(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


EDGE_EVENTS = [
    event("Buy", "u1", _at("2026-03-19T23:59:59.999+00:00"), "a"),
    event("Buy", "u2", _at("2026-03-20T00:00:00+00:00"), "b"),
    event("Buy", "u3", NOW, "c"),
    event("Buy", "u4", NOW + 1, "d"),
    event("View", "u5", _at("2026-03-01T12:00:00+00:00"), "e"),
]


@pytest.mark.parametrize(
    ("did", "expected"),
    [
        pytest.param({"within_days": 1}, {"u2", "u3"}, id="today: from midnight through now"),
        pytest.param({"within_days": 2}, {"u1", "u2", "u3"}, id="yesterday too"),
        pytest.param({"to_date": "2026-03-19"}, {"u1"}, id="to_date: through its last ms"),
        pytest.param({"from_date": "2026-03-20"}, {"u2", "u3"}, id="from_date: never after now"),
        pytest.param({"from_date": "2026-03-21"}, set(), id="a window after now"),
        pytest.param({}, {"u1", "u2", "u3"}, id="ever, up to now"),
        pytest.param(
            {"at_least": 0, "at_most": 0, "within_days": 1}, {"u1", "u5"}, id="did not do"
        ),
        pytest.param({"at_least": 0, "within_days": 1}, {"u1", "u2", "u3", "u5"}, id="at_least 0"),
    ],
)
def test_window_edges(tmp_path: Path, did: dict[str, Any], expected: set[str]) -> None:
    data = _golden(tmp_path, EDGE_EVENTS)
    assert _evaluate(data, {"did": {"event": "Buy", **did}}) == expected


def test_days_are_the_project_time_zone(tmp_path: Path) -> None:
    # New York is UTC-4 on 2026-03-20 (summer time since 2026-03-08).
    events = [
        event("Buy", "u1", _at("2026-03-20T03:59:59.999+00:00"), "a"),
        event("Buy", "u2", _at("2026-03-20T04:00:00+00:00"), "b"),
    ]
    data = _golden(tmp_path, events, "America/New_York")
    assert _evaluate(data, {"did": {"within_days": 1}}) == {"u2"}
    assert _evaluate(data, {"did": {"to_date": "2026-03-19"}}) == {"u1"}


def test_now_defaults_to_the_current_time(tmp_path: Path) -> None:
    data = _golden(tmp_path, EDGE_EVENTS)
    assert _evaluate(data, {"did": {"event": "Buy"}}, now=0) == {"u1", "u2", "u3", "u4"}


def test_a_context_evaluates_each_cohort_once(world: World) -> None:
    cohorts = SavedCohorts(world.data_dir, world.project)
    saved = cohorts.add(CohortDefinition("buyers", {"did": {"event": "Buy"}}), 1)
    context = report_context(reader(world.data_dir), world.project, now_ms=NOW)
    users = np.array([user_hash("u1"), user_hash("nobody")], np.int64)
    first = context.in_cohort(saved.id, users)
    source = context._made["cohorts"]
    assert source.members(saved.id) is source.members(saved.id)
    assert first.to_pylist()[1] is False
    assert isinstance(source, CohortMembers)  # what report_context gives reports


def test_unknown_and_other_kind_cohorts_are_user_errors(world: World) -> None:
    context = report_context(reader(world.data_dir), world.project, now_ms=NOW)
    with pytest.raises(ExpressionError, match="saved cohort of this project, got 999"):
        context.in_cohort(999, np.zeros(1, np.int64))
    cohorts = SavedCohorts(world.data_dir, world.project)
    saved = cohorts.add(CohortDefinition("companies", {"did": {}}, group="company"), 1)
    # A query reads the saved definitions once: a new context sees the new cohort.
    context = report_context(reader(world.data_dir), world.project, now_ms=NOW)
    with pytest.raises(ExpressionError, match="Expected a cohort of users"):
        context.in_cohort(saved.id, np.zeros(1, np.int64))


def test_saving_keeps_the_rules(tmp_path: Path) -> None:
    cohorts = SavedCohorts(tmp_path, new_project(tmp_path))
    a = cohorts.add(CohortDefinition("a", {"did": {}}), 1)
    b = cohorts.add(CohortDefinition("b", {"not": {"cohort": a.id}}), 2)
    with pytest.raises(SpecError, match="depend on itself, got 1 → 2 → 1"):
        cohorts.replace(a.id, CohortDefinition("a", {"cohort": b.id}), 3)
    with pytest.raises(SpecError, match="depend on itself, got 1 → 2 → 1"):
        cohorts.replace(a.id, CohortDefinition("a", {"did": {"where": "cohort(2)"}}), 3)
    with pytest.raises(SpecError, match="got 3 → 3"):
        cohorts.add(CohortDefinition("c", {"profile": "cohort(3)"}), 3)
    with pytest.raises(SpecError, match="saved cohort of this project, got 7"):
        cohorts.add(CohortDefinition("c", {"cohort": 7}), 3)
    with pytest.raises(SpecError, match="cohort 1 counts users, this one groups of `org`"):
        cohorts.add(CohortDefinition("c", {"cohort": 1}, group="org"), 3)
    with pytest.raises(SpecError, match="cohorts 2 use it"):
        cohorts.remove(a.id)
    cohorts.remove(b.id)
    cohorts.remove(a.id)
    with pytest.raises(NotFoundError):
        cohorts.get(a.id)
    # Ids are never reused.
    assert cohorts.add(CohortDefinition("d", {"did": {}}), 4).id == 3


def test_a_cycle_written_by_hand_is_refused_when_evaluated(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    cohorts = [
        {"cohort_id": 1, "name": "a", "description": "", "group": None},
        {"cohort_id": 2, "name": "b", "description": "", "group": None},
    ]
    cohorts[0] |= {"condition": {"cohort": 2}, "created_ms": 1, "updated_ms": 1}
    cohorts[1] |= {"condition": {"not": {"cohort": 1}}, "created_ms": 1, "updated_ms": 1}
    path = ProjectPaths(tmp_path, project.id).root / "saved.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cohorts": {"next_id": 3, "items": cohorts}}))
    source = CohortMembers(report_context(reader(tmp_path), project, now_ms=NOW))
    with pytest.raises(SpecError, match="depend on itself, got 1 → 2 → 1"):
        source.members(1)


BAD = [
    pytest.param({"did": {"at_least": -1}}, "`at_least` of 0 or more, got -1 - at `$.condition.did.at_least`", id="negative"),
    pytest.param({"did": {"at_least": 3, "at_most": 2}}, "at least `at_least` (3), got 2 - at `$.condition.did.at_most`", id="at_most below at_least"),
    pytest.param({"did": {"within_days": 7, "from_date": "2026-01-01"}}, "either `within_days` or", id="both windows"),
    pytest.param({"did": {"within_days": 0}}, "`within_days` between 1 and", id="zero days"),
    pytest.param({"did": {"from_date": "2026-02-01", "to_date": "2026-01-01"}}, "on or after `from_date`", id="dates reversed"),
    pytest.param({"did": {"evnt": "Buy"}}, "unknown field `evnt` - at `$.condition.did`", id="unknown did field"),
    pytest.param({"did": {"at_least": "1"}}, "Expected `int`, got `str` - at `$.condition.did.at_least`", id="type"),
    pytest.param({"all": [{"did": {}}, {"profile": 'user["x"] =='}]}, "at `$.condition.all[1].profile`", id="bad expression"),
    pytest.param({"profile": 'event["name"] == "x"'}, "not `event", id="event in a profile"),
    pytest.param({"any": []}, "non-empty array of conditions, got an array - at `$.condition.any`", id="empty any"),
    pytest.param({"did": {}, "not": {"did": {}}}, "one of the keys all, any, not, profile, did, cohort, users, got an object with keys", id="two keys"),
    pytest.param({"maybe": 1}, "got `maybe` - at `$.condition`", id="unknown kind"),
    pytest.param({"cohort": "1"}, "saved cohort id (an integer from 1), got a string", id="cohort id text"),
    pytest.param({"not": [1]}, "got an array - at `$.condition.not`", id="not of a list"),
]  # fmt: skip


@pytest.mark.parametrize(("condition", "fragment"), BAD)
def test_bad_definitions_name_the_path(condition: dict[str, Any], fragment: str) -> None:
    with pytest.raises(SpecError) as caught:
        check_definition(CohortDefinition("x", condition))
    assert fragment in caught.value.message, caught.value.message


def test_deep_and_wide_definitions_are_bounded() -> None:
    deep: dict[str, Any] = {"did": {}}
    for _ in range(40):
        deep = {"not": deep}
    with pytest.raises(SpecError, match="nested at most 32 deep"):
        check_definition(CohortDefinition("x", deep))
    wide = {"any": [{"did": {}}] * 1001}
    with pytest.raises(SpecError, match="at most 1000 conditions"):
        check_definition(CohortDefinition("x", wide))


def test_group_cohorts_count_groups(tmp_path: Path) -> None:
    project = new_project(tmp_path)
    day = _at("2026-03-19T12:00:00+00:00")
    events = [
        event("Buy", "u1", day, "a", company="acme"),
        event("Buy", "u1", day + 1, "b", company="acme"),
        event("View", "u2", day, "c", company="acme"),
        event("Buy", "u3", day, "d", company="globex"),
        event("Buy", "u4", day, "e"),  # no company: no group's row
    ]
    store(tmp_path, project, [events], [])
    tiers = {"acme": "gold", "initech": "gold", "globex": "tin"}
    updates = [
        {"$group_key": "company", "$group_id": g, "$time": 1000, "$set": {"tier": t}}
        for g, t in tiers.items()
    ]
    write_profiles(tmp_path, project, "groups", updates)
    cohorts = SavedCohorts(tmp_path, project)

    def members(condition: dict[str, Any]) -> set[str]:
        saved = cohorts.add(CohortDefinition("g", condition, group="company"), 1)
        context = report_context(reader(tmp_path), project, group="company", now_ms=NOW)
        found = context.in_cohort(saved.id, np.array([user_hash(g) for g in tiers]))
        return {g for g, inside in zip(tiers, found.to_pylist(), strict=True) if inside}

    assert members({"did": {"event": "Buy", "at_least": 2}}) == {"acme"}
    assert members({"profile": 'user["tier"] == "gold"'}) == {"acme", "initech"}
    assert members({"not": {"did": {"event": "Buy"}}}) == {"initech"}
    users = report_context(reader(tmp_path), project, now_ms=NOW)
    with pytest.raises(ExpressionError, match="Expected a cohort of users"):
        users.in_cohort(1, np.zeros(1, np.int64))


def test_listed_users_follow_identity_and_stay_in_the_universe(tmp_path: Path) -> None:
    project = msgspec.structs.replace(new_project(tmp_path), id_merge="simplified")
    day = _at("2026-03-19T12:00:00+00:00")
    device = "$device:d1"
    events = [
        event("View", device, day, "a", **{"$device_id": "d1"}),
        event("Sign in", "u1", day + 1, "b", **{"$device_id": "d1", "$user_id": "u1"}),
        event("View", "u2", day, "c"),
        event("View", "u3", day, "d"),
    ]
    store(tmp_path, project, [events], [])
    data = (tmp_path, project)
    # The device names the user it was merged into; an id that names no one is left out.
    assert _evaluate(data, {"users": [device, "u2", "nobody"]}) == {"u1", "u2"}
    assert _evaluate(data, {"not": {"users": ["u1", "u2"]}}) == {"u3"}
    with pytest.raises(
        SpecError, match=r"non-empty string\), got the number 3 - at `\$.condition.users\[0\]`"
    ):
        check_definition(CohortDefinition("x", {"users": [3]}))
