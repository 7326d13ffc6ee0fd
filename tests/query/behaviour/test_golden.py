"""Behavioural reports, golden cases: small event sets whose answers are worked out by hand
from docs/behaviour.md, one table per report and option; each answer is also checked against
the reference (tests/reference/behaviour.py). Then hostile specs, which must fail fast
with an error naming the fault."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.query.answers import answer
from tests.query.store import Event, event, new_project, reader, store
from tests.reference import behaviour as oracle
from tests.reference import periods as period_reference
from trackway.errors import UserError
from trackway.projects import Project
from trackway.query.behaviour.spec import (
    FlowsSpec,
    FrequencySpec,
    FunnelSpec,
    LifecycleSpec,
    RetentionSpec,
)
from trackway.query.errors import SpecError
from trackway.storage.scan import EventReader

NOV2 = date(2026, 11, 2)  # a Monday
_ids = itertools.count()

Runner = Callable[[EventReader, Project, Any], dict[str, Any]]
REPORTS: dict[str, tuple[type[msgspec.Struct], Runner, Callable[..., dict[str, Any]]]] = {
    "funnel": (FunnelSpec, answer, oracle.funnel),
    "retention": (RetentionSpec, answer, period_reference.retention),
    "flows": (FlowsSpec, answer, oracle.flows),
    "frequency": (FrequencySpec, answer, period_reference.frequency),
    "lifecycle": (LifecycleSpec, answer, period_reference.lifecycle),
}


def t(clock: str, day: int = 0) -> int:
    """UTC milliseconds of ``clock`` (``HH:MM``, ``HH:MM:SS`` or ``HH:MM:SS.mmm``) on
    ``day`` days after Monday 2 November 2026."""
    moment = datetime.fromisoformat(f"{NOV2 + timedelta(days=day)}T{clock}+00:00")
    return int(moment.astimezone(UTC).timestamp() * 1000)


def ev(name: str, user: str, clock: str, day: int = 0, **props: Any) -> Event:
    return event(name, user, t(clock, day), f"e{next(_ids)}", **props)


def report(tmp_path: Path, kind: str, events: list[Event], **fields: Any) -> dict[str, Any]:
    """Run a report over ``events`` (half committed, half in the log tail); the reference
    must give the same answer."""
    spec_type, run, expected = REPORTS[kind]
    fields.setdefault("from_date", NOV2)
    fields.setdefault("to_date", NOV2)
    spec = msgspec.convert(fields, spec_type)
    project = new_project(tmp_path)
    store(tmp_path, project, [events[::2]], events[1::2])
    result = run(reader(tmp_path), project, spec)
    normal = oracle.sorted_flows if kind == "flows" else (lambda r: r)
    oracle.same(normal(result), normal(expected(spec, events)))
    return result


def counts(result: dict[str, Any]) -> list[int]:
    return [s["count"] for s in result["steps"]]


# -- funnels -----------------------------------------------------------------------------

VIEW_CART_BUY = [{"event": "View"}, {"event": "Cart"}, {"event": "Buy"}]
VIEW_BUY = [{"event": "View"}, {"event": "Buy"}]
VIEW_CART = [{"event": "View"}, {"event": "Cart"}]
THREE_USERS = [
    ev("View", "u1", "10:00"),
    ev("Open", "u1", "10:01"),
    ev("Cart", "u1", "10:02"),
    ev("Buy", "u1", "10:03"),
    ev("View", "u2", "10:00"),
    ev("Buy", "u2", "10:01"),
    ev("Cart", "u3", "10:00"),  # no step 1: no attempt
    ev("Buy", "u3", "10:01"),
]
# One user coming back: attempts at 10:00 (no Buy within 20 minutes), 10:30 and 12:00.
RETURNING = [
    ev("View", "u1", "10:00"),
    ev("View", "u1", "10:30"),
    ev("Buy", "u1", "10:40"),
    ev("View", "u1", "12:00"),
    ev("Buy", "u1", "12:01"),
]
TWENTY_MINUTES = {"length": 20, "unit": "minute"}

FUNNELS = [
    pytest.param(
        THREE_USERS, {"steps": VIEW_CART_BUY}, [2, 1, 1], id="loose: other events in between"
    ),
    pytest.param(
        THREE_USERS,
        {"steps": VIEW_CART_BUY, "order": "strict"},
        [2, 0, 0],
        id="strict: an event in between ends the attempt",
    ),
    pytest.param(
        [ev("View", "u1", "10:00"), ev("View", "u1", "10:01"), ev("Cart", "u1", "10:02")],
        {"steps": VIEW_CART, "order": "strict"},
        [1, 1],
        id="strict: the next step-1 event starts an attempt that converts",
    ),
    pytest.param(
        [ev("Cart", "u1", "10:00"), ev("View", "u1", "10:00")],
        {"steps": VIEW_CART},
        [1, 1],
        id="ties: the step-1 event comes before an equal-time step-2 event",
    ),
    pytest.param(
        [ev("View", "u1", "10:00"), ev("Open", "u1", "10:01"), ev("Cart", "u1", "10:01")],
        {"steps": VIEW_CART, "order": "strict"},
        [1, 1],
        id="ties: an event matching no step comes after the equal-time step",
    ),
    pytest.param(
        [ev("Cart", "u1", "10:00"), ev("View", "u1", "10:00")],
        {"steps": [{"event": "Cart"}, {"event": "View"}]},
        [1, 1],
        id="ties: in step order whatever the names",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("Cart", "u1", "11:00"),
            ev("View", "u2", "10:00"),
            ev("Cart", "u2", "11:00:00.001"),
        ],
        {"steps": VIEW_CART, "window": {"length": 1, "unit": "hour"}},
        [2, 1],
        id="window: inclusive, to the millisecond",
    ),
    pytest.param(
        [ev("View", "u1", "23:59", day=-1), ev("Cart", "u1", "00:01")],
        {"steps": VIEW_CART},
        [0, 0],
        id="window: a step-1 event before from_date starts nothing",
    ),
    pytest.param(
        [ev("View", "u1", "23:59"), ev("Cart", "u1", "00:01", day=1)],
        {"steps": VIEW_CART},
        [1, 1],
        id="window: later steps may fall after to_date",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("Cart", "u1", "10:00:30"),
            ev("View", "u2", "10:00"),
            ev("Cart", "u2", "10:01"),
        ],
        {
            "steps": [
                {"event": "View"},
                {"event": "Cart", "min_gap": {"length": 1, "unit": "minute"}},
            ]
        },
        [2, 1],
        id="min_gap: inclusive",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("Cart", "u1", "10:01"),
            ev("Cart", "u1", "10:09"),
            ev("Buy", "u1", "10:12"),
        ],
        {
            "steps": [
                {"event": "View"},
                {"event": "Cart", "max_gap": {"length": 10, "unit": "minute"}},
                {"event": "Buy", "max_gap": {"length": 5, "unit": "minute"}},
            ]
        },
        [1, 1, 1],
        id="max_gap: step 3 reached through the second Cart, not the first",
    ),
    pytest.param(
        [ev("View", "u1", "10:00"), ev("Cart", "u1", "10:09"), ev("Buy", "u1", "10:12")],
        {
            "steps": [
                {"event": "View"},
                {"event": "Cart", "max_gap": {"length": 5, "unit": "minute"}},
                {"event": "Buy"},
            ]
        },
        [1, 0, 0],
        id="max_gap: too late for step 2",
    ),
    pytest.param(
        [ev("Buy", "u1", "10:00"), ev("View", "u1", "10:01"), ev("Cart", "u1", "10:02")],
        {"steps": VIEW_CART_BUY, "order": "any"},
        [1, 1, 1],
        id="any order: one group, any step may start",
    ),
    pytest.param(
        [ev("Buy", "u1", "10:00"), ev("View", "u1", "10:01"), ev("Cart", "u1", "10:02")],
        {"steps": VIEW_CART_BUY, "order": "any", "anchors": [1]},
        [1, 1, 0],
        id="any order: an anchor stays first",
    ),
    pytest.param(
        [ev("View", "u1", "10:00"), ev("Buy", "u1", "10:01"), ev("Cart", "u1", "10:02")],
        {"steps": VIEW_CART_BUY, "order": "any", "anchors": [1, 2]},
        [1, 1, 0],
        id="any order: anchors 1 and 2 keep their place, Buy done before Cart is skipped",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("Open", "u1", "10:01"),
            ev("Buy", "u1", "10:02"),
            ev("View", "u2", "10:00"),
            ev("Buy", "u2", "10:02"),
            ev("Open", "u2", "10:03"),
        ],
        {"steps": VIEW_BUY, "exclusions": [{"event": "Open"}]},
        [1, 1],
        id="exclusion: a disqualified user does not count at all",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("Open", "u1", "10:30"),
            ev("View", "u2", "10:00"),
            ev("Open", "u2", "11:30"),
        ],
        {
            "steps": VIEW_BUY,
            "window": {"length": 1, "unit": "hour"},
            "exclusions": [{"event": "Open"}],
        },
        [1, 0],
        id="exclusion: without the last step, looked for until the window closes",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("Open", "u1", "10:01"),
            ev("Cart", "u1", "10:02"),
            ev("Buy", "u1", "10:03"),
            ev("View", "u2", "10:00"),
            ev("Cart", "u2", "10:01"),
            ev("Open", "u2", "10:02"),
            ev("Buy", "u2", "10:03"),
        ],
        {"steps": VIEW_CART_BUY, "exclusions": [{"event": "Open", "after_step": 2}]},
        [1, 1, 1],
        id="exclusion: only between after_step and before_step",
    ),
    pytest.param(
        [ev("View", "u1", "10:00"), ev("Open", "u1", "10:00"), ev("Buy", "u1", "10:01")],
        {"steps": VIEW_BUY, "exclusions": [{"event": "Open"}]},
        [1, 1],
        id="exclusion: strictly after the step time",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00", browser="Chrome"),
            ev("Buy", "u1", "10:01", browser="Firefox"),
            ev("View", "u2", "10:00", browser="Chrome"),
            ev("Buy", "u2", "10:01", browser="Firefox"),
            ev("Buy", "u2", "10:02", browser="Chrome"),
            ev("View", "u3", "10:00"),
            ev("Buy", "u3", "10:01"),
            ev("View", "u4", "10:00"),
            ev("Buy", "u4", "10:01", browser="Chrome"),
        ],
        {"steps": VIEW_BUY, "hold_constant": ["browser"]},
        [4, 2],
        id="hold constant: the step-1 event's value; missing equals only missing",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00", plan=True),
            ev("Buy", "u1", "10:01", plan="true"),
            ev("View", "u2", "10:00", price=2),
            ev("Buy", "u2", "10:01", price=2.0),
        ],
        {"steps": VIEW_BUY, "hold_constant": ["plan", "price"]},
        [2, 1],
        id="hold constant: values compared as == compares them (true is not the text true)",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("Buy", "u1", "10:01", plan="undefined"),
            ev("View", "u2", "10:00", plan=None),
            ev("Buy", "u2", "10:01", plan="null"),
        ],
        {"steps": VIEW_BUY, "hold_constant": ["plan"]},
        [2, 0],
        id="hold constant: missing is equal only to missing, null only to null",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00", browser="Chrome"),
            ev("Buy", "u1", "10:01", browser="Firefox"),
            ev("Buy", "u1", "10:02", browser="Chrome"),
        ],
        {"steps": VIEW_BUY, "hold_constant": ["browser"], "order": "strict"},
        [1, 0],
        id="hold constant: in strict order another value ends the attempt",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("Open", "u1", "10:01", browser="Chrome"),
            ev("Cart", "u1", "10:02"),
        ],
        {"steps": VIEW_CART, "order": "strict", "where": 'properties["browser"] != "Chrome"'},
        [1, 1],
        id="global filter: a removed event is invisible to strict order",
    ),
    pytest.param(
        [ev("View", "u1", "10:00", price=3), ev("Buy", "u1", "10:01", price=1)],
        {"steps": [{"event": "View"}, {"event": "Buy", "where": 'properties["price"] > 2'}]},
        [1, 0],
        id="step filter",
    ),
    pytest.param(
        [ev("Open", "u1", "10:00"), ev("Buy", "u1", "10:01")],
        {"steps": [{}, {"event": ["Cart", "Buy"]}]},
        [1, 1],
        id="steps: any event, one of a list",
    ),
    pytest.param(
        RETURNING,
        {"steps": VIEW_BUY, "window": TWENTY_MINUTES},
        [1, 1],
        id="uniques: the furthest attempt",
    ),
    pytest.param(
        RETURNING,
        {"steps": VIEW_BUY, "window": TWENTY_MINUTES, "counting": "first"},
        [1, 0],
        id="first: the first attempt only",
    ),
    pytest.param(
        RETURNING,
        {"steps": VIEW_BUY, "window": TWENTY_MINUTES, "counting": "totals"},
        [3, 2],
        id="totals: every re-entry after the previous attempt ends",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("View", "u1", "10:01"),
            ev("Buy", "u1", "10:02"),
            ev("View", "u1", "10:03"),
        ],
        {"steps": VIEW_BUY, "counting": "totals"},
        [2, 1],
        id="totals: attempts do not overlap",
    ),
    pytest.param(
        [
            ev("View", "u1", "10:00"),
            ev("View", "u1", "10:01"),
            ev("Cart", "u1", "10:02"),
        ],
        {"steps": VIEW_CART, "counting": "totals", "order": "strict"},
        [2, 1],
        id="totals: a broken strict attempt ends before the event that broke it",
    ),
    pytest.param(
        RETURNING,
        {"steps": VIEW_BUY, "window": TWENTY_MINUTES, "counting": "sessions"},
        [2, 2],
        id="sessions: 30 minutes apart is the same session",
    ),
    pytest.param(
        RETURNING,
        {
            "steps": VIEW_BUY,
            "window": TWENTY_MINUTES,
            "counting": "sessions",
            "session_gap": {"length": 29, "unit": "minute"},
        },
        [3, 2],
        id="sessions: a shorter gap, one more session",
    ),
    pytest.param(
        [ev("View", "u1", "10:00"), ev("Open", "u1", "11:00"), ev("Buy", "u1", "11:20")],
        {"steps": VIEW_BUY, "counting": "sessions"},
        [1, 0],
        id="sessions: attempts do not cross sessions",
    ),
    pytest.param(
        [ev("Cart", "u1", "10:00:00.000"), ev("View", "u1", "10:00:00.500")],
        {"steps": VIEW_CART, "grace": {"length": 1, "unit": "second"}},
        [1, 1],
        id="grace: steps in one burst count in step order",
    ),
    pytest.param(
        [ev("Cart", "u1", "10:00:00.000"), ev("View", "u1", "10:00:00.500")],
        {"steps": VIEW_CART},
        [1, 0],
        id="grace: none, the later event comes later",
    ),
    pytest.param(
        [
            ev("Cart", "u1", "10:00:00.000"),
            ev("Open", "u1", "10:00:00.900"),
            ev("View", "u1", "10:00:01.800"),
        ],
        {"steps": VIEW_CART, "grace": {"length": 1, "unit": "second"}},
        [1, 1],
        id="grace: a burst chains events each within the grace of the previous",
    ),
]


@pytest.mark.parametrize(("events", "fields", "expected"), FUNNELS)
def test_funnel_counts(
    tmp_path: Path, events: list[Event], fields: dict[str, Any], expected: list[int]
) -> None:
    result = report(tmp_path, "funnel", events, **fields)
    assert counts(result) == expected


@pytest.mark.parametrize("order", ["loose", "strict", "any"])
def test_funnel_of_64_steps(tmp_path: Path, order: str) -> None:
    """Every step index a 64-bit step mask has, the last one included; u2 stops at 63."""
    steps = [{"event": f"s{k}"} for k in range(1, 65)]
    events = [ev(f"s{k}", "u1", f"10:{k // 60:02d}:{k % 60:02d}") for k in range(1, 65)]
    events += [ev(f"s{k}", "u2", "12:00") for k in range(1, 64)]
    result = report(tmp_path, "funnel", events, steps=steps, order=order)
    assert counts(result) == [2] * 63 + [1]


def test_funnel_of_64_exclusions(tmp_path: Path) -> None:
    exclusions = [{"event": f"x{k}"} for k in range(64)]
    events = [
        ev("View", "u1", "10:00"),
        ev("x63", "u1", "10:01"),
        ev("Buy", "u1", "10:02"),
        ev("View", "u2", "10:00"),
        ev("x64", "u2", "10:01"),  # no such exclusion
        ev("Buy", "u2", "10:02"),
    ]
    result = report(tmp_path, "funnel", events, steps=VIEW_BUY, exclusions=exclusions)
    assert counts(result) == [1, 1]


def test_funnel_result_and_time_to_convert(tmp_path: Path) -> None:
    events = [
        ev("View", "u1", "10:00"),
        ev("Buy", "u1", "10:01"),
        ev("View", "u2", "10:00"),
        ev("Buy", "u2", "10:02"),
        ev("View", "u3", "10:00"),
        ev("Buy", "u3", "10:05"),
        ev("View", "u4", "10:00"),
    ]
    result = report(
        tmp_path, "funnel", events, steps=[{"event": "View"}, {"event": "Buy", "name": "Paid"}]
    )
    first, second = result["steps"]
    assert result["counting"] == "uniques"
    assert result["order"] == "loose"
    assert result["timezone"] == "UTC"
    assert first == {
        "step": 1,
        "label": "View",
        "count": 4,
        "step_conversion": 1.0,
        "overall_conversion": 1.0,
        "time_to_convert": None,
    }
    assert second["label"] == "Paid"
    assert second["count"] == 3
    assert second["step_conversion"] == pytest.approx(0.75)
    assert second["overall_conversion"] == pytest.approx(0.75)
    timing = second["time_to_convert"]
    assert timing["avg_ms"] == pytest.approx(160_000.0)
    assert timing["median_ms"] == pytest.approx(120_000.0)
    # Linear interpolation: 90% of the way from rank 0 to rank 2 is 0.8 past rank 1.
    assert timing["percentiles"] == {"50": pytest.approx(120_000.0), "90": pytest.approx(264_000.0)}
    assert timing["avg_from_start_ms"] == pytest.approx(160_000.0)
    assert sum(timing["histogram"]["counts"]) == 3
    assert "segments" not in result
    assert "over_time" not in result
    assert "drop_offs" not in result


def test_funnel_time_to_convert_is_between_step_times(tmp_path: Path) -> None:
    """Step 3's time counts from the time of step 2: the first Cart, though the second one
    is what leads on to Buy."""
    events = [
        ev("View", "u1", "10:00"),
        ev("Cart", "u1", "10:01"),
        ev("Cart", "u1", "10:09"),
        ev("Buy", "u1", "10:12"),
    ]
    steps = [
        {"event": "View"},
        {"event": "Cart"},
        {"event": "Buy", "max_gap": {"length": 5, "unit": "minute"}},
    ]
    result = report(tmp_path, "funnel", events, steps=steps, percentiles=[25.0, 99.9])
    timing = result["steps"][2]["time_to_convert"]
    assert timing["avg_ms"] == pytest.approx(660_000.0)
    assert timing["avg_from_start_ms"] == pytest.approx(720_000.0)
    assert timing["percentiles"] == {
        "25": pytest.approx(660_000.0),
        "99.9": pytest.approx(660_000.0),
    }


def test_funnel_any_order_times_are_completions(tmp_path: Path) -> None:
    events = [ev("Buy", "u1", "10:00"), ev("View", "u1", "10:01"), ev("Cart", "u1", "10:03")]
    result = report(tmp_path, "funnel", events, steps=VIEW_CART_BUY, order="any")
    assert [s["time_to_convert"]["avg_ms"] for s in result["steps"][1:]] == [60_000.0, 120_000.0]


@pytest.mark.parametrize(
    ("clocks", "buckets"),
    [
        pytest.param(["10:01", "10:02", "10:03", "10:05", "10:10"], 5, id="minutes"),
        pytest.param(["10:00", "10:00:00.001", "10:00:00.001"], 10, id="a millisecond"),
        pytest.param(["10:00", "10:00:00.001"], 5, id="a millisecond, 5 buckets"),
        pytest.param(["10:00:00.007"], 3, id="one time"),
    ],
)
def test_funnel_histogram_edges(tmp_path: Path, clocks: list[str], buckets: int) -> None:
    """About ``histogram_buckets`` equal buckets with round edges (no float noise such as
    0.30000000000000004) holding every step time; the last holds its upper edge."""
    events = []
    for i, clock in enumerate(clocks):
        events += [ev("View", f"u{i}", "10:00"), ev("Buy", f"u{i}", clock)]
    result = report(tmp_path, "funnel", events, steps=VIEW_BUY, histogram_buckets=buckets)
    histogram = result["steps"][1]["time_to_convert"]["histogram"]
    edges = histogram["edges_ms"]
    times = [t(c) - t("10:00") for c in clocks]
    assert edges[0] <= min(times) and max(times) <= edges[-1]
    assert 1 <= len(histogram["counts"]) <= 2 * buckets + 2
    assert [e for e in edges if float(f"{e:.12g}") != e] == []
    assert sum(histogram["counts"]) == len(clocks)


ATTRIBUTED = [
    ev("View", "u1", "10:00", browser="Chrome"),
    ev("Buy", "u1", "10:01", browser="Firefox"),
    ev("View", "u2", "10:00", browser="Chrome"),
    ev("View", "u3", "10:00", browser="Safari"),
    ev("Buy", "u3", "10:01", browser="Safari"),
]

SEGMENTS = [
    pytest.param(
        {},
        {
            "total": 2,
            "shown": 2,
            "rows": [
                {"segment": ["Chrome"], "counts": [2, 1]},
                {"segment": ["Safari"], "counts": [1, 1]},
            ],
        },
        id="first touch",
    ),
    pytest.param(
        {"attribution": "last_touch"},
        {
            "total": 3,
            "shown": 3,
            "rows": [
                {"segment": ["Chrome"], "counts": [1, 0]},
                {"segment": ["Firefox"], "counts": [1, 1]},
                {"segment": ["Safari"], "counts": [1, 1]},
            ],
        },
        id="last touch: the furthest step's event, ties ranked by label",
    ),
    pytest.param(
        {"attribution": 2},
        {
            "total": 3,
            "shown": 3,
            "rows": [
                {"segment": ["Chrome"], "counts": [1, 0]},
                {"segment": ["Firefox"], "counts": [1, 1]},
                {"segment": ["Safari"], "counts": [1, 1]},
            ],
        },
        id="step 2, or the furthest step reached",
    ),
    pytest.param(
        {"limit": 1},
        {
            "total": 2,
            "shown": 1,
            "rows": [
                {"segment": ["Chrome"], "counts": [2, 1]},
                {"segment": ["$other"], "counts": [1, 1]},
            ],
        },
        id="limit: the rest add up to $other",
    ),
]


@pytest.mark.parametrize(("fields", "expected"), SEGMENTS)
def test_funnel_breakdown(tmp_path: Path, fields: dict[str, Any], expected: dict[str, Any]) -> None:
    result = report(
        tmp_path,
        "funnel",
        ATTRIBUTED,
        steps=VIEW_BUY,
        breakdowns=[{"property": "browser"}],
        **fields,
    )
    assert result["segments"] == expected


def test_funnel_breakdown_by_two_properties_and_a_missing_one(tmp_path: Path) -> None:
    events = [
        ev("View", "u1", "10:00", browser="Chrome", plan=True),
        ev("View", "u2", "10:00", browser="Chrome"),
    ]
    result = report(
        tmp_path,
        "funnel",
        events,
        steps=VIEW_BUY,
        breakdowns=[{"property": "browser"}, {"property": "plan"}],
    )
    assert result["segments"]["rows"] == [
        {"segment": ["Chrome", "true"], "counts": [1, 0]},
        {"segment": ["Chrome", "undefined"], "counts": [1, 0]},
    ]


def test_funnel_over_time_and_drop_offs(tmp_path: Path) -> None:
    events = [
        *ATTRIBUTED,
        ev("View", "u4", "10:00", day=1),
        ev("View", "u5", "23:00", day=1),
        ev("Buy", "u5", "01:00", day=2),  # after to_date: still converts
    ]
    result = report(
        tmp_path,
        "funnel",
        events,
        steps=VIEW_BUY,
        to_date=NOV2 + timedelta(days=1),
        unit="day",
        drop_offs={"step": 1},
    )
    assert result["over_time"] == {
        "unit": "day",
        "buckets": ["2026-11-02", "2026-11-03"],
        "counts": [[3, 2], [2, 1]],
    }
    assert result["drop_offs"] == {"step": 1, "total": 2, "offset": 0, "users": ["u2", "u4"]}


@pytest.mark.parametrize(
    ("drop_offs", "expected"),
    [
        pytest.param({"step": 2}, ["u1", "u3"], id="the last step: converted"),
        pytest.param({"step": 2, "offset": 1}, ["u3"], id="offset"),
        pytest.param({"step": 2, "limit": 1}, ["u1"], id="limit"),
    ],
)
def test_funnel_drop_offs_pages(
    tmp_path: Path, drop_offs: dict[str, int], expected: list[str]
) -> None:
    result = report(tmp_path, "funnel", ATTRIBUTED, steps=VIEW_BUY, drop_offs=drop_offs)
    assert result["drop_offs"]["total"] == 2
    assert result["drop_offs"]["users"] == expected


def test_funnel_week_in_a_time_zone(tmp_path: Path) -> None:
    """Monday 03:30 in UTC is Sunday 22:30 in New York (clocks went back that morning): the
    attempt is in the range and in the week of Oct 26 only in New York's days."""
    events = [ev("View", "u1", "03:30"), ev("Buy", "u1", "03:40")]
    result = report(
        tmp_path,
        "funnel",
        events,
        steps=VIEW_BUY,
        from_date=date(2026, 10, 31),
        to_date=date(2026, 11, 1),
        timezone="America/New_York",
        unit="week",
    )
    assert result["timezone"] == "America/New_York"
    assert result["over_time"]["buckets"] == ["2026-10-26"]
    assert result["over_time"]["counts"] == [[1, 1]]


