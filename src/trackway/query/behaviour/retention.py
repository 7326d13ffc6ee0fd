"""Retention: users grouped into cohorts by the period of their birth (a first or a
recurring `born` event), and how many come back in each period after it.

Plan: check the spec; scan from the earliest birth that matters (all history for
first_time) to the end of the last reported period (``on_or_after``: to the end of the
data); then one kernel pass per shard, on threads, over each user's rows. Every user lives
on one shard, so the shards' cohort counts add up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from trackway.query.behaviour.period_kernels import retention_entries
from trackway.query.behaviour.periods import (
    LATEST_DAY,
    add_periods,
    check_dates,
    local_day,
    period_start,
)
from trackway.query.behaviour.result import RetentionResult, RetentionRow
from trackway.query.behaviour.spec import RetentionSpec, Step
from trackway.query.breakdowns import numbers_of
from trackway.query.context import ReportContext
from trackway.query.errors import SpecError
from trackway.query.expr import Compiled
from trackway.query.frame import (
    ALL_HISTORY_MS,
    END_OF_TIME,
    base_mask,
    match_mask,
    maybe_compile,
    parallel,
    scan_views,
)
from trackway.query.shard_view import ShardView
from trackway.query.timebuckets import buckets, day_range, zone
from trackway.types import F64, I64

DAY_MS = 86_400_000
ROLLING_MS = {"day": DAY_MS, "week": 7 * DAY_MS, "month": 30 * DAY_MS}
# The furthest period reported: about 400 days in every unit.
MAX_PERIODS = {"day": 400, "week": 57, "month": 13}
MAX_CELLS = 1_000_000  # cohorts x reported periods
# Unbounded calendar retention numbers periods up to the latest event; past this many
# periods after the first cohort, later periods are taken as one.
MAX_GRID = 20_000
N = TypeVar("N", npt.NDArray[np.int64], npt.NDArray[np.float64])


@dataclass(frozen=True, slots=True)
class _Slots:
    """The reported columns: their labels, each period's column (-1: none), whether periods
    past ``slot_of`` keep their own number (no brackets), and the last period reported."""

    labels: list[str]
    slot_of: npt.NDArray[np.int32]
    open_end: bool
    last_period: int


def run_retention(context: ReportContext, spec: RetentionSpec) -> RetentionResult:
    where, born_where, return_where = plan(spec)
    tz = zone(spec.timezone or context.project.timezone)
    slots = _slots(spec)
    cohorts = buckets(spec.from_date, spec.to_date, spec.unit, tz)
    if len(cohorts) * len(slots.labels) > MAX_CELLS:
        raise SpecError(
            f"Expected at most {MAX_CELLS} cohort cells, got {len(cohorts)} cohorts of "
            f"{len(slots.labels)} periods; narrow the range or use a larger unit"
        )
    range_start, range_end = day_range(spec.from_date, spec.to_date, tz)
    rolling = spec.alignment == "rolling"
    unbounded = spec.mode == "on_or_after"
    last_day = _last_reported_day(spec, slots)
    if unbounded:
        scan_end = END_OF_TIME
    elif rolling:
        scan_end = range_end + (slots.last_period + 1) * ROLLING_MS[spec.unit]
    else:
        scan_end = day_range(last_day, last_day, tz)[1]
    scan_start = ALL_HISTORY_MS if spec.retention_type == "first_time" else range_start
    measured = spec.measure != "users"
    views = scan_views(
        context,
        [where, born_where, return_where],
        (scan_start, scan_end),
        properties=[spec.property or ""] if measured else [],
    )
    if rolling:
        edges = cohorts.edges
    else:
        edges = _calendar_edges(spec, tz, last_day, views if unbounded else [])
    no_values = (np.zeros(0, np.bool_), np.zeros(0, np.float64))

    def shard(view: ShardView) -> tuple[Any, ...]:
        base = base_mask(view, where)
        born = match_mask(view, spec.born.events(), born_where, base)
        back = match_mask(view, spec.returning.events(), return_where, base)
        valid, values = numbers_of(view.property(spec.property or "")) if measured else no_values
        return tuple(
            retention_entries(
                view.users,
                view.times,
                born,
                back,
                edges,
                len(cohorts),
                range_start,
                range_end,
                ROLLING_MS[spec.unit] if rolling else 0,
                spec.retention_type == "recurring",
                slots.slot_of,
                slots.open_end,
                unbounded,
                spec.min_returns,
                valid,
                values,
                len(slots.labels),
            )
        )

    width = len(slots.labels)
    sizes = np.zeros(len(cohorts), np.int64)
    counts = np.zeros((len(cohorts), width), np.int64)
    sums = np.zeros((len(cohorts), width), np.float64)
    nums = np.zeros((len(cohorts), width), np.int64)
    for part in parallel(shard, views):
        sizes += part[0]
        counts += part[1]
        sums += part[2]
        nums += part[3]
    if unbounded:
        # The kernel put each entry and value in the last slot it reaches; a slot holds
        # everything at or after it.
        counts, sums, nums = _from_later(counts), _from_later(sums), _from_later(nums)
    rows = [
        _row(label, spec, int(sizes[c]), counts[c], sums[c], nums[c])
        for c, label in enumerate(cohorts.labels)
    ]
    total = _row(None, spec, int(sizes.sum()), counts.sum(0), sums.sum(0), nums.sum(0))
    return RetentionResult(spec.unit, str(tz), slots.labels, rows, total)


def plan(spec: RetentionSpec) -> tuple[Compiled | None, Compiled | None, Compiled | None]:
    """The spec checked and its filters compiled: the global one, birth's, return's."""
    _check(spec)
    return (
        maybe_compile(spec.where, "$.where"),
        maybe_compile(spec.born.where, "$.born.where"),
        maybe_compile(spec.returning.where, "$.returning.where"),
    )


def _from_later(array: N) -> N:
    """Each slot plus every later one."""
    return np.flip(np.cumsum(np.flip(array, 1), 1), 1)


def _row(
    cohort: str | None, spec: RetentionSpec, size: int, counts: I64, sums: F64, nums: I64
) -> RetentionRow:
    values: list[float | None] | None = None
    if spec.measure == "sum":
        values = [float(s) for s in sums]
    elif spec.measure == "average":
        values = [float(s) / int(m) if m else None for s, m in zip(sums, nums, strict=True)]
    return RetentionRow(cohort=cohort, size=size, counts=[int(c) for c in counts], values=values)


def _slots(spec: RetentionSpec) -> _Slots:
    if spec.brackets is None:
        slot_of = np.arange(spec.periods + 1, dtype=np.int32)
        return _Slots([str(p) for p in range(spec.periods + 1)], slot_of, True, spec.periods)
    last = spec.brackets[-1][1]
    slot_of = np.full(last + 1, -1, np.int32)
    for b, (first, end) in enumerate(spec.brackets):
        slot_of[first : end + 1] = b
    labels = [str(f) if f == e else f"{f}-{e}" for f, e in spec.brackets]
    return _Slots(labels, slot_of, False, last)


def _last_reported_day(spec: RetentionSpec, slots: _Slots) -> Any:
    """The last day of the last reported period of the last cohort."""
    end = add_periods(period_start(spec.to_date, spec.unit), spec.unit, slots.last_period + 1)
    if end > LATEST_DAY:
        raise SpecError(
            f"Expected the reported periods to end by {LATEST_DAY}, got {slots.last_period} "
            f"{spec.unit}s after {spec.to_date}"
        )
    return end - timedelta(days=1)


def _calendar_edges(
    spec: RetentionSpec, tz: ZoneInfo, last_day: Any, views: list[ShardView]
) -> npt.NDArray[np.int64]:
    """Calendar period starts from the first cohort's period to ``last_day``'s, or to the
    latest scanned event's (``views``), at most ``MAX_GRID`` periods."""
    first = period_start(spec.from_date, spec.unit)
    latest = max((int(v.times.max()) for v in views if v.rows), default=None)
    if latest is not None:
        cap = min(add_periods(first, spec.unit, MAX_GRID), LATEST_DAY)
        last_day = max(last_day, min(local_day(latest, tz), cap))
    return buckets(first, last_day, spec.unit, tz, max_buckets=MAX_GRID + 1).edges


