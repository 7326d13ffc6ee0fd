"""Reports under identity resolution against the references run over resolved events: the
engine answers over events as they were sent (each on the shard of its own distinct_id),
the references over the same events with every distinct_id replaced by its canonical id
(tests/reference/identity.py). Both ID merge modes.

Random streams: people with several devices or anonymous ids, signed-in events before,
between and after the anonymous ones, devices that never sign in, a device shared by two
people (the first user wins), alias chains, `$identify` with UUID and other anonymous ids,
`$merge` sent to /import and to /track, retried events, arrival ties; every event in a
committed part or the log tail at random, so a merge may be uncommitted while the events it
covers are committed, and the reverse."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.control import current_build_context

from tests.query.answers import answer
from tests.query.behaviour.test_oracle import (
    DAY_RANGES,
    FILTERS,
    NAMES,
    PERIODS,
    WIDE_RANGES,
    ZONES,
    Draw,
    Events,
    flows_specs,
    funnel_specs,
    retention_cases,
    streams,
)
from tests.query.insights.test_oracle import assert_matches
from tests.query.store import event, new_project, reader, store
from tests.reference import behaviour as oracle
from tests.reference import identity as identity_reference
from tests.reference import insights as reference
from tests.reference import periods as period_reference
from trackway.projects import Project
from trackway.query.behaviour.spec import FrequencySpec, LifecycleSpec
from trackway.query.insights.spec import Breakdown, InsightsSpec, Metric
from trackway.storage.scan import EventReader

MODES = ["simplified", "original"]
REPORT_PROPS = ("browser", "price", "plan")
# Person k: user id USERS[k] (7 is sent as a number), devices DEVICES[k] (simplified), or
# anonymous ids UUIDS[k] / NOT_UUIDS[k] and aliases a{k}, a{k}x (original).
USERS: list[str | int] = ["u0", "u1", 7, "u3"]
DEVICES: list[list[str | int]] = [["d0", "d0b"], ["d1", 11], ["d2"], ["d3", "d3b"]]
SHARED_DEVICE = "dx"  # a computer everybody uses: its first signed-in user wins
UUIDS = [
    "0f8fad5b-d9cb-469f-a165-70867728950e",
    "$device:7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "$device:9B2F6E5C-2D4B-4C1A-8E7F-1A2B3C4D5E6F",
    "16fd2706-8baf-433b-82eb-8c7fada847da",
]
NOT_UUIDS = [  # anonymous ids `$identify` must not merge
    "anon-0",
    "$device:abc",
    "0f8fad5b-d9cb-469f-a165-70867728950",
    "$device:$device:16fd2706-8baf-433b-82eb-8c7fada847da",
]
ARRIVALS = 12  # arrival times 1000 .. 1000 + ARRIVALS: many ties
ORACLE = settings(
    max_examples=int(os.environ.get("ORACLE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _ids_of(k: int) -> list[str | int]:
    return [USERS[k], UUIDS[k], NOT_UUIDS[k], f"a{k}", f"a{k}x"]


# -- streams -----------------------------------------------------------------------------


def _simplified_actor(draw: Draw, k: int) -> tuple[str, dict[str, Any]]:
    """(distinct_id, identity properties) of one of person k's events, as ingest stores it."""
    device = draw(st.sampled_from([*DEVICES[k], SHARED_DEVICE]))
    kind = draw(st.sampled_from(["anon", "anon", "signed", "signed", "user", "plain", "odd"]))
    user = USERS[k]
    if kind == "anon":
        return f"$device:{device}", {"$device_id": device}
    if kind == "signed":
        return str(user), {"$device_id": device, "$user_id": user}
    if kind == "user":
        return str(user), {"$user_id": user}
    if kind == "plain":  # a server-side event named by its distinct_id alone
        return draw(st.sampled_from([str(user), f"$device:{DEVICES[k][0]}", "legacy"])), {}
    # An empty $user_id names no one; a distinct_id sent along with a lone $device_id wins.
    if draw(st.booleans()):
        return f"$device:{device}", {"$device_id": device, "$user_id": ""}
    return "legacy", {"$device_id": device}


def _original_actor(draw: Draw, k: int) -> tuple[str, dict[str, Any]]:
    props: dict[str, Any] = {}
    if draw(st.integers(0, 5)) == 0:  # simplified-mode properties mean nothing here
        props = {"$device_id": DEVICES[k][0], "$user_id": USERS[k]}
    return str(draw(st.sampled_from(_ids_of(k)))), props


