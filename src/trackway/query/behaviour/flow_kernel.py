"""The flows kernel: the path of events after (or before) each counted anchor event of one
shard, as event-name codes.

Rows arrive sorted by (user, time). Only the anchors are visited: from each, the walk goes
row by row, and a run of rows with equal (user, time) is put in the tie order of
docs/behaviour.md (by event name) when the walk enters it, so no order of the whole shard is
ever built.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from trackway.types import BOOL, I32, I64

NONE = -1  # no event at this step


@njit(nogil=True, cache=True, inline="always")
def _run(users: I64, times: I64, row: int) -> tuple[int, int]:
    """The rows [first, end) with the same user and time as ``row``."""
    first = row
    while first > 0 and users[first - 1] == users[row] and times[first - 1] == times[row]:
        first -= 1
    end = row + 1
    while end < len(users) and users[end] == users[row] and times[end] == times[row]:
        end += 1
    return first, end


@njit(nogil=True, cache=True, inline="always")
def _sorted_run(first: int, end: int, codes: I32, ranks: I32, buf: I64) -> int:
    """The run's rows into ``buf`` in tie order (stable by name rank); returns its length."""
    size = end - first
    for a in range(size):
        row = first + a
        b = a - 1
        while b >= 0 and ranks[codes[buf[b]]] > ranks[codes[row]]:
            buf[b + 1] = buf[b]
            b -= 1
        buf[b + 1] = row
    return size


@njit(nogil=True, cache=True)
def flow_paths(
    users: I64,
    times: I64,
    codes: I32,
    ranks: I32,
    base: BOOL,
    anchors: I64,
    end: BOOL,
    hidden: BOOL,
    window: int,
    steps: int,
    before: bool,
    totals: bool,
    collapse: bool,
    use_end: bool,
) -> tuple[I64, I32]:
    """Per counted path: its anchor row, and the codes of its events (NONE past its end).
    ``anchors`` are the rows of the anchor events in the date range, ascending; ``ranks``
    and ``hidden`` are per event-name code; ``base`` and ``end`` per row, or empty when
    every row passes the filter and no end is asked for."""
    paths = np.full((len(anchors), steps), NONE, np.int32)
    kept = np.empty(len(anchors), np.int64)
    buf = np.empty(64, np.int64)
    out = 0
    for a in range(len(anchors)):
        row = anchors[a]
        if not totals:
            # Under uniques only the user's first anchor, in the tie order, counts.
            if a > 0 and users[anchors[a - 1]] == users[row]:
                continue
            b = a + 1
            while b < len(anchors) and users[anchors[b]] == users[row]:
                if times[anchors[b]] == times[row] and ranks[codes[anchors[b]]] < ranks[codes[row]]:
                    row = anchors[b]
                b += 1
        t0 = times[row]
        first, stop = _run(users, times, row)
        if stop - first > len(buf):
            buf = np.empty(2 * (stop - first), np.int64)
        size = _sorted_run(first, stop, codes, ranks, buf)
        position = 0
        while buf[position] != row:
            position += 1
        length = 0
        last = codes[row]
        reached_end = False
        while length < steps:
            position += -1 if before else 1
            if position < 0 or position >= size:
                # Into the previous or next run of equal times.
                step_row = first - 1 if before else stop
                if step_row < 0 or step_row >= len(users) or users[step_row] != users[row]:
                    break
                if (times[step_row] < t0 - window) if before else (times[step_row] > t0 + window):
                    break
                first, stop = _run(users, times, step_row)
                if stop - first > len(buf):
                    buf = np.empty(2 * (stop - first), np.int64)
                size = _sorted_run(first, stop, codes, ranks, buf)
                position = size - 1 if before else 0
            here = buf[position]
            code = codes[here]
            if (len(base) and not base[here]) or hidden[code] or (collapse and code == last):
                continue
            last = code
            paths[out, length] = last
            length += 1
            if use_end and end[here]:
                reached_end = True
                break
        if use_end and not reached_end:
            paths[out, :] = NONE
        else:
            kept[out] = row
            out += 1
    return kept[:out], paths[:out]
