"""What a metric measures, per (segment, bucket), merged over shards, with its total over the
whole range. Kernels run per shard on the query threads; partials merge by addition, except
percentiles and distinct counts, which merge the shards' values exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.query.breakdowns import unify
from trackway.query.insights import kernels
from trackway.query.insights.shards import PreparedShard
from trackway.query.insights.spec import UNIQUE_MEASURES, InsightsSpec, Metric
from trackway.query.pool import POOL
from trackway.query.timebuckets import Buckets
from trackway.types import F64

QUANTILES = {"median": 0.5, "p25": 0.25, "p75": 0.75, "p90": 0.9, "p99": 0.99}
DISTRIBUTION_EDGES = (1, 2, 3, 4, 5, 6, 11, 21, 51, 101)
WINDOWS = {"dau": 1, "wau": 7, "mau": 30}
_ADDITIVE = {"total", "unique", "sum"}


def rank(
    metric: Metric, shards: list[PreparedShard], n_labels: int, m: int, offset_days: int
) -> F64:
    """Per global segment, for metric ``m``: distinct users for unique-like measures, else
    events. Rows count from the range's first day, or, for an active-users measure, from
    its own window before it (the scan reaches back as far as the longest window needs)."""
    total = np.zeros(n_labels, np.float64)
    by_users = metric.measure in UNIQUE_MEASURES or metric.measure.startswith("per_user")
    first = offset_days - (WINDOWS[metric.measure] - 1) if metric.measure in WINDOWS else 0
    for shard in shards:
        counted = shard.metric_buckets[m] >= first
        codes = np.where(counted, shard.segments.codes, -1).astype(np.int32)
        counts, uniques = kernels.segment_uniques(shard.users, codes, n_labels)
        total += uniques if by_users else counts
    return total


def measure(
    metric: Metric,
    spec: InsightsSpec,
    shards: list[PreparedShard],
    m: int,
    width: int,
    n_buckets: int,
    offset_days: int,
    day_grid: Buckets,
    grid: Buckets,
) -> tuple[F64, list[Any]]:
    kind = metric.measure
    inputs = [(s.users, s.metric_buckets[m], s.segments.codes) for s in shards]
    if kind in WINDOWS:
        return _active(inputs, WINDOWS[kind], width, offset_days, day_grid, grid)
    if kind in ("total", "unique", "per_user_avg"):
        counts, uniques, uniques_total = _sum_parts(
            POOL.map(
                lambda i: kernels.count_and_uniques(i[0], i[1], i[2], width, n_buckets), inputs
            ),
            [np.zeros((width, n_buckets), np.int64)] * 2 + [np.zeros(width, np.int64)],
        )
        if kind == "total":
            values = _accumulate(counts, spec)
            return values, [int(t) for t in counts.sum(axis=1)]
        if kind == "unique":
            if spec.cumulative or spec.rolling:
                window = n_buckets if spec.cumulative else int(spec.rolling or 1)
                return _windowed(inputs, window, width, n_buckets).astype(np.int64), [
                    int(t) for t in uniques_total
                ]
            return uniques, [int(t) for t in uniques_total]
        with np.errstate(divide="ignore", invalid="ignore"):
            return counts / np.where(uniques == 0, np.nan, uniques), [
                float(c / u) if u else None
                for c, u in zip(counts.sum(axis=1), uniques_total, strict=True)
            ]
    if kind in ("per_user_median", "per_user_distribution"):
        return _per_user(kind, inputs, width, n_buckets)
    if kind == "distinct":
        return _distinct(shards, m, width, n_buckets)
    return _numeric(kind, spec, shards, m, width, n_buckets)


def _sum_parts(parts: Any, empty: list[Any]) -> Any:
    """Shard partials added up; ``empty`` when there are no shards."""
    total = None
    for part in parts:
        total = list(part) if total is None else [a + b for a, b in zip(total, part, strict=True)]
    return empty if total is None else total


def _accumulate(values: Any, spec: InsightsSpec) -> Any:
    if spec.cumulative:
        return np.cumsum(values, axis=1)
    if spec.rolling:
        window = int(spec.rolling)
        running = np.cumsum(values, axis=1)
        shifted = np.zeros_like(running)
        shifted[:, window:] = running[:, :-window]
        return running - shifted
    return values


def _windowed(inputs: list[Any], window: int, width: int, n_buckets: int) -> F64:
    out = np.zeros((width, n_buckets), np.float64)
    for users, buckets, segments in inputs:
        for s in range(width):
            rows = buckets >= 0
            rows &= segments == s
            out[s] += kernels.active_days(users[rows], buckets[rows], n_buckets, window)
    return out


def _active(
    inputs: list[Any], window: int, width: int, offset_days: int, day_grid: Buckets, grid: Buckets
) -> tuple[F64, list[Any]]:
    """Users active in the trailing window of each day; a bucket longer than a day shows the
    average of its days."""
    daily = _windowed(inputs, window, width, len(day_grid))[:, offset_days:]
    if grid.unit in ("minute", "hour"):
        # A bucket shorter than a day shows the value of the day it falls in.
        day_of_bucket = day_grid.index(grid.edges[:-1]) - offset_days
        return daily[:, day_of_bucket], [float(row.mean()) if row.size else None for row in daily]
    day_starts = day_grid.edges[offset_days:-1]
    bucket_of_day = grid.index(day_starts)
    n_buckets = len(grid)
    sums = np.zeros((width, n_buckets))
    np.add.at(sums.T, bucket_of_day, daily.T)
    days_per_bucket = np.bincount(bucket_of_day, minlength=n_buckets)
    values = sums / np.maximum(days_per_bucket, 1)
    return values, [float(row.mean()) if row.size else None for row in daily]


def _per_user(kind: str, inputs: list[Any], width: int, n_buckets: int) -> tuple[F64, list[Any]]:
    triples = [kernels.per_user_counts(u, b, s, n_buckets) for u, b, s in inputs]
    whole = [
        kernels.per_user_counts(u, np.where(b >= 0, 0, -1).astype(np.int32), s, 1)
        for u, b, s in inputs
    ]
    segments = np.concatenate([t[0] for t in triples]) if triples else np.zeros(0, np.int32)
    buckets = np.concatenate([t[1] for t in triples]) if triples else np.zeros(0, np.int32)
    counts = np.concatenate([t[2] for t in triples]).astype(np.float64) if triples else np.zeros(0)
    values = _group_quantile(
        segments.astype(np.int64) * n_buckets + buckets, counts, 0.5, width * n_buckets
    ).reshape(width, n_buckets)
    whole_segments = np.concatenate([t[0] for t in whole]) if whole else np.zeros(0, np.int32)
    whole_counts = np.concatenate([t[2] for t in whole]) if whole else np.zeros(0, np.int64)
    if kind == "per_user_median":
        medians = _group_quantile(
            whole_segments.astype(np.int64), whole_counts.astype(np.float64), 0.5, width
        )
        return values, [None if np.isnan(v) else float(v) for v in medians]
    totals = []
    for s in range(width):
        per_user = whole_counts[whole_segments == s]
        histogram = np.histogram(per_user, bins=[*DISTRIBUTION_EDGES, np.inf])[0]
        labels = [_bucket_label(i) for i in range(len(DISTRIBUTION_EDGES))]
        totals.append(dict(zip(labels, histogram.tolist(), strict=True)))
    return values, totals


def _bucket_label(i: int) -> str:
    low = DISTRIBUTION_EDGES[i]
    if i + 1 == len(DISTRIBUTION_EDGES):
        return f"{low}+"
    high = DISTRIBUTION_EDGES[i + 1] - 1
    return str(low) if low == high else f"{low}-{high}"


def _numeric(
    kind: str, spec: InsightsSpec, shards: list[PreparedShard], m: int, width: int, n_buckets: int
) -> tuple[F64, list[Any]]:
    if kind in QUANTILES:
        groups, values = _group_values(shards, m, n_buckets)
        q = QUANTILES[kind]
        per_bucket = _group_quantile(groups, values, q, width * n_buckets).reshape(width, n_buckets)
        totals = _group_quantile(groups // n_buckets, values, q, width)
        return per_bucket, [None if np.isnan(t) else float(t) for t in totals]
    stats = list(
        POOL.map(
            lambda shard: kernels.group_stats(
                shard.metric_buckets[m],
                shard.segments.codes,
                shard.metric_values[m][0],
                shard.metric_values[m][1],
                width,
                n_buckets,
            ),
            shards,
        )
    )
    sums = np.sum([st[0] for st in stats], axis=0) if stats else np.zeros((width, n_buckets))
    counts = np.sum([st[1] for st in stats], axis=0) if stats else np.zeros((width, n_buckets))
    if kind == "sum":
        return _accumulate(sums, spec), [float(t) for t in sums.sum(axis=1)]
    if kind == "avg":
        with np.errstate(divide="ignore", invalid="ignore"):
            totals = sums.sum(axis=1) / counts.sum(axis=1)
            return sums / np.where(counts == 0, np.nan, counts), [
                None if np.isnan(t) else float(t) for t in totals
            ]
    if not stats:
        return np.full((width, n_buckets), np.nan), [None] * width
    if kind == "min":
        grid = np.min([st[2] for st in stats], axis=0)
    else:
        grid = np.max([st[3] for st in stats], axis=0)
    grid[np.isinf(grid)] = np.nan
    extreme = np.fmin.reduce(grid, axis=1) if kind == "min" else np.fmax.reduce(grid, axis=1)
    return grid, [None if np.isnan(t) else float(t) for t in extreme]


def _group_values(
    shards: list[PreparedShard], m: int, n_buckets: int
) -> tuple[npt.NDArray[np.int64], F64]:
    groups = []
    values = []
    for shard in shards:
        valid, numbers = shard.metric_values[m]
        buckets = shard.metric_buckets[m]
        segments = shard.segments.codes
        rows = valid & (buckets >= 0) & (segments >= 0)
        groups.append(segments[rows].astype(np.int64) * n_buckets + buckets[rows])
        values.append(numbers[rows])
    if not groups:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(groups), np.concatenate(values).astype(np.float64)


def _group_quantile(groups: npt.NDArray[np.int64], values: F64, q: float, size: int) -> F64:
    """Exact quantile per group with linear interpolation between closest ranks."""
    out = np.full(size, np.nan)
    if len(groups) == 0:
        return out
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    ends = np.r_[starts[1:], len(groups)]
    position = starts + (ends - starts - 1) * q
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, ends - 1)
    fraction = position - low
    out[groups[starts]] = values[low] + (values[high] - values[low]) * fraction
    return out


def _distinct(
    shards: list[PreparedShard], m: int, width: int, n_buckets: int
) -> tuple[F64, list[Any]]:
    remaps, _ = unify([_labels(shard.metric_values[m]) for shard in shards])
    pairs = []
    for shard, remap in zip(shards, remaps, strict=True):
        codes = np.asarray(shard.metric_values[m][0])
        buckets = shard.metric_buckets[m]
        segments = shard.segments.codes
        rows = (codes >= 0) & (buckets >= 0) & (segments >= 0)
        group = segments[rows].astype(np.int64) * n_buckets + buckets[rows]
        pairs.append(np.stack([group, remap[codes[rows]].astype(np.int64)], axis=1))
    if not pairs:
        return np.zeros((width, n_buckets)), [0] * width
    stacked = np.concatenate(pairs)
    unique = np.unique(stacked, axis=0)
    per_bucket = np.bincount(unique[:, 0], minlength=width * n_buckets).reshape(width, n_buckets)
    whole = np.unique(np.stack([unique[:, 0] // n_buckets, unique[:, 1]], axis=1), axis=0)
    totals = np.bincount(whole[:, 0], minlength=width)
    return per_bucket.astype(np.float64), [int(t) for t in totals]


def _labels(keys: Any) -> Any:
    return pa.array(keys[1], pa.string())