def _identity_event(draw: Draw, k: int) -> tuple[str, str, dict[str, Any]]:
    """(name, distinct_id, properties) of an `$identify`, `$create_alias` or `$merge`
    about person k, sometimes naming another person's ids."""
    other = draw(st.sampled_from([0, 0, 1, 2, 3]))
    name = draw(st.sampled_from(identity_reference.IDENTITY_EVENTS))
    if name == "$identify":
        identified = draw(st.sampled_from([USERS[k], USERS[k], f"a{k}", USERS[other]]))
        anon = draw(st.sampled_from([UUIDS[k], UUIDS[k], UUIDS[other], NOT_UUIDS[k], USERS[other]]))
        props: dict[str, Any] = {"$identified_id": identified, "$anon_id": anon}
        if draw(st.integers(0, 9)) == 0:
            del props[draw(st.sampled_from(sorted(props)))]
        return name, str(identified), props
    if name == "$create_alias":
        existing = draw(st.sampled_from([USERS[k], UUIDS[k], f"a{k}", f"a{k}x"]))
        alias = draw(st.sampled_from([f"a{k}", f"a{k}x", f"a{other}", UUIDS[k], USERS[other]]))
        return name, str(existing), {"alias": alias}
    pool = [*_ids_of(k), *_ids_of(other)]
    pair = [draw(st.sampled_from(pool)), draw(st.sampled_from(pool))]
    if draw(st.integers(0, 9)) == 0:
        pair = pair[:1]
    props = {"$distinct_ids": pair}
    imported = draw(st.sampled_from([True, True, True, None, False]))  # None: sent to /track
    if imported is not None:
        props["$import"] = imported
    return name, str(pair[0]), props


@st.composite
def identity_streams(
    draw: st.DrawFn,
    mode: str,
    first: date,
    last: date,
    tz: str | None,
    before: int = 1,
    after: int = 3,
) -> Events:
    """The behaviour oracle's streams (names, times, properties) with person k's events
    (its user u{k}) sent by one of k's ids, identity events among them, and retries."""
    base = draw(streams(first, last, tz, before, after))
    events: Events = []
    for e in base:
        props = dict(e["properties"])
        if any(props["$insert_id"] == x["properties"]["$insert_id"] for x in events):
            continue  # the stream's own retries: made again below
        k = int(props["distinct_id"][1:])
        actor = _simplified_actor if mode == "simplified" else _original_actor
        distinct_id, identity = actor(draw, k)
        props.update(identity, distinct_id=distinct_id)
        props["mp_processing_time_ms"] = 1_000 + draw(st.integers(0, ARRIVALS))
        events.append({"event": e["event"], "properties": props})
    times = [e["properties"]["time"] for e in events]
    for i in range(draw(st.sampled_from([0, 3, 6, 10] if mode == "original" else [0, 2]))):
        # Mostly about person 0, so that identity events meet and conflict.
        name, distinct_id, props = _identity_event(draw, draw(st.sampled_from([0, 0, 1, 2, 3])))
        time = draw(st.sampled_from(times)) + draw(st.sampled_from([0, 0, -1, 1, 60_000]))
        props |= {
            "time": time,
            "distinct_id": distinct_id,
            "$insert_id": f"m{i}",
            "mp_processing_time_ms": 1_000 + draw(st.integers(0, ARRIVALS)),
        }
        events.insert(draw(st.integers(0, len(events))), {"event": name, "properties": props})
    # Retries: the same event again, arriving a little earlier or later.
    for i in draw(st.lists(st.integers(0, len(events) - 1), max_size=3)):
        props = dict(events[i]["properties"])
        props["mp_processing_time_ms"] += draw(st.sampled_from([-2, -1, 1, 3]))
        events.append({"event": events[i]["event"], "properties": props})
    if mode == "original":
        _no_identity_ties(events)
    _same_props_at_same_moment(events, mode)
    return events


def _no_identity_ties(events: Events) -> None:
    """Identity events of equal arrival and time apply in storage order, which the reference
    does not know: make their (arrival, time) unique (also between the copies of one)."""
    seen: set[tuple[int, int]] = set()
    for e in events:
        props = e["properties"]
        if e["event"] not in identity_reference.IDENTITY_EVENTS:
            continue
        while (props["mp_processing_time_ms"], props["time"]) in seen:
            props["mp_processing_time_ms"] += 1
        seen.add((props["mp_processing_time_ms"], props["time"]))


def _same_props_at_same_moment(events: Events, mode: str) -> None:
    """A resolved user's events of one name and time carry the same report properties:
    their order is storage's (see the behaviour oracle's streams)."""
    canonical = identity_reference.canonical_ids(events, mode)
    first: dict[tuple[str, int, str], dict[str, Any]] = {}
    for e in events:
        props = e["properties"]
        user = canonical.get(props["distinct_id"], props["distinct_id"])
        kept = first.setdefault((user, props["time"], e["event"]), props)
        for prop in REPORT_PROPS:
            props.pop(prop, None)
            if prop in kept:
                props[prop] = kept[prop]


