"""The behavioural reports, slowly and obviously: docs/behaviour.md read as plain Python over
event dicts.

One user at a time, no numpy, nothing from ``trackway.query`` but the spec structs: sort each
user's events by the documented tie rule, apply grace bursts, then per report the documented
semantics as directly as possible. Funnel attempts are enumerated one by one; loose order
keeps, per step, the set of events reachable as that step. Filters, labels and time buckets
come from the Insights reference (``tests/reference/insights.py``).

Rules docs/behaviour.md states that are easy to miss, kept here on purpose: an event's time
under ``grace`` is its burst's time for everything (the date range and sessions included),
bursts followed back one day before ``from_date``; hold constant compares as ``==`` does;
frequency periods are cut to the range, lifecycle periods are whole; ``on_or_after`` looks
past ``periods`` and ``to_date`` (with brackets: this bracket or a later one); recurring
births are ``born`` events inside the range; ``collapse_repeats`` merges the anchor's
repeats too.

Readings taken where the docs leave a choice:

* Ties among equal times, equal lowest step and equal name keep original time order (the
  order storage keeps); hold constant does not change the tie order.
* Gaps are inclusive at both ends; so is the window (``time - start <= window``).
* ``sessions``: an attempt's events, exclusions included, stay inside its session.
* ``totals``: a disqualified attempt still takes its span; the next starts after it.
* Step 1's ``step_conversion`` is 1.0, or null when no attempt counts; a step no counted
  attempt reached has no ``time_to_convert`` (null).
* Retention sums over no events are 0.0, averages over no numbers null.
* Flows: step 0 is one node labelled as the anchor step is, shown also when no path is
  counted; ``$end`` is always shown, never folded into ``$other``; with a breakdown, each
  segment ranks its own nodes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.reference import insights as reference
from tests.reference.insights import MISSING, OTHER, Row, local
from trackway.query.behaviour.spec import (
    FlowsSpec,
    FunnelSpec,
    Step,
)

END = "$end"
ONE_DAY_MS = 86_400_000


# -- events ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One of a user's events in report order: ``time`` is the (burst) time reports use."""

    row: Row
    time: int
    position: int

    @property
    def name(self) -> str:
        return self.row.name


def passes(where: str | None, row: Row) -> bool:
    """Does ``row`` pass a filter from the table of expressions the reference knows?"""
    return where is None or reference.FILTERS[where](row)


def matches(step: Step, row: Row) -> bool:
    names = step.events()
    return (names is None or row.name in names) and passes(step.where, row)


def rows_by_user(events: list[dict[str, Any]], where: str | None) -> dict[str, list[Row]]:
    """Deduplicated rows per user, after the global filter."""
    users: dict[str, list[Row]] = defaultdict(list)
    for row in reference.dedupe(events):
        if passes(where, row):
            users[row.user].append(row)
    return dict(users)


def ordered(rows: list[Row], rank: Callable[[Row], int], grace_ms: int | None) -> list[Event]:
    """A user's rows in report order: (burst) time, then ``rank``, then name, then original
    time."""
    by_time = sorted(rows, key=lambda r: r.time_ms)
    times: dict[int, int] = {}
    previous: Row | None = None
    burst = 0
    for row in by_time:
        if previous is None or grace_ms is None or row.time_ms - previous.time_ms > grace_ms:
            burst = row.time_ms
        times[id(row)] = burst
        previous = row
    keyed = sorted(by_time, key=lambda r: (times[id(r)], rank(r), r.name, r.time_ms))
    return [Event(r, times[id(r)], i) for i, r in enumerate(keyed)]


def midnight(day: date, tz: ZoneInfo) -> int:
    return int(datetime.combine(day, datetime.min.time(), tz).timestamp() * 1000)


def in_days(ms: int, first: date, last: date, tz: ZoneInfo) -> bool:
    return first <= local(ms, tz).date() <= last


def same_value(a: Any, b: Any) -> bool:
    """Expression ``==``: same type and value, integers and floats compared as numbers."""
    if reference.is_number(a) and reference.is_number(b):
        return bool(a == b)
    return type(a) is type(b) and a == b


def quantile(values: list[float], q: float) -> float | None:
    return reference.quantile(values, q)


def percentile_key(p: float) -> str:
    return reference.number_label(p)


# -- funnels -----------------------------------------------------------------------------


@dataclass
class Attempt:
    """One attempt: the events that completed steps 1, 2, ... (``chain``), and how it ended
    (the position of the event that broke a strict attempt)."""

    user: str
    session: int
    start: Event
    chain: list[Event]
    broke_at: int | None = None
    disqualified: bool = False

    @property
    def reached(self) -> int:
        return len(self.chain)


