"""The frame's merge of shard partials: the top-N of segments is a plain sort's, however many
segments there are, and ``$other`` takes exactly the rest."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from trackway.query.frame import other_recode, top_segments


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(0, 6), min_size=0, max_size=120),
    limit=st.integers(1, 12),
    offset=st.integers(0, 5),
)
def test_top_segments_is_a_sort_by_count_then_label(
    counts: list[int], limit: int, offset: int
) -> None:
    labels = pa.array([f"s{i:03d}"[::-1] for i in range(len(counts))], pa.string())
    ranking = np.asarray(counts, np.int64)
    shown, present = top_segments(labels, ranking, limit, offset)
    ordered = sorted(
        (i for i, c in enumerate(counts) if c > 0), key=lambda i: (-counts[i], labels[i].as_py())
    )
    assert shown.tolist() == ordered[offset : offset + limit]
    assert present == len(ordered)


def test_present_segments_need_not_rank() -> None:
    labels = pa.array(["a", "b", "c"])
    shown, present = top_segments(
        labels, np.array([0.0, 2.0, 0.0]), 3, 0, np.array([1, 1, 0], bool)
    )
    assert (shown.tolist(), present) == ([1, 0], 2)


def test_other_recode_keeps_the_shown_order_and_folds_the_rest() -> None:
    recode = other_recode(5, np.array([3, 0], np.int64))
    assert recode.tolist() == [1, 2, 2, 0, 2]