# -- retention ---------------------------------------------------------------------------

RETENTION_EVENTS = [
    ev("View", "u1", "10:00", price=1),  # born Nov 2
    ev("Open", "u1", "12:00", price=5),  # period 0
    ev("View", "u1", "09:00", day=1, price=2),  # period 1 (and a birth when recurring)
    ev("Open", "u1", "09:30", day=1, price="x"),  # period 1, not a number
    ev("Open", "u1", "10:00", day=3, price=1),  # period 3, exactly 72 hours on
    ev("View", "u2", "23:00", day=1),  # born Nov 3
    ev("Open", "u2", "01:00", day=2, price=10),  # calendar period 1, rolling period 0
    ev("View", "u3", "10:00", day=-1),  # born before the range
    ev("View", "u3", "10:00"),
    ev("View", "u4", "15:00"),  # born Nov 2 ...
    ev("Open", "u4", "15:00"),  # ... and this is not later than the birth
]
TWO_DAYS = {"to_date": NOV2 + timedelta(days=1), "born": {"event": "View"}, "periods": 3}

RETENTION = [
    pytest.param({}, [[1, 1, 0, 1], [0, 1, 0, 0]], [2, 1], id="first time, calendar days"),
    pytest.param(
        {"alignment": "rolling"}, [[1, 0, 0, 1], [1, 0, 0, 0]], [2, 1], id="rolling 24 hours"
    ),
    pytest.param({"mode": "on_or_after"}, [[1, 1, 1, 1], [1, 1, 0, 0]], [2, 1], id="on or after"),
    pytest.param({"min_returns": 2}, [[0, 1, 0, 0], [0, 0, 0, 0]], [2, 1], id="min returns"),
    pytest.param(
        {"retention_type": "recurring"},
        [[1, 1, 0, 1], [1, 1, 1, 0]],
        [3, 2],
        id="recurring: a cohort entry per period with a born event",
    ),
    pytest.param(
        {"returning": {"event": "View"}},
        [[0, 1, 0, 0], [0, 0, 0, 0]],
        [2, 1],
        id="returning event",
    ),
    pytest.param(
        {"where": 'defined(properties["price"])'},
        [[1, 1, 0, 1], [0, 0, 0, 0]],
        [1, 0],
        id="global filter: u2's birth is filtered out",
    ),
]