def _places(draw: Draw, events: Events) -> list[int]:
    return [draw(st.integers(0, 2)) for _ in events]


# -- checking ----------------------------------------------------------------------------


@contextmanager
def stored(events: Events, places: list[int], mode: str) -> Iterator[tuple[EventReader, Project]]:
    """The events in committed parts (places 0-1) and the log tail (2) of a project with
    ID merge ``mode``."""
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        project = msgspec.structs.replace(new_project(data_dir), id_merge=mode)
        batches = [[e for e, p in zip(events, places, strict=True) if p == b] for b in range(2)]
        tail = [e for e, p in zip(events, places, strict=True) if p == 2]
        store(data_dir, project, batches, tail)
        yield reader(data_dir), project


Compare = Callable[[Any, dict[str, Any], Events], None]  # (spec, engine's answer, resolved)


def check_all(
    mode: str,
    events: Events,
    places: list[int],
    specs: list[Any],
    engine: Callable[[EventReader, Project, Any], dict[str, Any]],
    compare: Compare,
) -> None:
    """The engine's identity map and its answer to every spec (twice: the second from its
    caches) against the references over the resolved events."""
    resolved = identity_reference.resolved(events, mode)
    with stored(events, places, mode) as (events_reader, project):
        try:
            expected_map = identity_reference.canonical_ids(events, mode)
            assert events_reader.identity(project).canonical_of == expected_map
            for spec in specs:
                actual = engine(events_reader, project, spec)
                compare(spec, actual, resolved)
                assert engine(events_reader, project, spec) == actual, "answer from the caches"
        except AssertionError as error:
            if current_build_context().is_final:
                lines = "\n".join(_brief(e, p) for e, p in zip(events, places, strict=True))
                error.add_note(f"mode {mode}, places 0-1 parts, 2 tail:\n{lines}")
            raise


def _brief(e: dict[str, Any], place: int) -> str:
    props = dict(e["properties"])
    time = datetime.fromtimestamp(props.pop("time") / 1000, UTC).isoformat(timespec="milliseconds")
    user, arrival = props.pop("distinct_id"), props.pop("mp_processing_time_ms")
    return f"  [{place}] {user} {time} +{arrival} {e['event']} {props}"


def against(
    expected: Callable[[Any, Events], dict[str, Any]],
    normal: Callable[[dict[str, Any]], dict[str, Any]] = lambda r: r,
) -> Compare:
    def compare(spec: Any, actual: dict[str, Any], resolved: Events) -> None:
        oracle.same(normal(actual), normal(expected(spec, resolved)))

    return compare


def _mode(draw: Draw) -> str:
    return draw(st.sampled_from(MODES))


# -- the map -----------------------------------------------------------------------------


@ORACLE
@given(data=st.data())
def test_identity_map_matches_reference(data: st.DataObject) -> None:
    draw = data.draw
    mode = _mode(draw)
    first, last = draw(st.sampled_from(DAY_RANGES))
    events = draw(identity_streams(mode, first, last, None))
    check_all(mode, events, _places(draw, events), [], answer, against(lambda s, e: {}))


# -- Insights ----------------------------------------------------------------------------


@st.composite
def insights_specs(draw: st.DrawFn, first: date, last: date, tz: str | None) -> InsightsSpec:
    events = st.sampled_from(["View", ["View", "Buy"], None, "$identify"])
    measures = [
        "total",
        "unique",
        *draw(st.lists(st.sampled_from(["per_user_avg", "dau"]), max_size=1)),
    ]
    return InsightsSpec(
        from_date=first,
        to_date=last,
        metrics=[Metric(event=draw(events), measure=m) for m in measures],  # type: ignore[arg-type]
        unit="day",
        where=draw(st.sampled_from(FILTERS)) if draw(st.integers(0, 2)) == 0 else None,
        breakdowns=draw(
            st.sampled_from([[], [Breakdown(property="browser")], [Breakdown(property="plan")]])
        ),
        limit=draw(st.integers(1, 3)),
        timezone=tz,
    )


def _insights(spec: InsightsSpec, actual: dict[str, Any], resolved: Events) -> None:
    # The engine may order tied segments its own way: any correct page is accepted, and
    # the reference then measures the segments the engine shows (tests/query/insights/test_oracle.py).
    metric = actual["series"][0]["metric"] if actual["series"] else None
    shown = [
        tuple(s["segment"])
        for s in actual["series"]
        if s["metric"] == metric and s["segment"] != [reference.OTHER]
    ]
    if spec.breakdowns:
        ranked = reference.ranking(spec, resolved)
        assert reference.valid_page(ranked, shown, spec.segment_offset, spec.limit), shown
    assert_matches(actual, reference.run(resolved, spec, shown or None))


