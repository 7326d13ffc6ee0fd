"""The flows kernel: the path of events after (or before) each counted anchor event of one
shard, as event-name codes; rows visited in the tie order of docs/behaviour.md."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
NONE = -1  # no event at this step


@njit(nogil=True, cache=True)
def flow_paths(
    order: I64,
    users: I64,
    times: I64,
    codes: I32,
    anchor: BOOL,
    end: BOOL,
    hidden: BOOL,
    range_start: int,
    range_end: int,
    window: int,
    steps: int,
    before: bool,
    totals: bool,
    collapse: bool,
    use_end: bool,
) -> tuple[I64, I32]:
    """Per counted path: its anchor row, and the codes of its events (NONE past its end)."""
    n = len(order)
    capacity = 0
    for i in range(n):
        capacity += anchor[order[i]]
    anchors = np.empty(capacity, np.int64)
    paths = np.full((capacity, steps), NONE, np.int32)
    out = 0
    user_start = 0
    while user_start < n:
        user_end = user_start + 1
        while user_end < n and users[order[user_end]] == users[order[user_start]]:
            user_end += 1
        for a in range(user_start, user_end):
            row = order[a]
            t0 = times[row]
            if not anchor[row] or t0 < range_start or t0 >= range_end:
                continue
            length = 0
            last = codes[row]
            reached_end = False
            step = -1 if before else 1
            i = a + step
            while user_start <= i < user_end and length < steps:
                here = order[i]
                if (times[here] < t0 - window) if before else (times[here] > t0 + window):
                    break
                i += step
                if hidden[here] or (collapse and codes[here] == last):
                    continue
                last = codes[here]
                paths[out, length] = last
                length += 1
                if use_end and end[here]:
                    reached_end = True
                    break
            if use_end and not reached_end:
                paths[out, :] = NONE
            else:
                anchors[out] = row
                out += 1
            if not totals:
                break
        user_start = user_end
    return anchors[:out], paths[:out]
