"""Compiled kernels over one shard's rows, sorted by (user, time). numba, ``nogil``: shards run
on threads in parallel.

Rows carry a bucket (time bucket, -1 = not counted) and a segment (breakdown value, -1 = not
counted). Users are runs of equal ``users`` values; because every user lives on one shard,
per-shard unique counts add up to exact totals.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from trackway.types import F64, I32, I64


@njit(nogil=True, cache=True)
def count_and_uniques(
    users: I64, buckets: I32, segments: I32, n_segments: int, n_buckets: int
) -> tuple[I64, I64, I64]:
    """Events and distinct users per (segment, bucket), and distinct users per segment over
    all buckets."""
    counts = np.zeros((n_segments, n_buckets), np.int64)
    uniques = np.zeros((n_segments, n_buckets), np.int64)
    uniques_total = np.zeros(n_segments, np.int64)
    last = np.full((n_segments, n_buckets), -1, np.int64)
    last_total = np.full(n_segments, -1, np.int64)
    run = -1
    previous = 0
    for i in range(len(users)):
        if i == 0 or users[i] != previous:
            run += 1
            previous = users[i]
        b = buckets[i]
        s = segments[i]
        if b < 0 or s < 0:
            continue
        counts[s, b] += 1
        if last[s, b] != run:
            last[s, b] = run
            uniques[s, b] += 1
        if last_total[s] != run:
            last_total[s] = run
            uniques_total[s] += 1
    return counts, uniques, uniques_total


@njit(nogil=True, cache=True)
def segment_uniques(users: I64, segments: I32, n_segments: int) -> tuple[I64, I64]:
    """Events and distinct users per segment (no time buckets): how segments are ranked.
    ``count_and_uniques`` with one bucket answers the same, a quarter slower on a
    high-cardinality breakdown (its per-bucket and total bookkeeping), so ranking has its own."""
    counts = np.zeros(n_segments, np.int64)
    uniques = np.zeros(n_segments, np.int64)
    last = np.full(n_segments, -1, np.int64)
    run = -1
    previous = 0
    for i in range(len(users)):
        if i == 0 or users[i] != previous:
            run += 1
            previous = users[i]
        s = segments[i]
        if s < 0:
            continue
        counts[s] += 1
        if last[s] != run:
            last[s] = run
            uniques[s] += 1
    return counts, uniques


@njit(nogil=True, cache=True)
def per_user_counts(
    users: I64, buckets: I32, segments: I32, n_buckets: int
) -> tuple[I32, I32, I64]:
    """One (segment, bucket, events) triple per user and (segment, bucket) they were active in:
    the raw material of events-per-user averages, medians and distributions."""
    n = len(users)
    out_segment = np.empty(n, np.int32)
    out_bucket = np.empty(n, np.int32)
    out_count = np.empty(n, np.int64)
    found = 0
    start = 0
    while start < n:
        end = start
        while end < n and users[end] == users[start]:
            end += 1
        # A user's rows are few: count their (segment, bucket) pairs by a small scan.
        for i in range(start, end):
            if buckets[i] < 0 or segments[i] < 0:
                continue
            seen = False
            for j in range(start, i):
                if buckets[j] == buckets[i] and segments[j] == segments[i]:
                    seen = True
                    break
            if seen:
                continue
            total = 0
            for j in range(i, end):
                if buckets[j] == buckets[i] and segments[j] == segments[i]:
                    total += 1
            out_segment[found] = segments[i]
            out_bucket[found] = buckets[i]
            out_count[found] = total
            found += 1
        start = end
    return out_segment[:found], out_bucket[:found], out_count[:found]


@njit(nogil=True, cache=True)
def active_days(users: I64, days: I32, n_days: int, window: int) -> I64:
    """Per day d, distinct users active on some day in [d - window + 1, d] (DAU: window 1,
    WAU: 7, MAU: 30). ``days`` is each row's day index, -1 to skip; days may precede the range
    (negative offsets are pre-shifted by the caller)."""
    out = np.zeros(n_days, np.int64)
    n = len(users)
    start = 0
    while start < n:
        end = start
        while end < n and users[end] == users[start]:
            end += 1
        covered = -1  # last day already credited for this user
        for i in range(start, end):  # rows are in time order, so days do not decrease
            d = days[i]
            if d < 0:
                continue
            first = max(d, covered + 1)
            last = min(d + window - 1, n_days - 1)
            for k in range(first, last + 1):
                out[k] += 1
            covered = max(covered, last)
        start = end
    return out


@njit(nogil=True, cache=True)
def group_stats(
    buckets: I32,
    segments: I32,
    valid: npt.NDArray[np.bool_],
    values: F64,
    width: int,
    n_buckets: int,
) -> tuple[F64, I64, F64, F64]:
    """Sum, count, min and max of the valid values per (segment, bucket), in one pass."""
    sums = np.zeros((width, n_buckets), np.float64)
    counts = np.zeros((width, n_buckets), np.int64)
    mins = np.full((width, n_buckets), np.inf)
    maxes = np.full((width, n_buckets), -np.inf)
    for i in range(len(values)):
        b = buckets[i]
        s = segments[i]
        if b < 0 or s < 0 or not valid[i]:
            continue
        v = values[i]
        sums[s, b] += v
        counts[s, b] += 1
        mins[s, b] = min(mins[s, b], v)
        maxes[s, b] = max(maxes[s, b], v)
    return sums, counts, mins, maxes