@ORACLE
@given(data=st.data())
def test_insights_match_reference(data: st.DataObject) -> None:
    draw = data.draw
    mode, tz = _mode(draw), draw(st.sampled_from(ZONES))
    first, last = draw(st.sampled_from(DAY_RANGES))
    events = draw(identity_streams(mode, first, last, tz))
    specs = [draw(insights_specs(first, last, tz)) for _ in range(2)]
    check_all(mode, events, _places(draw, events), specs, answer, _insights)


# -- behavioural reports -----------------------------------------------------------------


@ORACLE
@given(data=st.data())
def test_funnels_match_reference(data: st.DataObject) -> None:
    draw = data.draw
    mode, tz = _mode(draw), draw(st.sampled_from(ZONES))
    first, last = draw(st.sampled_from(DAY_RANGES))
    events = draw(identity_streams(mode, first, last, tz))
    specs = [draw(funnel_specs(first, last, tz)) for _ in range(3)]
    check_all(mode, events, _places(draw, events), specs, answer, against(oracle.funnel))


@ORACLE
@given(data=st.data())
def test_retention_matches_reference(data: st.DataObject) -> None:
    draw = data.draw
    mode = _mode(draw)
    _, specs = draw(retention_cases())  # its specs; the events are drawn here
    spec = specs[0]
    reach = {"day": 6, "week": 30, "month": 100}[spec.unit]
    events = draw(
        identity_streams(
            mode, spec.from_date, spec.to_date, spec.timezone, before=reach // 3, after=reach
        )
    )
    compare = against(period_reference.retention)
    check_all(mode, events, _places(draw, events), specs, answer, compare)


@ORACLE
@given(data=st.data())
def test_flows_match_reference(data: st.DataObject) -> None:
    draw = data.draw
    mode, tz = _mode(draw), draw(st.sampled_from(ZONES))
    first, last = draw(st.sampled_from(DAY_RANGES))
    events = draw(identity_streams(mode, first, last, tz))
    specs = [draw(flows_specs(first, last, tz)) for _ in range(3)]
    compare = against(oracle.flows, oracle.sorted_flows)
    check_all(mode, events, _places(draw, events), specs, answer, compare)


@ORACLE
@given(data=st.data())
def test_frequency_and_lifecycle_match_reference(data: st.DataObject) -> None:
    draw = data.draw
    mode, tz = _mode(draw), draw(st.sampled_from(ZONES))
    unit = draw(st.sampled_from(PERIODS))
    first, last = draw(st.sampled_from(DAY_RANGES if unit == "day" else WIDE_RANGES))
    reach = {"day": 3, "week": 15, "month": 40}[unit]
    events = draw(identity_streams(mode, first, last, tz, before=reach, after=reach))
    name = draw(st.sampled_from([*NAMES, None, "$identify"]))
    where = draw(st.sampled_from(FILTERS))
    frequency = FrequencySpec(
        from_date=first,
        to_date=last,
        event=name,
        where=where,
        unit=unit,
        addiction_unit="hour" if unit == "day" else draw(st.sampled_from(["hour", "day"])),
        timezone=tz,
    )
    lifecycle = LifecycleSpec(
        from_date=first, to_date=last, event=name, where=where, unit=unit, timezone=tz
    )
    places = _places(draw, events)
    check_all(mode, events, places, [frequency], answer, against(period_reference.frequency))
    check_all(mode, events, places, [lifecycle], answer, against(period_reference.lifecycle))


# -- the cluster limit -------------------------------------------------------------------


def _full_cluster() -> Events:
    """u0 and 499 ids merged into it (500, the limit), then a merge of y that would pass it."""
    merges = [(f"m{i}", ["u0", f"x{i}"]) for i in range(499)] + [("my", ["u0", "y"])]
    return [
        event("$merge", ids[0], 0, insert_id, 1_000 + i, **{"$distinct_ids": ids, "$import": True})
        for i, (insert_id, ids) in enumerate(merges)
    ]


def _engine_map(events: Events) -> dict[str, str]:
    with stored(events, [0] * len(events), "original") as (events_reader, project):
        return events_reader.identity(project).canonical_of


def test_a_join_past_the_cluster_limit_is_ignored() -> None:
    expected = {f"x{i}": "u0" for i in range(499)}
    assert identity_reference.canonical_ids(_full_cluster(), "original") == expected
    assert _engine_map(_full_cluster()) == expected


def test_an_id_refused_by_the_limit_can_still_be_an_alias() -> None:
    """The refused id is in no cluster: "already belongs to a cluster" does not hold."""
    events = [*_full_cluster(), event("$create_alias", "u1", 0, "alias", 3_000, alias="y")]
    expected = identity_reference.canonical_ids(events, "original")
    assert expected["y"] == "u1"
    assert _engine_map(events) == expected