@pytest.mark.parametrize(("fields", "expected", "sizes"), RETENTION)
def test_retention(
    tmp_path: Path, fields: dict[str, Any], expected: list[list[int]], sizes: list[int]
) -> None:
    result = report(tmp_path, "retention", RETENTION_EVENTS, **{**TWO_DAYS, **fields})
    assert result["unit"] == "day"
    assert result["periods"] == ["0", "1", "2", "3"]
    assert [c["cohort"] for c in result["cohorts"]] == ["2026-11-02", "2026-11-03"]
    assert [c["counts"] for c in result["cohorts"]] == expected
    assert [c["size"] for c in result["cohorts"]] == sizes
    assert result["total"] == {
        "size": sum(sizes),
        "counts": [sum(column) for column in zip(*expected, strict=True)],
    }


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({}, [[1, 1], [1, 0]], id="on"),
        pytest.param({"mode": "on_or_after"}, [[1, 1], [1, 0]], id="on or after"),
        pytest.param({"min_returns": 2}, [[1, 0], [0, 0]], id="min_returns in a bracket"),
    ],
)
def test_retention_brackets(
    tmp_path: Path, fields: dict[str, Any], expected: list[list[int]]
) -> None:
    result = report(
        tmp_path, "retention", RETENTION_EVENTS, **TWO_DAYS, brackets=[[1, 1], [2, 3]], **fields
    )
    assert result["periods"] == ["1", "2-3"]
    assert [c["counts"] for c in result["cohorts"]] == expected