def _check(spec: RetentionSpec) -> None:
    check_dates(spec.from_date, spec.to_date)
    most = MAX_PERIODS[spec.unit]
    if not 0 <= spec.periods <= most:
        raise SpecError(
            f"Expected `periods` between 0 and {most} for unit {spec.unit!r}, got {spec.periods}",
            "$.periods",
        )
    if spec.brackets is not None:
        _check_brackets(spec.brackets, most, spec.unit)
    if spec.measure != "users" and not spec.property:
        raise SpecError(f"Expected `property` for measure {spec.measure!r}, got none", "$.property")
    if spec.min_returns < 1:
        raise SpecError(
            f"Expected `min_returns` of at least 1, got {spec.min_returns}", "$.min_returns"
        )
    for name, step in (("born", spec.born), ("returning", spec.returning)):
        _check_step(name, step)


def _check_brackets(brackets: list[list[int]], most: int, unit: str) -> None:
    if not brackets:
        raise SpecError("Expected at least one bracket in `brackets`, got none", "$.brackets")
    previous = -1
    for i, bracket in enumerate(brackets):
        if len(bracket) != 2:
            raise SpecError(f"Expected [first, last] periods, got {bracket}", f"$.brackets[{i}]")
        first, last = bracket
        if not 0 <= first <= last <= most:
            raise SpecError(
                f"Expected 0 <= first <= last <= {most} (unit {unit!r}), got {bracket}",
                f"$.brackets[{i}]",
            )
        if first <= previous:
            raise SpecError(
                f"Expected brackets in increasing order without overlap, got {bracket} after "
                f"period {previous}",
                f"$.brackets[{i}]",
            )
        previous = last


def _check_step(name: str, step: Step) -> None:
    if step.min_gap is not None or step.max_gap is not None:
        raise SpecError(
            f"Expected no `min_gap` or `max_gap` in `{name}` (funnels only)", f"$.{name}"
        )
