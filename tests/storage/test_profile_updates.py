"""Profile operations: golden cases per operation, then random update streams against the
reference in profile_model.py."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.storage import profile_model
from tests.storage.pipeline import profile_update, typed
from trackway.storage.profile_updates import apply_update


def update(at: int = 100, ignore_time: bool = False, **ops: Any) -> dict[str, Any]:
    return profile_update("u1", at, ignore_time, **ops)


def profile(props: dict[str, Any], created: int = 10, last_seen: int = 50) -> dict[str, Any]:
    return {"properties": props, "created_ms": created, "last_seen_ms": last_seen}


GOLDEN = [
    pytest.param(None, update(set={"a": 1}), profile({"a": 1}, 100, 100), id="$set creates"),
    pytest.param(profile({"a": 1}), update(set={"a": "x"}), profile({"a": "x"}, 10, 100), id="$set overwrites"),
    pytest.param(None, update(set_once={"a": 1}), profile({"a": 1}, 100, 100), id="$set_once creates"),
    pytest.param(profile({"a": 1}), update(set_once={"a": 2, "b": 3}), profile({"a": 1, "b": 3}, 10, 100), id="$set_once keeps what is there"),
    pytest.param(profile({"a": None}), update(set_once={"a": 2}), profile({"a": None}, 10, 100), id="$set_once keeps an explicit null"),
    pytest.param(None, update(add={"n": 2}), profile({"n": 2}, 100, 100), id="$add creates from 0"),
    pytest.param(profile({"n": 2}), update(add={"n": -5}), profile({"n": -3}, 10, 100), id="$add adds"),
    pytest.param(profile({"n": 2}), update(add={"n": 0.5}), profile({"n": 2.5}, 10, 100), id="$add int and float"),
    pytest.param(profile({"n": "2"}), update(add={"n": 1}), profile({"n": "2"}, 10, 100), id="$add to a string is ignored"),
    pytest.param(profile({"n": True}), update(add={"n": 1}), profile({"n": True}, 10, 100), id="$add to a boolean is ignored"),
    pytest.param(None, update(append={"l": "x"}), profile({"l": ["x"]}, 100, 100), id="$append creates a list"),
    pytest.param(profile({"l": ["x"]}), update(append={"l": "x"}), profile({"l": ["x", "x"]}, 10, 100), id="$append keeps duplicates"),
    pytest.param(profile({"l": "x"}), update(append={"l": "y"}), profile({"l": "x"}, 10, 100), id="$append to a non-list is ignored"),
    pytest.param(profile({"l": ["a"]}), update(append={"l": ["b"]}), profile({"l": ["a", ["b"]]}, 10, 100), id="$append a list appends one item"),
    pytest.param(None, update(union={"l": ["a", "a", "b"]}), profile({"l": ["a", "b"]}, 100, 100), id="$union creates without duplicates"),
    pytest.param(profile({"l": ["b", "c"]}), update(union={"l": ["a", "b"]}), profile({"l": ["b", "c", "a"]}, 10, 100), id="$union adds only new values"),
    pytest.param(profile({"l": 3}), update(union={"l": ["a"]}), profile({"l": 3}, 10, 100), id="$union onto a non-list is ignored"),
    pytest.param(profile({"l": [1]}), update(union={"l": [True]}), profile({"l": [1, True]}, 10, 100), id="$union keeps true next to 1"),
    pytest.param(profile({"l": [0, "0"]}), update(union={"l": [False, None]}), profile({"l": [0, "0", False, None]}, 10, 100), id="$union keeps false next to 0"),
    pytest.param(profile({"l": ["a", "b", "a"]}), update(remove={"l": "a"}), profile({"l": ["b"]}, 10, 100), id="$remove every occurrence"),
    pytest.param(profile({"l": [1, True]}), update(remove={"l": True}), profile({"l": [1]}, 10, 100), id="$remove true leaves 1"),
    pytest.param(profile({"l": "a"}), update(remove={"l": "a"}), profile({"l": "a"}, 10, 100), id="$remove from a non-list is ignored"),
    pytest.param(None, update(remove={"l": "a"}), None, id="$remove does not create"),
    pytest.param(profile({"a": 1, "b": 2}), update(unset=["a", "zz"]), profile({"b": 2}, 10, 100), id="$unset"),
    pytest.param(None, update(unset=["a"]), None, id="$unset does not create"),
    pytest.param(profile({"a": 1}), update(delete=""), None, id="$delete"),
    pytest.param(profile({"a": 1}), update(delete="", set={"b": 2}), profile({"b": 2}, 100, 100), id="$delete then $set makes a new profile"),
    pytest.param(None, update(set={"a": 1}, add={"a": 2}), profile({"a": 3}, 100, 100), id="operations in listed order: $set, $add"),
    pytest.param(None, update(add={"a": 2}, set={"a": 1}), profile({"a": 1}, 100, 100), id="operations in listed order: $add, $set"),
    pytest.param(profile({"a": 1}), update(ignore_time=True, set={"a": 2}), profile({"a": 2}, 10, 50), id="$ignore_time keeps last_seen"),
    pytest.param(profile({"a": 1}), update(at=20, set={"a": 2}), profile({"a": 2}, 10, 50), id="an older $time keeps last_seen"),
]  # fmt: skip


@pytest.mark.parametrize(("before", "change", "after"), GOLDEN)
def test_operation(
    before: dict[str, Any] | None, change: dict[str, Any], after: dict[str, Any] | None
) -> None:
    result = apply_update(copy.deepcopy(before), change)
    assert result == after
    assert typed(result) == typed(after), "equal only if a boolean may stand for a number"
    assert typed(profile_model.apply(before, change)) == typed(after), "the model disagrees"


NAMES = st.sampled_from(["a", "b", "c"])
SCALARS = st.sampled_from(["x", "y", "", 0, 1, -1, 2.5, 1.0, True, False, None])
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
AMOUNTS = st.one_of(st.integers(-3, 3), st.sampled_from([0.5, -1.25, 1.0]))
OPERANDS: dict[str, st.SearchStrategy[Any]] = {
    "$set": st.dictionaries(NAMES, VALUES, max_size=2),
    "$set_once": st.dictionaries(NAMES, VALUES, max_size=2),
    "$add": st.dictionaries(NAMES, AMOUNTS, min_size=1, max_size=2),
    "$append": st.dictionaries(NAMES, VALUES, min_size=1, max_size=2),
    "$union": st.dictionaries(NAMES, st.lists(SCALARS, max_size=3), min_size=1, max_size=2),
    "$remove": st.dictionaries(NAMES, VALUES, min_size=1, max_size=2),
    "$unset": st.lists(NAMES, min_size=1, max_size=2),
    "$delete": st.just(""),
}


@st.composite
def updates(draw: st.DrawFn) -> dict[str, Any]:
    ops = draw(st.lists(st.sampled_from(list(OPERANDS)), min_size=1, max_size=3, unique=True))
    return {
        "$distinct_id": "u1",
        "$time": draw(st.integers(0, 1000)),
        "$ignore_time": draw(st.booleans()),
        **{op: draw(OPERANDS[op]) for op in ops},
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(updates(), max_size=12))
def test_update_streams_match_the_model(stream: list[dict[str, Any]]) -> None:
    state: dict[str, Any] | None = None
    expected: dict[str, Any] | None = None
    for change in stream:
        sent = copy.deepcopy(change)
        state = apply_update(state, change)
        expected = profile_model.apply(expected, change)
        assert state == expected, f"after {change}"
        assert typed(state) == typed(expected), f"after {change}"
        assert change == sent, "apply_update changed the update it was given"
