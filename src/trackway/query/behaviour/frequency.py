"""Frequency (Mixpanel's addiction): per period of the range, how many users did the event in
exactly (and in at least) k of the period's hours or days."""

from __future__ import annotations

from typing import Any

import numpy as np

from trackway.query.behaviour.period_kernels import frequency_counts
from trackway.query.behaviour.periods import check_dates
from trackway.query.behaviour.result import FrequencyResult
from trackway.query.behaviour.spec import FrequencySpec, Step
from trackway.query.context import ReportContext
from trackway.query.errors import SpecError
from trackway.query.expr import Compiled
from trackway.query.frame import match_mask, maybe_compile, parallel, scan_views
from trackway.query.shard_view import ShardView
from trackway.query.timebuckets import buckets, day_range, zone
from trackway.types import I32

_FINENESS = {"hour": 0, "day": 1, "week": 2, "month": 3}


def run_frequency(context: ReportContext, spec: FrequencySpec) -> FrequencyResult:
    where = plan(spec)
    tz = zone(spec.timezone or context.project.timezone)
    periods = buckets(spec.from_date, spec.to_date, spec.unit, tz)
    # Local hours and days: a day of 23 or 25 hours has that many.
    subs = buckets(spec.from_date, spec.to_date, spec.addiction_unit, tz)
    period_of_sub: I32 = (np.searchsorted(periods.edges, subs.edges[:-1], side="right") - 1).astype(
        np.int32
    )
    lengths = np.bincount(period_of_sub, minlength=len(periods))
    width = int(lengths.max())
    events = Step(event=spec.event).events()
    views = scan_views(context, [where], day_range(spec.from_date, spec.to_date, tz))

    def shard(view: ShardView) -> Any:
        active = match_mask(view, events, where, np.ones(view.rows, np.bool_))
        return frequency_counts(
            view.users, view.times, active, subs.edges, period_of_sub, len(periods), width
        )

    exactly = np.zeros((len(periods), width), np.int64)
    for part in parallel(shard, views):
        exactly += part
    at_least = np.flip(np.cumsum(np.flip(exactly, 1), 1), 1)
    return FrequencyResult(
        unit=spec.unit,
        addiction_unit=spec.addiction_unit,
        timezone=str(tz),
        buckets=list(periods.labels),
        distribution=[exactly[p, :n].tolist() for p, n in enumerate(lengths)],
        at_least=[at_least[p, :n].tolist() for p, n in enumerate(lengths)],
    )


def plan(spec: FrequencySpec) -> Compiled | None:
    """The spec checked and its filter compiled."""
    check_dates(spec.from_date, spec.to_date)
    if _FINENESS[spec.addiction_unit] >= _FINENESS[spec.unit]:
        raise SpecError(
            f"Expected `addiction_unit` finer than `unit` ({spec.unit!r}), "
            f"got {spec.addiction_unit!r}",
            "$.addiction_unit",
        )
    return maybe_compile(spec.where, "$.where")
