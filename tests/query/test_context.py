"""``member_mask`` (a row's user in a cohort) equals numpy's ``isin`` on any rows, grouped
by user or not."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from trackway.query.context import member_mask

USERS = st.lists(st.integers(-5, 5), max_size=40)


@given(users=USERS, members=st.sets(st.integers(-5, 5)), grouped=st.booleans())
def test_member_mask_is_isin(users: list[int], members: set[int], grouped: bool) -> None:
    rows = np.array(sorted(users) if grouped else users, np.int64)
    sorted_members = np.array(sorted(members), np.int64)
    assert member_mask(rows, sorted_members).tolist() == np.isin(rows, sorted_members).tolist()