@pytest.mark.parametrize(
    ("measure", "values", "total"),
    [
        pytest.param(
            "sum", [[5.0, 2.0, 0.0, 1.0], [0.0, 10.0, 0.0, 0.0]], [5.0, 12.0, 0.0, 1.0], id="sum"
        ),
        pytest.param(
            "average",
            [[5.0, 2.0, None, 1.0], [None, 10.0, None, None]],
            [5.0, 6.0, None, 1.0],
            id="average: over the events holding a number",
        ),
    ],
)
def test_retention_measures(
    tmp_path: Path, measure: str, values: list[list[float | None]], total: list[float | None]
) -> None:
    result = report(
        tmp_path, "retention", RETENTION_EVENTS, **TWO_DAYS, measure=measure, property="price"
    )
    assert [c["values"] for c in result["cohorts"]] == values
    assert result["total"]["values"] == total


def test_retention_weeks_and_empty_cohorts(tmp_path: Path) -> None:
    events = [ev("View", "u1", "10:00", day=2), ev("View", "u1", "10:00", day=7)]
    result = report(
        tmp_path,
        "retention",
        events,
        from_date=date(2026, 10, 28),
        to_date=date(2026, 11, 10),
        unit="week",
        periods=2,
    )
    assert [c["cohort"] for c in result["cohorts"]] == ["2026-10-26", "2026-11-02", "2026-11-09"]
    assert [c["counts"] for c in result["cohorts"]] == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]


