"""Events to typed columns and back: nothing lost, whatever the property names and types."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.storage.pipeline import canonical, event, typed
from trackway.storage.batches import events_by_row, events_to_table, transpose
from trackway.storage.columns import (
    parse_property_column,
    property_column,
    table_to_events,
)
from trackway.storage.sharding import shard_of, user_hash

SHARDS = 8
ODD_NAMES = ["a b.c=;{}", "%41", "100%", "ünï/cødé", "", "$browser", "p_x", "ps_x", "🙂"]
# The four properties held in fixed columns; a generated property must not overwrite them.
PROMOTED = {"time", "distinct_id", "$insert_id", "mp_processing_time_ms"}

names = st.one_of(st.sampled_from(ODD_NAMES), st.text(max_size=8)).filter(
    lambda n: n not in PROMOTED
)
scalars = st.one_of(
    st.text(max_size=10),
    st.integers(-(2**63), 2**64 - 1),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, -(2**63)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)


def containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        scalars, st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=3)
    )


# A property value holds lists and objects nested at most three deep (max_nesting_depth).
values = containers(containers(containers(scalars)))


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """An event with colliding users and times, so sorting has ties to break."""
    return event(
        draw(st.sampled_from(["Sign up", "Purchase", "ünï"])),
        draw(st.sampled_from(["", "u1", "u2", "o'neil", "ü"])),
        draw(st.integers(0, 3)),
        draw(st.sampled_from(["a", "b"])),
        draw(st.integers(0, 2)),
        **draw(st.dictionaries(names, values, max_size=4)),
    )


event_lists = st.lists(events(), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(event_lists)
def test_events_round_trip(batch: list[dict[str, Any]]) -> None:
    back = table_to_events(events_to_table(batch, SHARDS))
    assert sorted(map(canonical, back)) == sorted(map(canonical, batch))


@settings(max_examples=100, deadline=None)
@given(event_lists)
def test_rows_are_sorted_by_shard_user_time(batch: list[dict[str, Any]]) -> None:
    table = events_to_table(batch, SHARDS)
    shards, users, times = (table.column(c).to_pylist() for c in ("shard", "user_hash", "time"))
    keys = list(zip(shards, users, times, strict=True))
    assert keys == sorted(keys)
    for row, distinct_id in enumerate(table.column("distinct_id").to_pylist()):
        assert users[row] == user_hash(distinct_id)
        assert shards[row] == shard_of(np.array([users[row]], np.int64), SHARDS)[0]


def test_a_property_of_varying_type_keeps_every_value() -> None:
    sent = ["1", 1, 1.5, True, None, [1, "a"], {"k": [None]}, 2**63, 2**64 - 1, -(2**63)]
    batch = [event("E", "u1", i, f"i{i}", 0, v=value) for i, value in enumerate(sent)]
    table = events_to_table(batch, SHARDS)
    columns = {c for c in table.column_names if parse_property_column(c)}
    assert columns == {"ps_v", "pi_v", "pf_v", "pb_v", "pj_v"}
    back = {e["properties"]["time"]: e["properties"]["v"] for e in table_to_events(table)}
    assert [typed(back[i]) for i in range(len(sent))] == [typed(v) for v in sent]


@pytest.mark.parametrize(
    ("name", "kind", "column"),
    [
        pytest.param("plan", "s", "ps_plan", id="plain"),
        pytest.param("$browser", "s", "ps_$browser", id="dollar kept"),
        pytest.param("a.b~c-d_e", "i", "pi_a.b~c-d_e", id="safe punctuation kept"),
        pytest.param("a b.c=;{}", "f", "pf_a%20b.c%3D%3B%7B%7D", id="odd characters escaped"),
        pytest.param("100%", "b", "pb_100%25", id="percent escaped"),
        pytest.param("ü", "j", "pj_%C3%BC", id="utf-8 bytes escaped"),
        pytest.param("", "s", "ps_", id="empty name"),
    ],
)
def test_property_column_names(name: str, kind: str, column: str) -> None:
    assert property_column(name, kind) == column
    assert parse_property_column(column) == (name, kind)


@pytest.mark.parametrize("column", ["shard", "user_hash", "time", "event", "insert_id", "px_a"])
def test_fixed_columns_are_not_properties(column: str) -> None:
    assert parse_property_column(column) is None


@st.composite
def shaped_batches(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Many events of a few shapes (names in one order), as SDKs send them: the batches the
    column-at-a-time path takes. Values vary freely, so some names mix types."""
    shapes = draw(st.lists(st.lists(names, max_size=5, unique=True), min_size=1, max_size=3))
    rows = draw(st.integers(8 * len(shapes), 60))
    batch = []
    for row in range(rows):
        shape = shapes[row % len(shapes)]
        batch.append(
            event(
                draw(st.sampled_from(["Sign up", "Purchase"])),
                draw(st.sampled_from(["u1", "u2", "ü", ""])),
                draw(st.integers(0, 3)),
                f"i{row}",
                draw(st.integers(0, 2)),
                **{name: draw(st.one_of(st.sampled_from(["x", "y"]), values)) for name in shape},
            )
        )
    return batch


@settings(max_examples=150, deadline=None)
@given(shaped_batches())
def test_column_at_a_time_equals_row_by_row(batch: list[dict[str, Any]]) -> None:
    assert transpose([e["properties"] for e in batch]) is not None
    assert events_to_table(batch, SHARDS).equals(events_by_row(batch, SHARDS))
