"""Lifecycle: per period of the range, the users who did the event split into new,
returning and resurrecting, and those active in the period before but not in this one
(dormant). Every earlier event counts, so the scan reads all history up to the end of the
range's last period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np

from trackway.query.behaviour.period_kernels import (
    DORMANT,
    NEW,
    RESURRECTING,
    RETURNING,
    lifecycle_counts,
)
from trackway.query.behaviour.periods import LATEST_DAY, add_periods, check_dates, period_start
from trackway.query.behaviour.result import LifecycleResult
from trackway.query.behaviour.spec import LifecycleSpec, Step
from trackway.query.context import ReportContext
from trackway.query.expr import Compiled
from trackway.query.frame import ALL_HISTORY_MS, match_mask, maybe_compile, parallel, scan_views
from trackway.query.shard_view import ShardView
from trackway.query.timebuckets import buckets, day_range, zone


def run_lifecycle(context: ReportContext, spec: LifecycleSpec) -> LifecycleResult:
    where = plan(spec)
    tz = zone(spec.timezone or context.project.timezone)
    # Whole calendar periods, also where the range starts or ends inside one: a user's state
    # in a period depends on all of it and on the whole period before.
    first = period_start(spec.from_date, spec.unit)
    last = add_periods(period_start(spec.to_date, spec.unit), spec.unit, 1) - timedelta(days=1)
    grid = buckets(first, min(last, LATEST_DAY), spec.unit, tz)
    previous = add_periods(first, spec.unit, -1)
    previous_start = day_range(previous, previous, tz)[0]
    events = Step(event=spec.event).events()
    views = scan_views(context, [where], (ALL_HISTORY_MS, grid.end_ms))

    def shard(view: ShardView) -> Any:
        active = match_mask(view, events, where, np.ones(view.rows, np.bool_))
        return lifecycle_counts(view.users, view.times, active, grid.edges, previous_start)

    counts = np.zeros((4, len(grid)), np.int64)
    for part in parallel(shard, views):
        counts += part
    return LifecycleResult(
        unit=spec.unit,
        timezone=str(tz),
        buckets=list(grid.labels),
        new=counts[NEW].tolist(),
        returning=counts[RETURNING].tolist(),
        resurrecting=counts[RESURRECTING].tolist(),
        dormant=counts[DORMANT].tolist(),
    )


def plan(spec: LifecycleSpec) -> Compiled | None:
    """The spec checked and its filter compiled."""
    check_dates(spec.from_date, spec.to_date)
    return maybe_compile(spec.where, "$.where")