@pytest.mark.parametrize(
    ("alignment", "expected"),
    [
        pytest.param("calendar", [0, 1], id="calendar: the next month"),
        pytest.param("rolling", [1, 0], id="rolling: within 30 days"),
    ],
)
def test_retention_months(tmp_path: Path, alignment: str, expected: list[int]) -> None:
    events = [ev("View", "u1", "23:00", day=-2), ev("Open", "u1", "01:00", day=-1)]
    result = report(
        tmp_path,
        "retention",
        events,
        from_date=date(2026, 10, 1),
        to_date=date(2026, 10, 31),
        unit="month",
        periods=1,
        alignment=alignment,
    )
    assert [c["cohort"] for c in result["cohorts"]] == ["2026-10-01"]
    assert result["cohorts"][0]["counts"] == expected


# -- flows -------------------------------------------------------------------------------

FLOW_EVENTS = [
    ev("View", "u1", "10:00", browser="Chrome"),
    ev("Cart", "u1", "10:01"),
    ev("Buy", "u1", "10:02"),
    ev("View", "u2", "10:00", browser="Chrome"),
    ev("Cart", "u2", "10:01"),
    ev("View", "u3", "10:00", browser="Firefox"),
    ev("Open", "u3", "10:01"),
    ev("Open", "u3", "10:02"),
    ev("Buy", "u3", "10:03"),
    ev("Cart", "u4", "09:00"),
    ev("View", "u4", "10:00"),
]


