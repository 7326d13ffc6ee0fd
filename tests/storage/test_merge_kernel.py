"""Merging sorted rows: both ways (binary search for a few rows, the compiled pass for many)
against a stable sort of the concatenation."""

from __future__ import annotations

import numpy as np
import pytest

from trackway.storage import merge_kernel
from trackway.storage.merge_kernel import merge_positions


def sorted_rows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    keys = rng.integers(-5, 5, n).astype(np.int64)
    times = rng.integers(0, 4, n).astype(np.int64)
    order = np.lexsort((times, keys))
    return keys[order], times[order]


@pytest.mark.parametrize("few", [0, 10_000], ids=["compiled", "binary search"])
def test_merge_equals_a_stable_sort(monkeypatch: pytest.MonkeyPatch, few: int) -> None:
    monkeypatch.setattr(merge_kernel, "_FEW", few)
    rng = np.random.default_rng(3)
    for na, nb in [(0, 0), (0, 5), (5, 0), (1, 1), (50, 3), (3, 50), (400, 400)]:
        a_keys, a_times = sorted_rows(rng, na)
        b_keys, b_times = sorted_rows(rng, nb)
        keys = np.concatenate((a_keys, b_keys))
        times = np.concatenate((a_times, b_times))
        # A stable sort keeps a's rows (first in the concatenation) before b's on ties.
        expected = np.lexsort((times, keys))
        got = merge_positions(a_keys, a_times, b_keys, b_times)
        assert got.tolist() == expected.tolist()
