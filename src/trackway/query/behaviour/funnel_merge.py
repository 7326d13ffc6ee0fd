"""The shards' funnel records merged: attempts reaching each step, segments ranked with an
exact ``$other``, and with ``per_period`` each period's funnel from the same records, so one
scan and one kernel pass answer every period (Mixpanel's ``/funnels``).

A record is (start row, steps reached, attribution row, period); a step-time row is (step,
time since the previous step, time since the start, period), one per step after the first
that a record reached. Segment codes are global (``frame.unify_segments``), the code
``len(labels)`` standing for attempts without a segment.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from trackway.query.behaviour.result import FunnelPeriod, FunnelSegments, PeriodStep, SegmentRow
from trackway.query.behaviour.spec import StartPeriods
from trackway.query.breakdowns import OTHER, SEPARATOR
from trackway.query.errors import SpecError
from trackway.query.frame import top_segments
from trackway.query.timebuckets import Buckets, buckets
from trackway.types import I64

# Each period's answer is a few numbers: bound only what one answer may hold.
MAX_PERIODS = 4_000


def start_periods(periods: StartPeriods, from_date: date, to_date: date, tz: ZoneInfo) -> Buckets:
    """The periods of ``per_period``: edges in UTC ms (the first and last cut to the range)
    and labels (each period's first day)."""
    if not 1 <= periods.every <= 36_500:
        raise SpecError(
            f"Expected `every` between 1 and 36500, got {periods.every}", "$.per_period.every"
        )
    try:
        return buckets(from_date, to_date, periods.unit, tz, MAX_PERIODS, periods.every)
    except SpecError:
        raise SpecError(
            f"Expected at most {MAX_PERIODS} periods; narrow the dates or use a larger "
            "`unit` or `every`",
            "$.per_period",
        ) from None


def at_least(reached: I64, n: int) -> I64:
    """How many of the records reached at least each step."""
    exactly = np.bincount(np.asarray(reached, np.int64), minlength=n + 1)[: n + 1]
    return np.asarray(np.cumsum(exactly[::-1])[::-1][1:], np.int64)


def ranked_segments(names: pa.Array, counts: I64, total: I64, limit: int) -> FunnelSegments:
    """Segments named ``names`` with their counts per step (a row each): the top ``limit``
    by step-1 count, ties by name; every other attempt (``total`` less those shown) in one
    ``$other`` row, shown when it has any."""
    shown, present = top_segments(names, counts[:, 0], limit)
    rows = [SegmentRow(names[int(g)].as_py().split(SEPARATOR), counts[g].tolist()) for g in shown]
    rest = total - counts[shown].sum(axis=0)
    if rest[0] > 0:
        rows.append(SegmentRow([OTHER], rest.tolist()))
    return FunnelSegments(present, len(shown), rows)


def period_funnels(
    grid: Buckets,
    n: int,
    records: I64,
    step_times: I64,
    segments: tuple[pa.Array, I64] | None,
    limit: int,
) -> list[FunnelPeriod]:
    """Each period's funnel from every shard's ``records`` and ``step_times``: per step the
    records of the period that reached it and their mean times; with ``segments`` (the
    labels and each record's segment code), the period's own top ``limit`` segments."""
    size = len(grid)
    period = records[:, 3]
    exactly = np.bincount(period * (n + 1) + records[:, 1], minlength=size * (n + 1))
    counts = np.cumsum(exactly.reshape(size, n + 1)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    # Sums of whole milliseconds, exact in int64; a row per record and reached step > 1.
    cell = step_times[:, 3] * n + step_times[:, 0]
    since_previous = np.zeros(size * n, np.int64)
    since_start = np.zeros(size * n, np.int64)
    np.add.at(since_previous, cell, step_times[:, 1])
    np.add.at(since_start, cell, step_times[:, 2])
    by_segment = _period_segments(size, n, records, segments, limit) if segments else None
    out = []
    for p, label in enumerate(grid.labels):
        steps = []
        for k in range(n):
            count = int(counts[p, k])
            timed = k > 0 and count > 0
            steps.append(
                PeriodStep(
                    count,
                    int(since_previous[p * n + k]) / count if timed else None,
                    int(since_start[p * n + k]) / count if timed else None,
                )
            )
        out.append(FunnelPeriod(label, steps, None if by_segment is None else by_segment[p]))
    return out


def _period_segments(
    size: int, n: int, records: I64, segments: tuple[pa.Array, I64], limit: int
) -> list[FunnelSegments]:
    """Per period, its segments ranked among themselves. Only the (period, segment) pairs
    that occur are counted, so many periods of many segments cost what the records do."""
    labels, codes = segments
    width = len(labels) + 1
    pairs, inverse = np.unique(records[:, 3] * width + codes, return_inverse=True)
    exactly = np.bincount(inverse * (n + 1) + records[:, 1], minlength=len(pairs) * (n + 1))
    counts = np.cumsum(exactly.reshape(len(pairs), n + 1)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    # Pairs are sorted, so each period's are one slice.
    bounds = np.searchsorted(pairs // width, np.arange(size + 1))
    out = []
    for p in range(size):
        code = pairs[bounds[p] : bounds[p + 1]] % width
        period_counts = counts[bounds[p] : bounds[p + 1]]
        named = code < width - 1
        out.append(
            ranked_segments(
                labels.take(pa.array(code[named])),
                period_counts[named],
                period_counts.sum(axis=0),
                limit,
            )
        )
    return out
