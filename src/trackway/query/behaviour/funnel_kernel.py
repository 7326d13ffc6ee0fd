"""The funnel kernel: every attempt of every user of one shard, in one compiled pass.

Rows come compacted to those the funnel can use, in the tie order of docs/behaviour.md; row
numbers in the output are positions in these arrays. Per row: ``steps`` has bit k set when the row matches step k (0-based),
``excluded`` bit x when it matches exclusion x, ``hold`` is the key of its held properties.
Times are the grace-adjusted times. One record comes out per counted attempt.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trackway.types import I32, I64, U64

LOOSE, STRICT, ANY = 0, 1, 2
UNIQUES, FIRST, TOTALS, SESSIONS = 0, 1, 2, 3
FIRST_TOUCH, LAST_TOUCH = -1, -2
NO_LIMIT = 2**62


@njit(nogil=True, cache=True, inline="always")
def _bit(mask: np.uint64, k: int) -> bool:
    return bool((mask >> np.uint64(k)) & np.uint64(1) != 0)


@njit(nogil=True, cache=True)
def _lowest(mask: np.uint64) -> int:
    k = 0
    while not _bit(mask, k):
        k += 1
    return k


@njit(nogil=True, cache=True, inline="always")
def _attempt(
    s: int,
    stop: int,
    times: I64,
    steps: U64,
    hold: I64,
    mode: int,
    n_steps: int,
    window: int,
    min_gap: I64,
    max_gap: I64,
    gaps: bool,
    groups: U64,
    step_time: I64,
    step_row: I64,
    buf: I64,
    count: I64,
    low: I64,
) -> tuple[int, int, int]:
    """One attempt starting at position ``s``; positions before ``stop`` are the user's (or
    session's). Fills the first-reach time and row per step; returns the steps reached and
    where the next attempt may start under TOTALS: a position and a time it must pass."""
    row = s
    t0 = times[row]
    key = hold[row]
    end_time = t0 + window
    step_time[0] = t0
    step_row[0] = row
    reached = 1
    done = np.uint64(0)
    group = 0
    if mode == ANY:
        done = np.uint64(1) << np.uint64(_lowest(steps[row] & groups[0]))
        if done == groups[0]:
            group = 1
    if gaps:
        count[:n_steps] = 0
        low[:n_steps] = 0
        buf[0, 0] = t0
        count[0] = 1
    i = s + 1
    while i < stop and reached < n_steps:
        row = i
        t = times[row]
        if t > end_time:
            break
        same = hold[row] == key
        m = steps[row]
        if mode == STRICT:
            gap = t - step_time[reached - 1]
            if not (same and _bit(m, reached) and min_gap[reached] <= gap <= max_gap[reached]):
                return reached, i, -NO_LIMIT
            step_time[reached] = t
            step_row[reached] = row
            reached += 1
        elif not same:
            pass
        elif mode == ANY:
            open_steps = m & groups[group] & ~done
            if open_steps != 0:
                done |= np.uint64(1) << np.uint64(_lowest(open_steps))
                step_time[reached] = t
                step_row[reached] = row
                reached += 1
                if done & groups[group] == groups[group]:
                    group += 1
        elif not gaps:
            if _bit(m, reached):
                step_time[reached] = t
                step_row[reached] = row
                reached += 1
        else:
            # Later steps first, so one event never serves two consecutive steps.
            for k in range(min(reached, n_steps - 1), 0, -1):
                if not _bit(m, k):
                    continue
                lo = low[k - 1]
                while lo < count[k - 1] and buf[k - 1, lo] < t - max_gap[k]:
                    lo += 1
                low[k - 1] = lo
                if lo < count[k - 1] and buf[k - 1, lo] <= t - min_gap[k]:
                    buf[k, count[k]] = t
                    count[k] += 1
                    if count[k] == 1:
                        step_time[k] = t
                        step_row[k] = row
                        reached = max(reached, k + 1)
        i += 1
    if reached == n_steps:
        return reached, i, -NO_LIMIT
    return reached, s + 1, end_time


@njit(nogil=True, cache=True, inline="always")
def _greedy(
    s: int,
    stop: int,
    times: I64,
    steps: U64,
    n_steps: int,
    window: int,
    next_row: I64,
    step_time: I64,
    step_row: I64,
) -> int:
    """The attempt starting at position ``s`` in loose order without gaps, exclusions or
    held properties: each step's event is the first after the previous step's that matches
    it. Returns the steps reached. ``next_row[k]`` is where the search for step k resumes:
    a later start never has an earlier event for any step, so over all the attempts of a
    unit each step's search walks the unit's rows once."""
    step_time[0] = times[s]
    step_row[0] = s
    limit = times[s] + window
    reached = 1
    previous = s
    while reached < n_steps:
        i = max(next_row[reached], previous + 1)
        while i < stop and not _bit(steps[i], reached):
            i += 1
        next_row[reached] = i
        if i == stop or times[i] > limit:
            break
        step_time[reached] = times[i]
        step_row[reached] = i
        previous = i
        reached += 1
    return reached


@njit(nogil=True, cache=True)
def _disqualified(
    s: int,
    stop: int,
    times: I64,
    excluded: U64,
    after: I32,
    before: I32,
    reached: int,
    window: int,
    step_time: I64,
) -> bool:
    """Whether an exclusion event falls strictly between the attempt's ``after`` and
    ``before`` steps (or after ``after`` and within the window if it never got further)."""
    for x in range(len(after)):
        a = after[x]
        b = before[x]
        if reached <= a:
            continue
        low = step_time[a]
        high = step_time[b] if reached > b else step_time[0] + window + 1
        for i in range(s + 1, stop):
            row = i
            t = times[row]
            if t >= high:
                break
            if t > low and _bit(excluded[row], x):
                return True
    return False


@njit(nogil=True, cache=True)
def funnel_records(
    users: I64,
    times: I64,
    steps: U64,
    excluded: U64,
    hold: I64,
    after: I32,
    before: I32,
    mode: int,
    counting: int,
    n_steps: int,
    window: int,
    min_gap: I64,
    max_gap: I64,
    groups: U64,
    edges: I64,
    session_gap: int,
    attribution: int,
    sums: I64,
) -> tuple[I64, I64]:
    """Per counted attempt (start row, steps reached, attribution row, period), and per
    step it reached after the first (step, time since the previous step, time since the
    start). Attempts start in [``edges[0]``, ``edges[-1]``); each period [``edges[p]``,
    ``edges[p + 1]``) is a funnel of its own: its attempts are counted as if the range were
    that period alone (a unit counts once per period it starts in, and the attempts of
    ``totals`` begin again at each period's first start). With ``sums`` (period, step,
    2), needed for more than one period, the times add up there instead (since the
    previous step, since the start): attempts of several periods may share events."""
    n = len(users)
    many = len(edges) > 2
    if many and len(sums) != len(edges) - 1:
        raise ValueError("Expected `sums` with a row per period")
    start_mask = groups[0] if mode == ANY else np.uint64(1)
    capacity = 0
    for i in range(n):
        if steps[i] & start_mask != 0:
            capacity += 1
    records = np.empty((capacity, 4), np.int64)
    # Each reached step uses its own event and counted attempts share none.
    times_out = np.empty((0 if len(sums) else n, 3), np.int64)
    gaps = bool(mode == LOOSE and (np.any(min_gap > 0) or np.any(max_gap < NO_LIMIT)))
    longest = 1
    if gaps:
        run = 0
        for i in range(n):
            run = run + 1 if i > 0 and users[i] == users[i - 1] else 1
            longest = max(longest, run)
    buf = np.empty((n_steps if gaps else 1, longest), np.int64)
    count = np.zeros(n_steps, np.int64)
    low = np.zeros(n_steps, np.int64)
    step_time = np.zeros(n_steps, np.int64)
    step_row = np.zeros(n_steps, np.int64)
    best_time = np.zeros(n_steps, np.int64)
    best_row = np.zeros(n_steps, np.int64)
    next_row = np.zeros(n_steps, np.int64)
    table, quantum = _period_index(edges)
    one_pass = mode == LOOSE and not gaps and len(after) == 0 and not np.any(hold != 0)
    one_pass = one_pass and counting in (UNIQUES, SESSIONS)
    out = 0
    out_time = 0
    unit_start = 0
    while unit_start < n:
        # A unit is a user, or under SESSIONS one session of a user.
        unit_end = unit_start + 1
        while unit_end < n:
            if users[unit_end] != users[unit_end - 1]:
                break
            if counting == SESSIONS and times[unit_end] - times[unit_end - 1] > session_gap:
                break
            unit_end += 1
        # The unit's rows are in time order: each period's starts are one run of them.
        lo = unit_start
        while lo < unit_end and times[lo] < edges[0]:
            lo += 1
        if one_pass:
            # One walk over the unit: each period's earliest attempt reaching its furthest
            # step, each step's event found by the pointers of ``_greedy``.
            next_row[:n_steps] = lo
            best = 0
            period = 0
            period_end = edges[0]
            for s in range(lo, unit_end):
                t = times[s]
                if t >= period_end:
                    if best > 0:
                        out, out_time = _emit(
                            out,
                            best,
                            best_time,
                            best_row,
                            attribution,
                            period,
                            records,
                            out_time,
                            times_out,
                            sums,
                        )
                        best = 0
                    if t >= edges[-1]:
                        break
                    period = _period_of(edges, table, quantum, t)
                    period_end = edges[period + 1]
                if best == n_steps and not many:
                    break
                if best == n_steps or steps[s] & start_mask == 0:
                    continue
                reached = _greedy(
                    s, unit_end, times, steps, n_steps, window, next_row, step_time, step_row
                )
                if reached > best:
                    best = reached
                    for k in range(reached):
                        best_time[k] = step_time[k]
                        best_row[k] = step_row[k]
            if best > 0:
                out, out_time = _emit(
                    out,
                    best,
                    best_time,
                    best_row,
                    attribution,
                    period,
                    records,
                    out_time,
                    times_out,
                    sums,
                )
            unit_start = unit_end
            continue
        while lo < unit_end and times[lo] < edges[-1]:
            period = _period_of(edges, table, quantum, times[lo])
            period_end = edges[period + 1]
            # The period's attempts: under TOTALS every one not disqualified counts, else
            # the earliest that reaches the furthest step (FIRST: the first).
            best = 0
            best_start = -1
            next_position = lo
            next_time = -NO_LIMIT
            s = lo
            while s < unit_end and times[s] < period_end:
                t = times[s]
                if s < next_position or t <= next_time or steps[s] & start_mask == 0:
                    s += 1
                    continue
                reached, next_position, next_time = _attempt(
                    s,
                    unit_end,
                    times,
                    steps,
                    hold,
                    mode,
                    n_steps,
                    window,
                    min_gap,
                    max_gap,
                    gaps,
                    groups,
                    step_time,
                    step_row,
                    buf,
                    count,
                    low,
                )
                if len(after) and _disqualified(
                    s, unit_end, times, excluded, after, before, reached, window, step_time
                ):
                    reached = 0
                s += 1
                if counting == TOTALS:
                    if reached > 0:
                        out, out_time = _emit(
                            out,
                            reached,
                            step_time,
                            step_row,
                            attribution,
                            period,
                            records,
                            out_time,
                            times_out,
                            sums,
                        )
                    continue
                next_position, next_time = lo, -NO_LIMIT
                if reached > best:
                    best = reached
                    best_start = s - 1
                    for k in range(reached):
                        best_time[k] = step_time[k]
                        best_row[k] = step_row[k]
                if counting == FIRST or best == n_steps:
                    break
            if best > 0 and best_start >= 0:
                out, out_time = _emit(
                    out,
                    best,
                    best_time,
                    best_row,
                    attribution,
                    period,
                    records,
                    out_time,
                    times_out,
                    sums,
                )
            # On to the unit's first row in a later period.
            if not many:
                s = unit_end
            while s < unit_end and times[s] < period_end:
                s += 1
            lo = s
        unit_start = unit_end
    return records[:out], times_out[:out_time]


@njit(nogil=True, cache=True)
def _period_index(edges: I64) -> tuple[I64, int]:
    """A table to find a time's period in a step or two: slots of the shortest period
    between the first and the last (those two may be cut short), each with the period its
    start is in."""
    size = len(edges) - 1
    quantum = edges[-1] - edges[0]
    for p in range(1, size - 1):
        quantum = min(quantum, edges[p + 1] - edges[p])
    slots = (edges[-1] - edges[0]) // quantum + 1 if size > 2 else 0
    table = np.zeros(slots, np.int64)
    period = 1
    for i in range(slots):
        while period < size - 1 and edges[period + 1] <= edges[1] + i * quantum:
            period += 1
        table[i] = period
    return table, quantum


@njit(nogil=True, cache=True, inline="always")
def _period_of(edges: I64, table: I64, quantum: int, t: int) -> int:
    """The period of time ``t`` (in the range)."""
    if t < edges[1]:
        return 0
    if t >= edges[-2]:
        return len(edges) - 2
    period = int(table[(t - edges[1]) // quantum])
    while t >= edges[period + 1]:
        period += 1
    return period


@njit(nogil=True, cache=True, inline="always")
def _emit(
    out: int,
    reached: int,
    step_time: I64,
    step_row: I64,
    attribution: int,
    period: int,
    records: I64,
    out_time: int,
    times_out: I64,
    sums: I64,
) -> tuple[int, int]:
    """Writes one record (start row, steps reached, attribution row, period) and, per
    reached step after the first, (step, time since the previous step, time since the
    start), or adds those times to the period's ``sums``."""
    records[out, 0] = step_row[0]
    records[out, 1] = reached
    if attribution == FIRST_TOUCH:
        records[out, 2] = step_row[0]
    elif attribution == LAST_TOUCH:
        records[out, 2] = step_row[reached - 1]
    else:
        records[out, 2] = step_row[min(attribution, reached - 1)]
    records[out, 3] = period
    if len(sums):
        for k in range(1, reached):
            sums[period, k, 0] += step_time[k] - step_time[k - 1]
            sums[period, k, 1] += step_time[k] - step_time[0]
        return out + 1, out_time
    for k in range(1, reached):
        times_out[out_time, 0] = k
        times_out[out_time, 1] = step_time[k] - step_time[k - 1]
        times_out[out_time, 2] = step_time[k] - step_time[0]
        out_time += 1
    return out + 1, out_time
