"""Group analytics against the references: a report with ``group`` must equal the same
report without it over events whose user *is* their group (the group property's value as
text; events without one left out). Each user belongs to one random group, several users
share one, and the rows spread over committed parts and the log tail."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from tests.query.answers import answer
from tests.query.behaviour.test_oracle import (
    DAY_RANGES,
    ORACLE,
    ZONES,
    Events,
    _places,
    check_all,
    flows_specs,
    funnel_specs,
    retention_cases,
    streams,
)
from tests.reference import behaviour as oracle
from tests.reference import periods as period_reference

GROUP = "company"
GROUPS = ["acme", "beta", 7, None]  # an integer value is the group "7"


def grouped(draw: Any, events: Events) -> Events:
    """Each user's events carry its group; events of one group with one time and one name
    get the same properties (their order is storage's, which no report may depend on)."""
    group_of = {f"u{i}": draw(st.sampled_from(GROUPS)) for i in range(4)}
    shared: dict[tuple[Any, int, str], dict[str, Any]] = {}
    out = []
    for e in events:
        props = dict(e["properties"])
        group = group_of[props["distinct_id"]]
        fixed = {k: props.pop(k) for k in ("time", "distinct_id", "$insert_id")}
        fixed["mp_processing_time_ms"] = props.pop("mp_processing_time_ms")
        if group is not None:
            props[GROUP] = group
        props = shared.setdefault((group, fixed["time"], e["event"]), props)
        out.append({"event": e["event"], "properties": {**props, **fixed}})
    return out


def as_users(events: Events) -> Events:
    """The reference's view: every event's user is its group."""
    out = []
    for e in events:
        group = e["properties"].get(GROUP)
        if group is not None:
            out.append({**e, "properties": {**e["properties"], "distinct_id": str(group)}})
    return out


def by_group(spec: Any) -> Any:
    return msgspec.structs.replace(spec, group=GROUP)


def reference_of(report: Any) -> Any:
    return lambda spec, events: report(msgspec.structs.replace(spec, group=None), as_users(events))


@ORACLE
@given(data=st.data())
def test_group_funnels_match_reference(data: st.DataObject) -> None:
    draw = data.draw
    tz = draw(st.sampled_from(ZONES))
    first, last = draw(st.sampled_from(DAY_RANGES))
    events = grouped(draw, draw(streams(first, last, tz)))
    specs = [by_group(draw(funnel_specs(first, last, tz))) for _ in range(3)]
    check_all(events, _places(draw, events), specs, answer, reference_of(oracle.funnel))


@ORACLE
@given(data=st.data())
def test_group_retention_matches_reference(data: st.DataObject) -> None:
    events, specs = data.draw(retention_cases())
    events = grouped(data.draw, events)
    check_all(
        events,
        _places(data.draw, events),
        [by_group(s) for s in specs],
        answer,
        reference_of(period_reference.retention),
    )


@ORACLE
@given(data=st.data())
def test_group_flows_match_reference(data: st.DataObject) -> None:
    draw = data.draw
    tz = draw(st.sampled_from(ZONES))
    first, last = draw(st.sampled_from(DAY_RANGES))
    events = grouped(draw, draw(streams(first, last, tz)))
    specs = [by_group(draw(flows_specs(first, last, tz))) for _ in range(3)]
    check_all(
        events,
        _places(draw, events),
        specs,
        answer,
        reference_of(oracle.flows),
        oracle.sorted_flows,
    )
