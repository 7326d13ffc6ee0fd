"""Compiled kernels of the period reports (retention, frequency, lifecycle) over one shard's
rows, sorted by (user, time). numba, ``nogil``: shards run on threads in parallel, and since
every user lives on one shard the shards' counts add up to exact totals.

A row's period is found from ``edges`` (UTC milliseconds of local period starts, as
``timebuckets`` makes them) by binary search; a user's rows come in time order, so the
search runs only when a row leaves the previous row's period.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trackway.types import BOOL, F64, I32, I64

# Rows of the lifecycle counts.
NEW, RETURNING, RESURRECTING, DORMANT = 0, 1, 2, 3


@njit(nogil=True, cache=True)
def _first_at_least(a: I64, lo: int, hi: int, bound: int) -> int:
    """The first index in [lo, hi) of ascending ``a`` holding at least ``bound`` (hi if none),
    searched outward from lo: a few steps when it is near."""
    if lo >= hi or a[lo] >= bound:
        return lo
    below = lo  # a[below] < bound throughout
    step = 1
    while below + step < hi and a[below + step] < bound:
        below += step
        step *= 2
    top = min(below + step, hi)
    return below + 1 + int(np.searchsorted(a[below + 1 : top], bound))


@njit(nogil=True, cache=True)
def retention_entries(
    users: I64,
    times: I64,
    born: BOOL,
    returning: BOOL,
    edges: I64,
    n_cohorts: int,
    range_start: int,
    range_end: int,
    rolling_ms: int,
    recurring: bool,
    slot_of: I32,
    open_end: bool,
    unbounded: bool,
    min_returns: int,
    valid: BOOL,
    values: F64,
    n_slots: int,
) -> tuple[I64, I64, F64, I64]:
    """Cohort sizes, and per (cohort, slot) the entries counted there, the sum of the measured
    values of their return events and how many of those held a number.

    Births in [range_start, range_end) make entries (first_time: a user's first born row
    only); cohort c is [edges[c], edges[c + 1]). A return's period is its calendar period of
    ``edges`` minus the birth's (``rolling_ms`` = 0), or whole ``rolling_ms`` since the birth.
    ``slot_of`` maps a period to its reported slot (-1: none); periods past it keep their
    number when ``open_end`` and end the entry otherwise. An entry's returns form runs of one
    slot. Unbounded: an entry counts in its highest slot holding a run of ``min_returns``
    (capped at the last slot) and each run's values land in min(run slot, that slot); the
    caller turns both into totals over the later slots."""
    n = len(users)
    n_edges = len(edges)
    measured = len(values) > 0
    sizes = np.zeros(n_cohorts, np.int64)
    counts = np.zeros((n_cohorts, n_slots), np.int64)
    sums = np.zeros((n_cohorts, n_slots), np.float64)
    nums = np.zeros((n_cohorts, n_slots), np.int64)
    run_slot = np.empty(16, np.int64)
    run_events = np.empty(16, np.int64)
    run_sum = np.empty(16, np.float64)
    run_num = np.empty(16, np.int64)
    start = 0
    while start < n:
        end = start + 1
        while end < n and users[end] == users[start]:
            end += 1
        if end - start > len(run_slot):  # an entry has at most one run per row
            run_slot = np.empty(end - start, np.int64)
            run_events = np.empty(end - start, np.int64)
            run_sum = np.empty(end - start, np.float64)
            run_num = np.empty(end - start, np.int64)
        last_cohort = -1
        for j in range(start, end):
            if not born[j]:
                continue
            birth = times[j]
            if birth < range_start or birth >= range_end:
                if recurring:
                    continue
                break  # first_time: the first birth is outside the range
            cohort = np.searchsorted(edges, birth, side="right") - 1
            if cohort == last_cohort:
                continue  # recurring: one entry per period, born at its first event
            last_cohort = cohort
            sizes[cohort] += 1
            runs = 0
            top = -1  # the highest slot a run of min_returns reached
            period = cohort  # calendar period of the latest return
            k = j
            while k + 1 < end:
                k += 1
                t = times[k]
                if not returning[k] or t <= birth:
                    continue
                if rolling_ms > 0:
                    p = (t - birth) // rolling_ms
                else:
                    if period + 1 < n_edges and t >= edges[period + 1]:
                        # Past the last edge: one period after the grid, all together.
                        period = np.searchsorted(edges, t, side="right") - 1
                    p = period - cohort
                if p < len(slot_of):
                    slot = slot_of[p]
                    if slot < 0:
                        continue
                elif open_end:
                    slot = p
                else:
                    break
                if slot >= n_slots and not unbounded:
                    break
                if runs == 0 or run_slot[runs - 1] != slot:
                    run_slot[runs] = slot
                    run_events[runs] = 0
                    run_sum[runs] = 0.0
                    run_num[runs] = 0
                    runs += 1
                run_events[runs - 1] += 1
                if measured:
                    if valid[k]:
                        run_sum[runs - 1] += values[k]
                        run_num[runs - 1] += 1
                elif run_events[runs - 1] >= min_returns:
                    # Counted in this period: its other events change nothing, so skip them
                    # (a heavy user's entry then costs its periods, not its events).
                    top = slot
                    if unbounded and top >= n_slots - 1:
                        break  # counted in every slot
                    if rolling_ms > 0:
                        k = _first_at_least(times, k + 1, end, birth + (p + 1) * rolling_ms) - 1
                    elif period + 1 < n_edges:
                        k = _first_at_least(times, k + 1, end, edges[period + 1]) - 1
                    else:
                        break
            if measured:
                for r in range(runs):  # slots ascend: the last qualifying run is the top
                    if run_events[r] >= min_returns:
                        top = run_slot[r]
            if unbounded:
                if top >= 0:
                    top = min(top, n_slots - 1)
                    counts[cohort, top] += 1
                    for r in range(runs):
                        s = min(run_slot[r], top)
                        sums[cohort, s] += run_sum[r]
                        nums[cohort, s] += run_num[r]
            else:
                for r in range(runs):
                    if run_events[r] >= min_returns:
                        s = run_slot[r]
                        counts[cohort, s] += 1
                        sums[cohort, s] += run_sum[r]
                        nums[cohort, s] += run_num[r]
            if not recurring:
                break
        start = end
    return sizes, counts, sums, nums


@njit(nogil=True, cache=True)
def frequency_counts(
    users: I64,
    times: I64,
    active: BOOL,
    sub_edges: I64,
    period_of_sub: I32,
    n_periods: int,
    width: int,
) -> I64:
    """Per period and k, the users active in exactly k of the period's sub-periods (hours or
    days): ``out[p, k - 1]``. Sub-period s is [sub_edges[s], sub_edges[s + 1]); ``width`` is
    the most sub-periods a period holds."""
    n = len(users)
    out = np.zeros((n_periods, width), np.int64)
    first, stop = sub_edges[0], sub_edges[-1]
    start = 0
    while start < n:
        end = start + 1
        while end < n and users[end] == users[start]:
            end += 1
        current = -1
        active_subs = 0
        sub = -1
        for i in range(start, end):
            t = times[i]
            if not active[i] or t < first or t >= stop:
                continue
            if sub >= 0 and t < sub_edges[sub + 1]:
                continue  # the same sub-period as the previous active row
            sub = np.searchsorted(sub_edges, t, side="right") - 1
            p = period_of_sub[sub]
            if p != current:
                if current >= 0:
                    out[current, active_subs - 1] += 1
                current = p
                active_subs = 0
            active_subs += 1
        if current >= 0:
            out[current, active_subs - 1] += 1
        start = end
    return out


@njit(nogil=True, cache=True)
def lifecycle_counts(users: I64, times: I64, active: BOOL, edges: I64, previous_start: int) -> I64:
    """Per period [edges[p], edges[p + 1]): users new, returning, resurrecting and dormant
    (rows NEW .. DORMANT). [previous_start, edges[0]) is the period before the first;
    activity at any earlier time counts only as "before"."""
    n = len(users)
    n_periods = len(edges) - 1
    out = np.zeros((4, n_periods), np.int64)
    first, stop = edges[0], edges[-1]
    start = 0
    while start < n:
        end = start + 1
        while end < n and users[end] == users[start]:
            end += 1
        seen = False  # active at some time before the current row's period
        last = -2  # the latest active period; -1 is the one before the range
        for i in range(start, end):
            t = times[i]
            if not active[i] or t >= stop:
                continue
            if t >= first:
                if last >= 0 and t < edges[last + 1]:
                    continue  # the same period as the previous active row
                q = np.searchsorted(edges, t, side="right") - 1
            elif t >= previous_start:
                q = -1
            else:
                seen = True
                continue
            if q == last:
                continue
            if q >= 0:
                if last == q - 1:
                    out[RETURNING, q] += 1
                elif seen:
                    out[RESURRECTING, q] += 1
                else:
                    out[NEW, q] += 1
            if last >= -1 and last + 1 < q:
                out[DORMANT, last + 1] += 1
            seen = True
            last = q
        if last >= -1 and last + 1 < n_periods:
            out[DORMANT, last + 1] += 1
        start = end
    return out
