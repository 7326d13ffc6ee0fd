"""Merging two row sequences, each sorted by (key, time), in one compiled pass."""

from __future__ import annotations

import numpy as np
from numba import njit

from trackway.types import I64


@njit(nogil=True, cache=True)
def merge_positions(a_keys: I64, a_times: I64, b_keys: I64, b_times: I64) -> I64:
    """The merged order as positions: ``i`` for row ``i`` of ``a``, ``len(a) + j`` for row
    ``j`` of ``b``. On equal (key, time) the rows of ``a`` come first."""
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