@dataclass(frozen=True)
class Histogram:
    """What the engine's histogram must describe: these step times, in about ``buckets``
    equal-width buckets."""

    times: list[int]
    buckets: int


@dataclass
class _User:
    name: str
    events: list[Event]
    sessions: list[int]  # each event's session number
    attempts: list[Attempt] = field(default_factory=list)


def groups_of(spec: FunnelSpec) -> list[list[int]]:
    """Step indexes (0-based) by group: ordered funnels one step per group; any order, each
    anchor alone and the steps between anchors together."""
    n = len(spec.steps)
    if spec.order != "any":
        return [[k] for k in range(n)]
    anchors = {a - 1 for a in spec.anchors}
    groups: list[list[int]] = []
    run: list[int] = []
    for k in range(n):
        if k in anchors:
            if run:
                groups.append(run)
                run = []
            groups.append([k])
        else:
            run.append(k)
    if run:
        groups.append(run)
    return groups


def _gap_ok(step: Step, gap: int) -> bool:
    if step.min_gap is not None and gap < step.min_gap.ms():
        return False
    return not (step.max_gap is not None and gap > step.max_gap.ms())


def _held(spec: FunnelSpec, row: Row) -> tuple[Any, ...]:
    return tuple(row.props.get(p, MISSING) for p in spec.hold_constant)


