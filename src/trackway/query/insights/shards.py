"""One shard's rows reduced to what Insights' measures read: per metric, each row's bucket
(-1 when the row does not count) and values, and each row's segment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from trackway.query.breakdowns import Breakdown, LocalSegments, numbers_of
from trackway.query.expr import Compiled, Tag, segment_keys
from trackway.query.frame import base_mask, event_mask, shard_segments
from trackway.query.insights.spec import InsightsSpec, Metric
from trackway.query.shard_view import ShardView
from trackway.query.timebuckets import Buckets
from trackway.types import I32, I64

DAILY_MEASURES = frozenset({"dau", "wau", "mau"})


@dataclass(frozen=True, slots=True)
class CompiledInsights:
    """Every expression of a spec, compiled once per report."""

    where: Compiled | None
    metric_where: list[Compiled | None]
    metric_values: list[Compiled | None]
    breakdowns: list[Compiled]

    def all(self) -> list[Compiled | None]:
        return [self.where, *self.metric_where, *self.metric_values, *self.breakdowns]


@dataclass(slots=True)
class PreparedShard:
    view: ShardView
    users: I64
    days: I32  # day index from the scan start, for dau/wau/mau
    metric_buckets: list[I32]
    metric_values: list[Any]  # per metric: (valid, numbers), or segment keys for distinct
    segments: LocalSegments


def prepare(
    view: ShardView,
    spec: InsightsSpec,
    breakdowns: list[Breakdown],
    compiled: CompiledInsights,
    grid: Buckets,
    day_grid: Buckets,
) -> PreparedShard:
    base = base_mask(view, compiled.where)
    bucket_of_row = bucket_index(view, grid)
    daily = any(m.measure in DAILY_MEASURES for m in spec.metrics)
    day_of_row = bucket_index(view, day_grid) if daily else bucket_of_row
    metric_buckets = []
    metric_values: list[Any] = []
    for metric, where, value in zip(
        spec.metrics, compiled.metric_where, compiled.metric_values, strict=True
    ):
        mask = base & event_mask(view, metric.events())
        if where is not None:
            mask &= where.filter_mask(view, view.rows)
        in_range = day_of_row if metric.measure in DAILY_MEASURES else bucket_of_row
        metric_buckets.append(np.where(mask, in_range, np.int32(-1)).astype(np.int32, copy=False))
        metric_values.append(values_of(metric, value, view))
    # Without breakdowns every row is in one segment (labelled ""), kept like any other.
    segments = shard_segments(view, breakdowns, compiled.breakdowns)
    return PreparedShard(view, view.users, day_of_row, metric_buckets, metric_values, segments)


def values_of(metric: Metric, value: Compiled | None, view: ShardView) -> Any:
    if value is None:
        return None
    vector = value.evaluate(view, view.rows)
    if metric.measure == "distinct":
        codes, labels = segment_keys(vector)
        # A missing property or a null is no value to count.
        absent = vector.has(Tag.UNDEFINED) | vector.has(Tag.NULL)
        return np.where(absent, -1, codes).astype(np.int32), labels
    return numbers_of(vector)


def bucket_index(view: ShardView, grid: Buckets) -> I32:
    """Each row's bucket of ``grid`` (-1 outside it); kept while the rows stay the same."""
    return view.cached(
        ("buckets", grid.edges.tobytes()), lambda: grid.index(view.times), lambda a: int(a.nbytes)
    )
