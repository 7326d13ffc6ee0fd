"""Merging two row sequences, each sorted by (key, time): a few rows into many by binary
search (no compiled code to load: a fresh process's first query often merges a handful of
rows, and no copy of the many), many into many in one compiled pass."""

from __future__ import annotations

import numpy as np
from numba import njit

from trackway.types import I64

# Up to this many rows merged in by binary search; more in the compiled pass.
_FEW = 8192


def merge_positions(a_keys: I64, a_times: I64, b_keys: I64, b_times: I64) -> I64:
    """The merged order as positions: ``i`` for row ``i`` of ``a``, ``len(a) + j`` for row
    ``j`` of ``b``. On equal (key, time) the rows of ``a`` come first."""
    na, nb = len(a_keys), len(b_keys)
    if nb > _FEW:
        return _merge_all(a_keys, a_times, b_keys, b_times)
    # Each b row goes after the a rows of smaller keys, and after those of its own key (a
    # short run, in time order) whose time is not later than its own.
    low = np.searchsorted(a_keys, b_keys, side="left")
    high = np.searchsorted(a_keys, b_keys, side="right")
    at = low.copy()
    for j in np.flatnonzero(high > low).tolist():
        start, end = int(low[j]), int(high[j])
        at[j] = start + int(np.searchsorted(a_times[start:end], b_times[j], side="right"))
    return np.insert(np.arange(na, dtype=np.int64), at, np.arange(na, na + nb, dtype=np.int64))


@njit(nogil=True, cache=True)
def _merge_all(a_keys: I64, a_times: I64, b_keys: I64, b_times: I64) -> I64:
    na, nb = len(a_keys), len(b_keys)
    out = np.empty(na + nb, np.int64)
    i = j = k = 0
    while i < na and j < nb:
        if b_keys[j] < a_keys[i] or (b_keys[j] == a_keys[i] and b_times[j] < a_times[i]):
            out[k] = na + j
            j += 1
        else:
            out[k] = i
            i += 1
        k += 1
    while i < na:
        out[k] = i
        i += 1
        k += 1
    while j < nb:
        out[k] = na + j
        j += 1
        k += 1
    return out