def _same_held(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return all(same_value(x, y) for x, y in zip(a, b, strict=True))


def _attempt(spec: FunnelSpec, user: _User, start: Event) -> Attempt:
    """The attempt starting at ``start``: which steps it completes, with which events."""
    window = spec.window.ms()
    events = user.events
    session = user.sessions[start.position]
    held = _held(spec, start.row)

    def in_scope(e: Event) -> bool:
        return (
            e.position > start.position
            and e.time - start.time <= window
            and (spec.counting != "sessions" or user.sessions[e.position] == session)
        )

    def step_match(k: int, e: Event) -> bool:
        return matches(spec.steps[k], e.row) and _same_held(held, _held(spec, e.row))

    after = [e for e in events if e.position > start.position]
    scope = [e for e in after if in_scope(e)]
    attempt = Attempt(user.name, session, start, [start])
    n = len(spec.steps)
    if spec.order == "loose":
        reachable = {start.position}
        for k in range(1, n):
            step = spec.steps[k]
            now = {
                e.position
                for e in scope
                if step_match(k, e)
                and any(
                    p < e.position and _gap_ok(step, e.time - events[p].time) for p in reachable
                )
            }
            if not now:
                break
            attempt.chain.append(events[min(now)])
            reachable = now
    elif spec.order == "strict":
        for e in after:
            if attempt.reached == n:
                break
            k = attempt.reached
            gap = e.time - attempt.chain[-1].time
            if in_scope(e) and step_match(k, e) and _gap_ok(spec.steps[k], gap):
                attempt.chain.append(e)
            else:
                attempt.broke_at = e.position
                break
    else:
        groups = groups_of(spec)
        done: set[int] = {min(k for k in groups[0] if matches(spec.steps[k], start.row))}
        current = 0 if len(done) < len(groups[0]) else 1
        for e in scope:
            if current == len(groups):
                break
            open_steps = [k for k in groups[current] if k not in done and step_match(k, e)]
            if open_steps:
                done.add(min(open_steps))
                attempt.chain.append(e)
                if all(k in done for k in groups[current]):
                    current += 1
    attempt.disqualified = _disqualified(spec, user, attempt)
    return attempt


def _disqualified(spec: FunnelSpec, user: _User, attempt: Attempt) -> bool:
    limit = attempt.start.time + spec.window.ms()
    for exclusion in spec.exclusions:
        after = exclusion.after_step - 1
        before = (exclusion.before_step or len(spec.steps)) - 1
        if attempt.reached <= after:
            continue
        low = attempt.chain[after].time
        for e in user.events:
            if spec.counting == "sessions" and user.sessions[e.position] != attempt.session:
                continue
            if not matches(exclusion.step(), e.row) or e.time <= low:
                continue
            if attempt.reached > before:
                if e.time < attempt.chain[before].time:
                    return True
            elif e.time <= limit:
                return True
    return False


def _starts(spec: FunnelSpec, events: list[Event], tz: ZoneInfo) -> list[Event]:
    first_group = groups_of(spec)[0]
    return [
        e
        for e in events
        if any(matches(spec.steps[k], e.row) for k in first_group)
        and in_days(e.time, spec.from_date, spec.to_date, tz)
    ]


def _best(attempts: list[Attempt]) -> Attempt | None:
    """The attempt reaching the furthest step among those not disqualified; the earliest."""
    kept = [a for a in attempts if not a.disqualified]
    if not kept:
        return None
    return min(kept, key=lambda a: (-a.reached, a.start.position))


def counted_attempts(spec: FunnelSpec, events: list[dict[str, Any]], tz: ZoneInfo) -> list[Attempt]:
    """Every counted attempt (one per user, session or re-entry) of every user."""

    def rank(row: Row) -> int:
        hits = [k for k, step in enumerate(spec.steps) if matches(step, row)]
        return min(hits) if hits else len(spec.steps)

    grace = spec.grace.ms() if spec.grace is not None else None
    # Bursts are followed back one day before from_date; nothing earlier matters.
    since = midnight(spec.from_date, tz) - ONE_DAY_MS
    counted: list[Attempt] = []
    for name, rows in sorted(rows_by_user(events, spec.where).items()):
        ordered_events = ordered([r for r in rows if r.time_ms >= since], rank, grace)
        sessions: list[int] = []
        for e in ordered_events:
            if not sessions:
                sessions.append(0)
            else:
                gap = e.time - ordered_events[e.position - 1].time
                sessions.append(sessions[-1] + (gap > spec.session_gap.ms()))
        user = _User(name, ordered_events, sessions)
        starts = _starts(spec, ordered_events, tz)
        if spec.counting == "uniques":
            best = _best([_attempt(spec, user, s) for s in starts])
            counted += [best] if best else []
        elif spec.counting == "first":
            first = _attempt(spec, user, starts[0]) if starts else None
            counted += [first] if first and not first.disqualified else []
        elif spec.counting == "sessions":
            for session in sorted({sessions[s.position] for s in starts}):
                in_session = [s for s in starts if sessions[s.position] == session]
                best = _best([_attempt(spec, user, s) for s in in_session])
                counted += [best] if best else []
        else:
            counted += _totals(spec, user, starts)
    return counted


def _totals(spec: FunnelSpec, user: _User, starts: list[Event]) -> list[Attempt]:
    """Attempts that do not overlap: each starts at the first step-1 event after the
    previous one's end."""
    out = []
    next_position = 0
    after_time: int | None = None
    for start in starts:
        if start.position < next_position or (after_time is not None and start.time <= after_time):
            continue
        attempt = _attempt(spec, user, start)
        if not attempt.disqualified:
            out.append(attempt)
        after_time = None
        if attempt.reached == len(spec.steps):
            next_position = attempt.chain[-1].position + 1
        elif attempt.broke_at is not None:
            next_position = attempt.broke_at
        else:
            next_position = start.position + 1
            after_time = start.time + spec.window.ms()
    return out


def _segment(spec: FunnelSpec, attempt: Attempt) -> tuple[str, ...]:
    attribution = spec.attribution
    if attribution == "first_touch":
        touch = attempt.chain[0]
    elif attribution == "last_touch":
        touch = attempt.chain[-1]
    else:
        assert isinstance(attribution, int)
        touch = attempt.chain[min(attribution, attempt.reached) - 1]
    segment = reference.segment_of(touch.row, spec.breakdowns)
    assert segment is not None, "the reference breaks funnels down by property values only"
    return segment


def _step_counts(attempts: list[Attempt], n: int) -> list[int]:
    return [sum(a.reached >= k for a in attempts) for k in range(1, n + 1)]


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _time_to_convert(spec: FunnelSpec, attempts: list[Attempt], k: int) -> dict[str, Any] | None:
    """Step ``k`` (1-based, >= 2) of the attempts that reached it."""
    reached = [a for a in attempts if a.reached >= k]
    if not reached:
        return None
    times = [a.chain[k - 1].time - a.chain[k - 2].time for a in reached]
    from_start = [a.chain[k - 1].time - a.chain[0].time for a in reached]
    values = [float(t) for t in times]
    return {
        "avg_ms": math.fsum(values) / len(values),
        "median_ms": quantile(values, 0.5),
        "percentiles": {percentile_key(p): quantile(values, p / 100) for p in spec.percentiles},
        "avg_from_start_ms": math.fsum(from_start) / len(from_start),
        "histogram": Histogram(times, spec.histogram_buckets),
    }


def funnel(
    spec: FunnelSpec, events: list[dict[str, Any]], project_tz: str = "UTC"
) -> dict[str, Any]:
    """The funnel result of ``spec`` over ``events`` (histograms as ``Histogram``)."""
    tz = ZoneInfo(spec.timezone or project_tz)
    attempts = counted_attempts(spec, events, tz)
    n = len(spec.steps)
    counts = _step_counts(attempts, n)
    steps = []
    for k in range(1, n + 1):
        steps.append(
            {
                "step": k,
                "label": spec.steps[k - 1].label(),
                "count": counts[k - 1],
                "step_conversion": _ratio(counts[k - 1], counts[k - 2]) if k > 1 else 1.0,
                "overall_conversion": _ratio(counts[k - 1], counts[0]),
                "time_to_convert": _time_to_convert(spec, attempts, k) if k > 1 else None,
            }
        )
    if counts[0] == 0:
        steps[0]["step_conversion"] = None
    result: dict[str, Any] = {
        "counting": spec.counting,
        "order": spec.order,
        "timezone": str(tz),
        "steps": steps,
    }
    if spec.breakdowns:
        result["segments"] = _funnel_segments(spec, attempts)
    if spec.unit is not None:
        keys, labels = reference.grid(spec.from_date, spec.to_date, spec.unit, tz)
        by_key: dict[Any, list[Attempt]] = defaultdict(list)
        for a in attempts:
            by_key[reference.bucket_key(local(a.start.time, tz), spec.unit)].append(a)
        result["over_time"] = {
            "unit": spec.unit,
            "buckets": labels,
            "counts": [_step_counts(by_key[key], n) for key in keys],
        }
    if spec.drop_offs is not None:
        k = spec.drop_offs.step
        users = sorted({a.user for a in attempts if a.reached == k})
        offset = spec.drop_offs.offset
        result["drop_offs"] = {
            "step": k,
            "total": len(users),
            "offset": offset,
            "users": users[offset : offset + spec.drop_offs.limit],
        }
    return result


def _funnel_segments(spec: FunnelSpec, attempts: list[Attempt]) -> dict[str, Any]:
    n = len(spec.steps)
    by_segment: dict[tuple[str, ...], list[Attempt]] = defaultdict(list)
    for a in attempts:
        by_segment[_segment(spec, a)].append(a)
    ranked = sorted(by_segment, key=lambda s: (-len(by_segment[s]), s))
    shown = ranked[: spec.limit]
    rows = [{"segment": list(s), "counts": _step_counts(by_segment[s], n)} for s in shown]
    rest = [a for s in ranked[spec.limit :] for a in by_segment[s]]
    if len(ranked) > len(shown):
        rows.append({"segment": [OTHER], "counts": _step_counts(rest, n)})
    return {"total": len(ranked), "shown": len(shown), "rows": rows}


# -- flows -------------------------------------------------------------------------------


def _path(spec: FlowsSpec, events: list[Event], anchor: Event) -> list[str] | None:
    window = spec.window.ms()
    if spec.direction == "after":
        near = [
            e for e in events if e.position > anchor.position and e.time - anchor.time <= window
        ]
    else:
        near = [
            e for e in events if e.position < anchor.position and anchor.time - e.time <= window
        ]
        near.reverse()
    near = [e for e in near if e.name not in spec.hide]
    if spec.collapse_repeats:
        names = [anchor.name] + [e.name for e in near]
        near = [e for i, e in enumerate(near) if names[i] != e.name]
    if spec.end is not None:
        ends = [i for i, e in enumerate(near) if matches(spec.end, e.row)]
        if not ends or ends[0] >= spec.steps:
            return None
        near = near[: ends[0] + 1]
    return [e.name for e in near[: spec.steps]]


def _flow_graph(spec: FlowsSpec, paths: list[list[str]]) -> dict[str, Any]:
    """Nodes and links of some paths; step 0 is the anchor, one node."""
    sign = 1 if spec.direction == "after" else -1
    shown_at: list[list[str]] = []  # per path, the name it shows at each step
    for path in paths:
        names = [spec.anchor.label(), *path]
        if len(path) < spec.steps:
            names.append(END)
        shown_at.append(names)
    display: list[list[str]] = [[spec.anchor.label()] for _ in paths]
    nodes = [{"step": 0, "event": spec.anchor.label(), "count": len(paths)}]
    for step in range(1, spec.steps + 1):
        at = [(i, names[step]) for i, names in enumerate(shown_at) if step < len(names)]
        counts: dict[str, int] = defaultdict(int)
        for _, name in at:
            counts[name] += 1
        ranked = sorted((n for n in counts if n != END), key=lambda n: (-counts[n], n))
        top = set(ranked[: spec.top])
        shown: dict[str, int] = defaultdict(int)
        for i, name in at:
            label = name if name in top or name == END else OTHER
            display[i].append(label)
            shown[label] += 1
        nodes += [{"step": sign * step, "event": n, "count": c} for n, c in shown.items()]
    links: dict[tuple[int, str, str], int] = defaultdict(int)
    for names in display:
        for step in range(len(names) - 1):
            links[(sign * step, names[step], names[step + 1])] += 1
    return {
        "total": len(paths),
        "nodes": nodes,
        "links": [
            {"step": s, "source": a, "target": b, "count": c} for (s, a, b), c in links.items()
        ],
    }


def flows(spec: FlowsSpec, events: list[dict[str, Any]], project_tz: str = "UTC") -> dict[str, Any]:
    """Nodes and links in no particular order (compare them sorted)."""
    tz = ZoneInfo(spec.timezone or project_tz)
    paths: list[tuple[Row, list[str]]] = []
    for _, rows in sorted(rows_by_user(events, spec.where).items()):
        user = ordered(rows, lambda r: 0, None)
        anchors = [
            e
            for e in user
            if matches(spec.anchor, e.row) and in_days(e.time, spec.from_date, spec.to_date, tz)
        ]
        if spec.counting == "uniques":
            anchors = anchors[:1]
        for start in anchors:
            path = _path(spec, user, start)
            if path is not None:
                paths.append((start.row, path))
    result = {"direction": spec.direction, **_flow_graph(spec, [p for _, p in paths])}
    if spec.breakdown is not None:
        by_segment: dict[tuple[str, ...], list[list[str]]] = defaultdict(list)
        for anchor, path in paths:
            segment = reference.segment_of(anchor, [spec.breakdown])
            assert segment is not None
            by_segment[segment].append(path)
        ranked = sorted(by_segment, key=lambda s: (-len(by_segment[s]), s))
        segments = [
            {"segment": list(s), **_flow_graph(spec, by_segment[s])} for s in ranked[: spec.limit]
        ]
        rest = [p for s in ranked[spec.limit :] for p in by_segment[s]]
        if rest:
            segments.append({"segment": [OTHER], **_flow_graph(spec, rest)})
        result["segments"] = segments
    return result


# -- comparing answers with the engine's -------------------------------------------------------------------


def same(actual: Any, expected: Any, where: str = "$") -> None:
    """Equal, floats within rounding; a reference ``Histogram`` checks the engine's
    histogram instead of naming its edges."""
    if isinstance(expected, Histogram):
        check_histogram(actual, expected, where)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), where
        assert sorted(actual) == sorted(expected), (where, sorted(actual), sorted(expected))
        for key in expected:
            same(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        assert len(actual) == len(expected), (where, actual, expected)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and isinstance(actual, (int, float)):
        assert math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6), (where, actual, expected)
    else:
        assert actual == expected, (where, actual, expected)
        assert type(actual) is type(expected), (where, actual, expected)