def graph(result: dict[str, Any]) -> tuple[set[tuple[Any, ...]], set[tuple[Any, ...]]]:
    nodes = {(n["step"], n["event"], n["count"]) for n in result["nodes"]}
    links = {(x["step"], x["source"], x["target"], x["count"]) for x in result["links"]}
    return nodes, links


FLOWS = [
    pytest.param(
        {},
        4,
        {(0, "View", 4), (1, "Cart", 2), (1, "Open", 1), (1, "$end", 1)}
        | {(2, "Buy", 1), (2, "$end", 1), (2, "Open", 1), (3, "$end", 1), (3, "Buy", 1)},
        {(0, "View", "Cart", 2), (0, "View", "Open", 1), (0, "View", "$end", 1)}
        | {(1, "Cart", "Buy", 1), (1, "Cart", "$end", 1), (1, "Open", "Open", 1)}
        | {(2, "Buy", "$end", 1), (2, "Open", "Buy", 1)},
        id="after: paths, $end once after a path's last event",
    ),
    pytest.param(
        {"top": 1},
        4,
        {(0, "View", 4), (1, "Cart", 2), (1, "$other", 1), (1, "$end", 1)}
        | {(2, "Buy", 1), (2, "$end", 1), (2, "$other", 1), (3, "$end", 1), (3, "Buy", 1)},
        {(0, "View", "Cart", 2), (0, "View", "$other", 1), (0, "View", "$end", 1)}
        | {(1, "Cart", "Buy", 1), (1, "Cart", "$end", 1), (1, "$other", "$other", 1)}
        | {(2, "Buy", "$end", 1), (2, "$other", "Buy", 1)},
        id="top: ties by name, the rest in $other",
    ),
    pytest.param(
        {"collapse_repeats": True},
        4,
        {(0, "View", 4), (1, "Cart", 2), (1, "Open", 1), (1, "$end", 1)}
        | {(2, "Buy", 2), (2, "$end", 1), (3, "$end", 2)},
        {(0, "View", "Cart", 2), (0, "View", "Open", 1), (0, "View", "$end", 1)}
        | {(1, "Cart", "Buy", 1), (1, "Cart", "$end", 1), (1, "Open", "Buy", 1)}
        | {(2, "Buy", "$end", 2)},
        id="collapse repeats",
    ),
    pytest.param(
        {"hide": ["Open"]},
        4,
        {(0, "View", 4), (1, "Cart", 2), (1, "Buy", 1), (1, "$end", 1)}
        | {(2, "Buy", 1), (2, "$end", 2), (3, "$end", 1)},
        {(0, "View", "Cart", 2), (0, "View", "Buy", 1), (0, "View", "$end", 1)}
        | {(1, "Cart", "Buy", 1), (1, "Cart", "$end", 1), (1, "Buy", "$end", 1)}
        | {(2, "Buy", "$end", 1)},
        id="hide",
    ),
    pytest.param(
        {"end": {"event": "Buy"}},
        2,
        {(0, "View", 2), (1, "Cart", 1), (1, "Open", 1), (2, "Buy", 1), (2, "Open", 1)}
        | {(3, "$end", 1), (3, "Buy", 1)},
        {(0, "View", "Cart", 1), (0, "View", "Open", 1), (1, "Cart", "Buy", 1)}
        | {(1, "Open", "Open", 1), (2, "Buy", "$end", 1), (2, "Open", "Buy", 1)},
        id="end: only paths reaching it, which stop there",
    ),
    pytest.param(
        {"end": {"event": "Buy"}, "steps": 2},
        1,
        {(0, "View", 1), (1, "Cart", 1), (2, "Buy", 1)},
        {(0, "View", "Cart", 1), (1, "Cart", "Buy", 1)},
        id="end: within the steps",
    ),
    pytest.param(
        {"window": {"length": 1, "unit": "minute"}},
        4,
        {(0, "View", 4), (1, "Cart", 2), (1, "Open", 1), (1, "$end", 1), (2, "$end", 3)},
        {(0, "View", "Cart", 2), (0, "View", "Open", 1), (0, "View", "$end", 1)}
        | {(1, "Cart", "$end", 2), (1, "Open", "$end", 1)},
        id="window",
    ),
    pytest.param(
        {"anchor": {"event": "Cart"}, "direction": "before", "steps": 2},
        3,
        {(0, "Cart", 3), (-1, "View", 2), (-1, "$end", 1), (-2, "$end", 2)},
        {(0, "Cart", "View", 2), (0, "Cart", "$end", 1), (-1, "View", "$end", 2)},
        id="before: nearest first, negative steps",
    ),
    pytest.param(
        {"anchor": {"event": "Open"}, "counting": "totals", "steps": 2},
        2,
        {(0, "Open", 2), (1, "Open", 1), (1, "Buy", 1), (2, "Buy", 1), (2, "$end", 1)},
        {(0, "Open", "Open", 1), (0, "Open", "Buy", 1), (1, "Open", "Buy", 1)}
        | {(1, "Buy", "$end", 1)},
        id="totals: every anchor event",
    ),
    pytest.param(
        {"anchor": {"event": "Open"}, "steps": 2},
        1,
        {(0, "Open", 1), (1, "Open", 1), (2, "Buy", 1)},
        {(0, "Open", "Open", 1), (1, "Open", "Buy", 1)},
        id="uniques: the first anchor event",
    ),
    pytest.param(
        {"where": 'properties["browser"] == "Chrome"', "steps": 1},
        2,
        {(0, "View", 2), (1, "$end", 2)},
        {(0, "View", "$end", 2)},
        id="global filter",
    ),
]


