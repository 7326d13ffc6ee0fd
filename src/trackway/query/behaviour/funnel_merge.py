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
import pyarrow.compute as pc

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
    sums: I64,
    segments: tuple[pa.Array, I64] | None,
    limit: int,
) -> list[FunnelPeriod]:
    """Each period's funnel from every shard's ``records`` and the ``sums`` of their times
    (by period and step: since the previous step, since the start): per step the records
    of the period that reached it and their mean times; with ``segments`` (the labels and
    each record's segment code), the period's own top ``limit`` segments."""
    size = len(grid)
    exactly = np.bincount(records[:, 3] * (n + 1) + records[:, 1], minlength=size * (n + 1))
    counts = np.cumsum(exactly.reshape(size, n + 1)[:, ::-1], axis=1)[:, ::-1][:, 1:].tolist()
    totals = sums.tolist()  # whole milliseconds, exact in int64
    by_segment = _period_segments(size, n, records, segments, limit) if segments else None
    out = []
    for p, label in enumerate(grid.labels):
        steps = [PeriodStep(counts[p][0], None, None)]
        for k in range(1, n):
            count = counts[p][k]
            since_previous, since_start = totals[p][k]
            steps.append(
                PeriodStep(count, since_previous / count, since_start / count)
                if count
                else PeriodStep(0, None, None)
            )
        out.append(FunnelPeriod(label, steps, None if by_segment is None else by_segment[p]))
    return out


def _period_segments(
    size: int, n: int, records: I64, segments: tuple[pa.Array, I64], limit: int
) -> list[FunnelSegments]:
    """Per period, its segments ranked among themselves as ``ranked_segments`` ranks them,
    all periods in one sort. Many periods of many segments cost what the records do: then
    only the (period, segment) pairs that occur are counted."""
    labels, codes = segments
    width = len(labels) + 1
    pair = records[:, 3] * width + codes
    if size * width <= max(len(pair), 1 << 16):
        pairs = np.arange(size * width)
        inverse = pair
    else:
        pairs, inverse = np.unique(pair, return_inverse=True)
    exactly = np.bincount(inverse * (n + 1) + records[:, 1], minlength=len(pairs) * (n + 1))
    counts = np.cumsum(exactly.reshape(len(pairs), n + 1)[:, ::-1], axis=1)[:, ::-1][:, 1:]
    occur = counts[:, 0] > 0  # every record reached step 1
    pairs, counts = pairs[occur], counts[occur]
    period, code = pairs // width, pairs % width
    totals = _sums_by(period, counts, size)
    named = code < width - 1
    period, code, counts = period[named], code[named], counts[named]
    # Within a period: by step-1 count, highest first, then by label.
    used = np.unique(code)
    label_rank = np.zeros(width, np.int64)
    by_label = np.asarray(pc.sort_indices(labels.take(pa.array(used))), np.int64)
    label_rank[used[by_label]] = np.arange(len(used))
    order = np.lexsort((label_rank[code], -counts[:, 0], period))
    starts = np.searchsorted(period[order], np.arange(size + 1))
    place = np.arange(len(order)) - starts[period[order]]
    shown = order[place < limit]
    shown_totals = _sums_by(period[shown], counts[shown], size)
    names = labels.take(pa.array(code[shown])).to_pylist()
    rows = counts[shown].tolist()
    rest = (totals - shown_totals).tolist()
    present = np.diff(starts).tolist()
    bounds = np.searchsorted(period[shown], np.arange(size + 1)).tolist()
    out = []
    for p in range(size):
        found = [
            SegmentRow(names[i].split(SEPARATOR), rows[i]) for i in range(bounds[p], bounds[p + 1])
        ]
        if rest[p][0] > 0:
            found.append(SegmentRow([OTHER], rest[p]))
        out.append(FunnelSegments(present[p], bounds[p + 1] - bounds[p], found))
    return out


def _sums_by(period: I64, counts: I64, size: int) -> I64:
    """Column sums of ``counts`` per period (``period`` sorted), exact in int64."""
    running = np.concatenate([np.zeros((1, counts.shape[1]), np.int64), np.cumsum(counts, axis=0)])
    bounds = np.searchsorted(period, np.arange(size + 1))
    return np.asarray(running[bounds[1:]] - running[bounds[:-1]], np.int64)