def check_histogram(actual: Any, expected: Histogram, where: str) -> None:
    """Equal-width buckets ``[edge, next edge)``, the last closed, with round edges, that
    hold every step time once; about ``buckets`` of them."""
    edges, counts = actual["edges_ms"], actual["counts"]
    assert len(edges) == len(counts) + 1 >= 2, where
    widths = [edges[i + 1] - edges[i] for i in range(len(counts))]
    assert all(math.isclose(w, widths[0], rel_tol=1e-9, abs_tol=1e-6) and w > 0 for w in widths), (
        where,
        edges,
    )
    # Round: no float noise such as 0.6000000000000001.
    assert all(float(f"{e:.12g}") == e for e in edges), ("round edges", where, edges)
    assert len(counts) <= 2 * expected.buckets + 2, (where, edges)
    wanted = [0] * len(counts)
    for t in expected.times:
        assert edges[0] <= t <= edges[-1], (where, t, edges)
        inside = [i for i in range(len(counts)) if edges[i] <= t < edges[i + 1]]
        wanted[inside[0] if inside else len(counts) - 1] += 1
    assert counts == wanted, (where, edges, counts, sorted(expected.times))


def sorted_flows(result: dict[str, Any]) -> dict[str, Any]:
    """Flows with nodes and links in one order (the docs give them none)."""
    out = dict(result)
    out["nodes"] = sorted(result["nodes"], key=lambda n: (n["step"], n["event"]))
    out["links"] = sorted(result["links"], key=lambda n: (n["step"], n["source"], n["target"]))
    if "segments" in result:
        out["segments"] = [sorted_flows(s) for s in result["segments"]]
    return out