@pytest.mark.parametrize(("fields", "total", "nodes", "links"), FLOWS)
def test_flows(
    tmp_path: Path,
    fields: dict[str, Any],
    total: int,
    nodes: set[tuple[Any, ...]],
    links: set[tuple[Any, ...]],
) -> None:
    spec = {"anchor": {"event": "View"}, "steps": 3, **fields}
    result = report(tmp_path, "flows", FLOW_EVENTS, **spec)
    assert result["total"] == total
    assert graph(result) == (nodes, links)


def test_flows_breakdown(tmp_path: Path) -> None:
    result = report(
        tmp_path,
        "flows",
        FLOW_EVENTS,
        anchor={"event": "View"},
        steps=1,
        breakdown={"property": "browser"},
        limit=1,
    )
    segments = [(s["segment"], s["total"]) for s in result["segments"]]
    assert segments == [(["Chrome"], 2), (["$other"], 2)]
    assert graph(result["segments"][1])[0] == {(0, "View", 2), (1, "Open", 1), (1, "$end", 1)}


# -- frequency and lifecycle -------------------------------------------------------------


def test_frequency_days_of_a_week(tmp_path: Path) -> None:
    events = [
        ev("View", "u1", "10:00"),
        ev("View", "u1", "11:00"),
        ev("View", "u1", "10:00", day=2),
        ev("View", "u2", "10:00", day=1),
        *[ev("View", "u3", "12:00", day=d) for d in range(7)],
        ev("Buy", "u4", "12:00"),
    ]
    result = report(tmp_path, "frequency", events, event="View", to_date=NOV2 + timedelta(days=6))
    assert result["buckets"] == ["2026-11-02"]
    assert result["distribution"] == [[1, 1, 0, 0, 0, 0, 1]]
    assert result["at_least"] == [[3, 2, 1, 1, 1, 1, 1]]


def test_frequency_hours_of_a_25_hour_day(tmp_path: Path) -> None:
    """Paris's clocks go back on 25 October 2026: the day has 25 hours, 01:00 and 01:30
    UTC are two of them, one hour apart on the same wall clock hour 02:00-03:00."""
    day = date(2026, 10, 25)
    events = [
        event("View", "u1", int(datetime(2026, 10, 25, 0, 30, tzinfo=UTC).timestamp() * 1000), "a"),
        event("View", "u1", int(datetime(2026, 10, 25, 1, 30, tzinfo=UTC).timestamp() * 1000), "b"),
    ]
    result = report(
        tmp_path,
        "frequency",
        events,
        from_date=day,
        to_date=day,
        unit="day",
        addiction_unit="hour",
        timezone="Europe/Paris",
    )
    assert len(result["distribution"][0]) == 25
    assert result["at_least"][0][:3] == [1, 1, 0]


def test_lifecycle(tmp_path: Path) -> None:
    events = [
        ev("View", "u1", "10:00", day=1),  # the week before the range
        ev("View", "u1", "10:00", day=8),
        ev("View", "u1", "10:00", day=15),
        ev("View", "u2", "10:00", day=8),
        ev("View", "u3", "10:00", day=-13),
        ev("View", "u3", "10:00", day=15),
        ev("View", "u4", "10:00", day=1),
        ev("View", "u5", "10:00", day=16),
        ev("Buy", "u6", "10:00", day=8),
    ]
    result = report(
        tmp_path,
        "lifecycle",
        events,
        event="View",
        from_date=date(2026, 11, 9),
        to_date=date(2026, 11, 22),
    )
    assert result["buckets"] == ["2026-11-09", "2026-11-16"]
    assert result["new"] == [1, 1]
    assert result["returning"] == [1, 1]
    assert result["resurrecting"] == [0, 1]
    assert result["dormant"] == [1, 1]


# -- hostile specs -----------------------------------------------------------------------

TWO_STEPS = [{"event": "View"}, {"event": "Buy"}]
GAP = {"length": 1, "unit": "hour"}

