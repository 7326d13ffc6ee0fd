"""Funnels: plan (compile, scan once), per shard on threads the row masks and the kernel's
records, then one merge: counts per step, segments, periods, times to convert, drop-offs;
or, per start period, each period's funnel (``funnel_merge``).
The semantics are those of docs/behaviour.md."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa

from trackway.query.behaviour import funnel_kernel as fk
from trackway.query.behaviour.funnel_merge import (
    at_least,
    period_funnels,
    ranked_segments,
    start_periods,
)
from trackway.query.behaviour.result import (
    DropOffUsers,
    FunnelResult,
    FunnelSegments,
    FunnelStep,
    Histogram,
    OverTime,
    TimeToConvert,
)
from trackway.query.behaviour.spec import MAX_STEPS, UNIT_MS, FunnelSpec, Length, Step
from trackway.query.behaviour.steps import (
    burst_times,
    name_rank_table,
    step_match,
    used_rows,
)
from trackway.query.breakdowns import (
    LocalSegments,
    auto_edges,
    property_expression,
)
from trackway.query.context import ReportContext
from trackway.query.errors import SpecError
from trackway.query.expr import Compiled, Tag, segment_keys
from trackway.query.frame import (
    compile_at,
    compile_breakdowns,
    event_codes,
    maybe_compile,
    parallel,
    resolve_auto_buckets,
    scan_views,
    shard_segments,
    unify_segments,
)
from trackway.query.shard_view import ShardView
from trackway.query.timebuckets import buckets, day_range, zone
from trackway.types import I64, U64

MODES = {"loose": fk.LOOSE, "strict": fk.STRICT, "any": fk.ANY}
COUNTING = {"uniques": fk.UNIQUES, "first": fk.FIRST, "totals": fk.TOTALS, "sessions": fk.SESSIONS}
MAX_WINDOW = Length(366, "day")
MAX_GRACE = Length(1, "hour")
GRACE_LOOK_BACK_MS = UNIT_MS["day"]


@dataclass(frozen=True, slots=True)
class _Compiled:
    where: Compiled | None
    steps: list[Compiled | None]
    exclusions: list[Compiled | None]
    hold: list[Compiled]
    breakdowns: list[Compiled]


@dataclass(frozen=True, slots=True)
class _ShardResult:
    view: ShardView
    times: I64  # grace-adjusted time per row
    records: I64  # per counted attempt: start row, steps reached, attribution row, period
    # Per reached step after the first (grouped by step): step, since previous, since start;
    # per period instead their sums, by period and step.
    step_times: I64
    segments: LocalSegments | None


def run_funnel(context: ReportContext, spec: FunnelSpec) -> FunnelResult:
    compiled = plan(spec)
    tz = zone(spec.timezone or context.project.timezone)
    start, end = day_range(spec.from_date, spec.to_date, tz)
    periods = None
    if spec.per_period is not None:
        periods = start_periods(spec.per_period, spec.from_date, spec.to_date, tz)
    grace = spec.grace.ms() if spec.grace else 0
    look_back = GRACE_LOOK_BACK_MS if grace else 0
    views = scan_views(
        context,
        [
            compiled.where,
            *compiled.steps,
            *compiled.exclusions,
            *compiled.hold,
            *compiled.breakdowns,
        ],
        (start - look_back, end + spec.window.ms() + grace + 1),
        ["distinct_id"] if spec.drop_offs else [],
        [b.property for b in spec.breakdowns if b.property],
    )
    breakdowns = resolve_auto_buckets(spec.breakdowns, compiled.breakdowns, views)
    edges = np.array([start, end], np.int64) if periods is None else periods.edges
    results: list[_ShardResult] = parallel(
        lambda v: _shard(v, spec, compiled, breakdowns, edges, grace), views
    )
    n = len(spec.steps)
    records = np.concatenate([r.records for r in results] or [np.zeros((0, 4), np.int64)])
    codes = _segment_codes(context, results) if spec.breakdowns else None
    if periods is not None:
        sums = sum((r.step_times for r in results), np.zeros((len(periods), n, 2), np.int64))
        return FunnelResult(
            counting=spec.counting,
            order=spec.order,
            timezone=str(tz),
            steps=[],
            periods=period_funnels(periods, n, records, sums, codes, spec.limit),
        )
    over_time = None
    if spec.unit is not None:
        grid = buckets(spec.from_date, spec.to_date, spec.unit, tz)
        by_bucket = np.zeros((len(grid), n), np.int64)
        for r in results:
            index = grid.index(r.times[r.records[:, 0]])
            for b in np.unique(index[index >= 0]):
                by_bucket[b] += at_least(r.records[index == b, 1], n)
        over_time = OverTime(spec.unit, list(grid.labels), by_bucket.tolist())
    return FunnelResult(
        counting=spec.counting,
        order=spec.order,
        timezone=str(tz),
        steps=_steps(spec, at_least(records[:, 1], n), results),
        segments=None if codes is None else _segments(spec, *codes, records[:, 1]),
        over_time=over_time,
        drop_offs=None if spec.drop_offs is None else _drop_offs(spec, results),
    )


def plan(spec: FunnelSpec) -> _Compiled:
    """The spec checked and its expressions compiled: all a run needs before it scans."""
    check(spec)
    return _Compiled(
        maybe_compile(spec.where, "$.where"),
        [maybe_compile(s.where, f"$.steps[{i}].where") for i, s in enumerate(spec.steps)],
        [maybe_compile(x.where, f"$.exclusions[{i}].where") for i, x in enumerate(spec.exclusions)],
        [
            compile_at(property_expression(name), f"$.hold_constant[{i}]")
            for i, name in enumerate(spec.hold_constant)
        ],
        compile_breakdowns(spec.breakdowns, "$.breakdowns"),
    )


def check(spec: FunnelSpec) -> None:
    n = len(spec.steps)
    if not 2 <= n <= MAX_STEPS:
        raise SpecError(f"Expected 2 to {MAX_STEPS} steps, got {n}", "$.steps")
    if spec.from_date > spec.to_date:
        raise SpecError(f"Expected `from_date` <= `to_date`, got {spec.from_date}", "$.to_date")
    if spec.from_date < date(1, 1, 3) or spec.to_date > date(9999, 11, 1):
        raise SpecError("Expected dates between 0001-01-03 and 9999-11-01", "$.from_date")
    _length("window", spec.window, 1, MAX_WINDOW)
    _length("session_gap", spec.session_gap, 1, MAX_WINDOW)
    if spec.grace is not None:
        _length("grace", spec.grace, 0, MAX_GRACE)
    for i, step in enumerate(spec.steps):
        _check_gaps(spec, i, step)
    if spec.anchors and spec.order != "any":
        raise SpecError('Expected `anchors` only with `order` "any"', "$.anchors")
    for i, anchor in enumerate(spec.anchors):
        if not 1 <= anchor <= n:
            raise SpecError(
                f"Expected `anchors` between 1 and {n}, got {anchor}", f"$.anchors[{i}]"
            )
    if len(spec.exclusions) > 64:
        raise SpecError(
            f"Expected at most 64 exclusions, got {len(spec.exclusions)}", "$.exclusions"
        )
    for i, exclusion in enumerate(spec.exclusions):
        before = n if exclusion.before_step is None else exclusion.before_step
        if not 1 <= exclusion.after_step < before <= n:
            raise SpecError(
                f"Expected 1 <= `after_step` < `before_step` <= {n} at exclusions[{i}], "
                f"got {exclusion.after_step} and {before}",
                f"$.exclusions[{i}]",
            )
    if isinstance(spec.attribution, int) and not 1 <= spec.attribution <= n:
        raise SpecError(f"Expected `attribution` step between 1 and {n}", "$.attribution")
    if not 1 <= spec.limit <= 10_000:
        raise SpecError(f"Expected `limit` between 1 and 10000, got {spec.limit}", "$.limit")
    if any(not 0 <= p <= 100 for p in spec.percentiles):
        raise SpecError("Expected `percentiles` between 0 and 100", "$.percentiles")
    if not 1 <= spec.histogram_buckets <= 200:
        raise SpecError("Expected `histogram_buckets` between 1 and 200", "$.histogram_buckets")
    periods = spec.per_period
    if periods is not None and not 1 <= periods.every <= 36_500:
        raise SpecError(
            f"Expected `every` between 1 and 36500, got {periods.every}", "$.per_period.every"
        )
    if periods is not None and (spec.unit is not None or spec.drop_offs is not None):
        raise SpecError(
            "Expected no `unit` or `drop_offs` with `per_period`: each period is a funnel of "
            "its own, answered in `periods`",
            "$.per_period",
        )
    drop = spec.drop_offs
    if drop is not None and not (1 <= drop.step <= n and drop.offset >= 0 and drop.limit >= 1):
        raise SpecError(
            f"Expected `drop_offs` with a step between 1 and {n}, offset >= 0 and limit >= 1",
            "$.drop_offs",
        )


def _check_gaps(spec: FunnelSpec, i: int, step: Step) -> None:
    gaps = [g for g in (step.min_gap, step.max_gap) if g is not None]
    if gaps and (spec.order == "any" or i == 0):
        where = "in any order" if spec.order == "any" else "on step 1"
        raise SpecError(f"Expected no `min_gap`/`max_gap` {where}, at steps[{i}]", f"$.steps[{i}]")
    for name, gap in (("min_gap", step.min_gap), ("max_gap", step.max_gap)):
        if gap is not None:
            _length(f"steps[{i}].{name}", gap, 0, MAX_WINDOW)
    if step.min_gap and step.max_gap and step.min_gap.ms() > step.max_gap.ms():
        raise SpecError(f"Expected `min_gap` <= `max_gap` at steps[{i}]", f"$.steps[{i}]")


def _length(name: str, length: Length, smallest_ms: int, largest: Length) -> None:
    if not smallest_ms <= length.ms() <= largest.ms():
        raise SpecError(
            f"Expected `{name}` between {smallest_ms} ms and {largest.length} {largest.unit}s,"
            f" got {length.length} {length.unit}s",
            f"$.{name}",
        )


def _shard(
    view: ShardView,
    spec: FunnelSpec,
    compiled: _Compiled,
    breakdowns: Any,
    edges: I64,
    grace: int,
) -> _ShardResult:
    n = len(spec.steps)
    base = compiled.where.filter_mask(view, view.rows) if compiled.where else None
    steps = step_match(view, [s.events() for s in spec.steps], compiled.steps)
    exclusions = [x.step().events() for x in spec.exclusions]
    excluded = step_match(view, exclusions, compiled.exclusions)
    users = view.users
    times = view.times
    if grace:
        kept = np.flatnonzero(base) if base is not None else np.arange(view.rows)
        times = times.copy()
        times[kept] = burst_times(users[kept], times[kept], grace)
    used = used_rows(
        event_codes(view),
        steps,
        excluded,
        base,
        spec.order == "strict" or spec.counting == "sessions",
        users,
        times,
        name_rank_table(view),
    )
    order = used.order
    # The kernel reads the used rows compacted, in order: contiguous memory.
    hold = _hold_keys(view, compiled.hold)
    sums = np.zeros((len(edges) - 1, n, 2) if spec.per_period else (0, 0, 2), np.int64)
    records, step_times = fk.funnel_records(
        used.users,
        used.times,
        used.steps,
        used.excluded,
        hold[order] if compiled.hold else np.zeros(len(order), np.int64),
        np.array([x.after_step - 1 for x in spec.exclusions], np.int32),
        np.array([(x.before_step or n) - 1 for x in spec.exclusions], np.int32),
        MODES[spec.order],
        COUNTING[spec.counting],
        n,
        spec.window.ms(),
        _gaps(spec.steps, "min_gap", 0),
        _gaps(spec.steps, "max_gap", int(fk.NO_LIMIT)),
        _groups(spec),
        edges,
        spec.session_gap.ms(),
        _attribution(spec),
        sums,
    )
    segments = shard_segments(view, breakdowns, compiled.breakdowns) if breakdowns else None
    if spec.per_period:
        if segments is not None:
            records[:, 2] = order[records[:, 2]]
        return _ShardResult(view, times, records, sums, segments)
    records[:, 0] = order[records[:, 0]]
    records[:, 2] = order[records[:, 2]]
    by_step = step_times[np.argsort(step_times[:, 0].astype(np.int16), kind="stable")]
    return _ShardResult(view, times, records, by_step, segments)


def _hold_keys(view: ShardView, hold: list[Compiled]) -> I64:
    """Equal keys for rows whose held values are equal as ``==`` compares them: the value's
    text and its kind (2 and 2.0 are one number; true is not the text "true"; a missing
    value and null are values of their own)."""
    key = np.zeros(view.rows if hold else 0, np.int64)
    for expression in hold:
        vector = expression.evaluate(view, view.rows)
        codes, labels = segment_keys(vector)
        kind = np.minimum(np.asarray(np.broadcast_to(vector.tags, view.rows), np.int64), Tag.FLOAT)
        key = (key * (len(labels) + 1) + np.asarray(codes, np.int64) + 1) * (Tag.FLOAT + 1) + kind
        _, inverse = np.unique(key, return_inverse=True)
        key = inverse.astype(np.int64)
    return key


def _gaps(steps: list[Step], name: str, default: int) -> I64:
    gaps = [getattr(s, name) for s in steps]
    return np.array([default if g is None else g.ms() for g in gaps], np.int64)


def _groups(spec: FunnelSpec) -> U64:
    """Any order: the steps of each group as a bit mask (anchors are groups of their own)."""
    if spec.order != "any":
        return np.array([1], np.uint64)
    groups: list[int] = []
    current = 0
    for k in range(len(spec.steps)):
        if k + 1 in spec.anchors:
            if current:
                groups.append(current)
            groups.append(1 << k)
            current = 0
        else:
            current |= 1 << k
    if current:
        groups.append(current)
    return np.array([*groups, 0], np.uint64)


def _attribution(spec: FunnelSpec) -> int:
    if spec.attribution == "first_touch":
        return fk.FIRST_TOUCH
    if spec.attribution == "last_touch":
        return fk.LAST_TOUCH
    return int(spec.attribution) - 1


def _steps(spec: FunnelSpec, counts: I64, results: list[_ShardResult]) -> list[FunnelStep]:
    steps = np.arange(len(spec.steps) + 1)
    bounds = [np.searchsorted(r.step_times[:, 0], steps) for r in results]
    out = []
    for k, step in enumerate(spec.steps):
        count = int(counts[k])
        previous = int(counts[k - 1]) if k else count
        times = [r.step_times[b[k] : b[k + 1]] for r, b in zip(results, bounds, strict=True)]
        out.append(
            FunnelStep(
                step=k + 1,
                label=step.label(),
                count=count,
                step_conversion=count / previous if previous else None,
                overall_conversion=count / int(counts[0]) if counts[0] else None,
                time_to_convert=_time_to_convert(
                    spec, np.concatenate(times or [np.zeros((0, 3), np.int64)])
                )
                if k
                else None,
            )
        )
    return out


def _time_to_convert(spec: FunnelSpec, times: I64) -> TimeToConvert | None:
    if not len(times):
        return None
    gaps = times[:, 1].astype(np.float64)
    # Round edges: 0.6, not 0.6000000000000001.
    edges = [float(f"{e:.12g}") for e in auto_edges(gaps, spec.histogram_buckets)]
    index = np.clip(np.searchsorted(edges, gaps, side="right") - 1, 0, len(edges) - 2)
    quantiles = np.percentile(gaps, [50.0, *spec.percentiles])  # one partition for all
    return TimeToConvert(
        avg_ms=float(gaps.mean()),
        median_ms=float(quantiles[0]),
        percentiles={
            _label(p): float(q) for p, q in zip(spec.percentiles, quantiles[1:], strict=True)
        },
        avg_from_start_ms=float(times[:, 2].mean()),
        histogram=Histogram(
            [_number(e) for e in edges], np.bincount(index, minlength=len(edges) - 1).tolist()
        ),
    )


def _label(p: float) -> str:
    return str(int(p)) if p == int(p) else str(p)


def _number(value: float) -> float | int:
    return int(value) if value == int(value) else value


def _segment_codes(context: ReportContext, results: list[_ShardResult]) -> tuple[pa.Array, I64]:
    """The segment labels of every shard together, and each record's global segment code
    (``len(labels)``: without a segment)."""
    segments = [r.segments for r in results if r.segments is not None]
    remaps, labels = unify_segments(context, [r.view for r in results], segments, None)
    codes = [np.zeros(0, np.int64)]
    for r, remap in zip(results, remaps, strict=True):
        assert r.segments is not None
        local = r.segments.codes[r.records[:, 2]]
        codes.append(np.where(local >= 0, remap[np.maximum(local, 0)], len(labels)))
    return labels, np.concatenate(codes).astype(np.int64)


def _segments(spec: FunnelSpec, labels: pa.Array, codes: I64, reached: I64) -> FunnelSegments:
    """Step counts per segment in one count over (segment, steps reached); attempts
    without a segment go to ``$other`` with the segments not shown."""
    n = len(spec.steps)
    width = len(labels) + 1
    exactly = np.bincount(codes * (n + 1) + reached, minlength=width * (n + 1))
    # Attempts that reached at least each step, per segment.
    counts = np.cumsum(exactly.reshape(width, n + 1)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    return ranked_segments(labels, counts[:-1], counts.sum(axis=0), spec.limit)


def _drop_offs(spec: FunnelSpec, results: list[_ShardResult]) -> DropOffUsers:
    assert spec.drop_offs is not None
    k = spec.drop_offs.step
    ids: set[str] = set()
    for r in results:
        rows = r.records[r.records[:, 1] == k, 0]
        ids.update(r.view.scan.columns["distinct_id"].take(pa.array(rows)).to_pylist())
    users = sorted(ids)
    offset, limit = spec.drop_offs.offset, spec.drop_offs.limit
    return DropOffUsers(k, len(users), offset, users[offset : offset + limit])