INVALID = [
    pytest.param("funnel", {"steps": [{"event": "View"}]}, "2 to 64 steps", id="one step"),
    pytest.param("funnel", {"steps": [{"event": "View"}] * 65}, "2 to 64 steps", id="65 steps"),
    pytest.param(
        "funnel",
        {"steps": [{"event": "View"}, {"event": "Buy", "max_gap": GAP}], "order": "any"},
        "any order",
        id="gaps in any order",
    ),
    pytest.param(
        "funnel",
        {"steps": [{"event": "View", "min_gap": GAP}, {"event": "Buy"}]},
        "step 1",
        id="a gap before step 1",
    ),
    pytest.param(
        "funnel",
        {
            "steps": [
                {"event": "View"},
                {"event": "Buy", "min_gap": GAP, "max_gap": {"length": 1, "unit": "minute"}},
            ]
        },
        "min_gap",
        id="min_gap over max_gap",
    ),
    pytest.param(
        "funnel",
        {"steps": TWO_STEPS, "order": "any", "anchors": [3]},
        "anchors",
        id="anchor 3 of 2",
    ),
    pytest.param(
        "funnel", {"steps": TWO_STEPS, "order": "any", "anchors": [0]}, "anchors", id="anchor 0"
    ),
    pytest.param(
        "funnel", {"steps": TWO_STEPS, "anchors": [1]}, "anchors", id="anchors in loose order"
    ),
    pytest.param(
        "funnel",
        {"steps": TWO_STEPS, "exclusions": [{"event": "X", "after_step": 2}]},
        "after_step",
        id="exclusion after the last step",
    ),
    pytest.param(
        "funnel",
        {"steps": TWO_STEPS, "exclusions": [{"event": "X", "after_step": 1, "before_step": 1}]},
        "after_step",
        id="exclusion after_step == before_step",
    ),
    pytest.param(
        "funnel",
        {"steps": TWO_STEPS, "exclusions": [{"event": "X", "before_step": 3}]},
        "before_step",
        id="exclusion before a step that is not there",
    ),
    pytest.param(
        "funnel", {"steps": TWO_STEPS, "attribution": 3}, "attribution", id="attribution step 3"
    ),
    pytest.param(
        "funnel", {"steps": TWO_STEPS, "drop_offs": {"step": 0}}, "drop_offs", id="drop-off step 0"
    ),
    pytest.param(
        "funnel", {"steps": TWO_STEPS, "window": {"length": 0}}, "window", id="empty window"
    ),
    pytest.param(
        "funnel", {"steps": TWO_STEPS, "percentiles": [101.0]}, "percentiles", id="percentile 101"
    ),
    pytest.param(
        "funnel", {"steps": TWO_STEPS, "histogram_buckets": 0}, "histogram_buckets", id="0 buckets"
    ),
    pytest.param("funnel", {"steps": TWO_STEPS, "limit": 0}, "limit", id="limit 0"),
    pytest.param(
        "funnel", {"steps": TWO_STEPS, "timezone": "Mars/Olympus"}, "time zone", id="bad zone"
    ),
    pytest.param(
        "funnel",
        {"steps": TWO_STEPS, "to_date": NOV2 - timedelta(days=1)},
        "to_date",
        id="dates reversed",
    ),
    pytest.param("flows", {"anchor": {"event": "View"}, "steps": 0}, "steps", id="flows 0 steps"),
    pytest.param("flows", {"anchor": {"event": "View"}, "steps": 11}, "steps", id="flows 11 steps"),
    pytest.param(
        "flows",
        {"anchor": {"event": "View"}, "direction": "before", "end": {"event": "Buy"}},
        "end",
        id="flows end before the anchor",
    ),
    pytest.param("flows", {"anchor": {"event": "View"}, "top": 0}, "top", id="flows top 0"),
    pytest.param(
        "frequency", {"unit": "day", "addiction_unit": "day"}, "finer", id="addiction unit = unit"
    ),
    pytest.param("retention", {"brackets": [[1, 3], [2, 4]]}, "overlap", id="overlapping brackets"),
    pytest.param("retention", {"brackets": []}, "bracket", id="no brackets"),
    pytest.param("retention", {"periods": -1}, "periods", id="negative periods"),
    pytest.param("retention", {"measure": "sum"}, "property", id="sum of nothing"),
    pytest.param("retention", {"min_returns": 0}, "min_returns", id="min_returns 0"),
    pytest.param(
        "lifecycle", {"to_date": NOV2 - timedelta(days=1)}, "to_date", id="lifecycle dates reversed"
    ),
]


@pytest.mark.parametrize(("kind", "fields", "message"), INVALID)
def test_invalid_spec(tmp_path: Path, kind: str, fields: dict[str, Any], message: str) -> None:
    spec_type, run, _ = REPORTS[kind]
    spec = msgspec.convert({"from_date": NOV2, "to_date": NOV2, **fields}, spec_type)
    project = new_project(tmp_path)
    with pytest.raises(SpecError, match=message):
        run(reader(tmp_path), project, spec)


BAD_EXPRESSION = 'properties["browser"] =='
BAD_EXPRESSIONS = [
    pytest.param("funnel", {"steps": TWO_STEPS, "where": BAD_EXPRESSION}, id="funnel where"),
    pytest.param(
        "funnel",
        {"steps": [{"event": "View", "where": BAD_EXPRESSION}, {"event": "Buy"}]},
        id="step where",
    ),
    pytest.param(
        "funnel",
        {"steps": TWO_STEPS, "exclusions": [{"event": "X", "where": BAD_EXPRESSION}]},
        id="exclusion where",
    ),
    pytest.param(
        "funnel",
        {"steps": TWO_STEPS, "breakdowns": [{"expression": BAD_EXPRESSION}]},
        id="breakdown expression",
    ),
    pytest.param("retention", {"born": {"where": BAD_EXPRESSION}}, id="born where"),
    pytest.param("flows", {"anchor": {"where": BAD_EXPRESSION}}, id="anchor where"),
    pytest.param("frequency", {"where": BAD_EXPRESSION}, id="frequency where"),
    pytest.param("lifecycle", {"where": BAD_EXPRESSION}, id="lifecycle where"),
]


@pytest.mark.parametrize(("kind", "fields"), BAD_EXPRESSIONS)
def test_bad_expression(tmp_path: Path, kind: str, fields: dict[str, Any]) -> None:
    spec_type, run, _ = REPORTS[kind]
    spec = msgspec.convert({"from_date": NOV2, "to_date": NOV2, **fields}, spec_type)
    project = new_project(tmp_path)
    store(tmp_path, project, [[ev("View", "u1", "10:00")]], [])
    with pytest.raises(UserError, match="xpect"):
        run(reader(tmp_path), project, spec)


def test_unknown_property_held_constant_is_a_missing_value(tmp_path: Path) -> None:
    events = [ev("View", "u1", "10:00"), ev("Buy", "u1", "10:01")]
    result = report(tmp_path, "funnel", events, steps=TWO_STEPS, hold_constant=["nowhere"])
    assert counts(result) == [1, 1]
