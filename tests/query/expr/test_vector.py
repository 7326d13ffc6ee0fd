"""Vectors: built from storage's typed Arrow columns, constants, and breakdown keys."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.query.expr.strategies import anything
from tests.reference.expressions import same as same_values
from trackway.query.expr import (
    UNDEFINED,
    JsonObject,
    Tag,
    Timestamp,
    Vector,
    property_vector,
    segment_keys,
)

U = UNDEFINED


def test_a_row_takes_its_value_from_whichever_typed_column_holds_it() -> None:
    vector = property_vector(
        6,
        string=pa.array(["a", None, None, None, None, None]).dictionary_encode(),
        integer=pa.array([None, 2**62, None, None, None, None], pa.int64()),
        floating=pa.array([None, None, 2.5, None, None, None]),
        boolean=pa.array([None, None, None, True, None, None]),
        json=pa.array([None, None, None, None, '[1,"x",{"b":1,"a":2}]', None]),
    )
    assert vector.to_pylist() == ["a", 2**62, 2.5, True, (1, "x", JsonObject('{"a":2,"b":1}')), U]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("null", None, id="null"),
        pytest.param("[]", (), id="empty list"),
        pytest.param('{"z":1,"a":[null]}', JsonObject('{"a":[null],"z":1}'), id="object"),
        pytest.param("123456789012345678901234567890", 1.2345678901234568e29, id="wide int"),
        pytest.param('"text"', "text", id="string"),
    ],
)
def test_json_cells(text: str, value: Any) -> None:
    vector = property_vector(2, json=pa.array([text, None]))
    assert vector.to_pylist() == [value, U]


def test_all_null_columns_and_no_columns_are_undefined() -> None:
    assert property_vector(2).to_pylist() == [U, U]
    nulls = pa.array([None, None], pa.float64())
    assert property_vector(2, floating=nulls).to_pylist() == [U, U]


def test_non_finite_floats_are_undefined() -> None:
    vector = property_vector(3, floating=pa.array([float("nan"), float("inf"), 1.0]))
    assert vector.to_pylist() == [U, U, 1.0]


def test_sliced_and_chunked_columns_keep_their_rows() -> None:
    # Offsets into validity bitmaps and value buffers are easy to get wrong.
    strings = pa.array(["x", None, "y", "z", None, "x", "w"] * 3).dictionary_encode()
    numbers = pa.array([1, None, 3, None, 5, 6, 7] * 3, pa.int64())
    strings, numbers = strings.slice(5, 9), numbers.slice(5, 9)
    # A second chunk with its own dictionary, as separately written files have.
    rest = strings.slice(4).dictionary_decode().dictionary_encode()
    chunked = pa.chunked_array([strings.slice(0, 4), rest])
    expected_strings = ["x", "w", "x", None, "y", "z", None, "x", "w"]
    expected_numbers = [6, 7, 1, None, 3, None, 5, 6, 7]
    for column in (strings, chunked):
        vector = property_vector(9, string=column)
        assert vector.to_pylist() == [U if s is None else s for s in expected_strings]
    vector = property_vector(9, integer=numbers)
    assert vector.to_pylist() == [U if v is None else v for v in expected_numbers]


def test_a_column_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="Expected a column of 3 rows, got 2"):
        property_vector(3, floating=pa.array([1.0, 2.0]))


def test_strings_from_python_or_arrow() -> None:
    assert Vector.from_strings(["a", None, "a"]).to_pylist() == ["a", U, "a"]
    assert Vector.from_strings(pa.array(["b", "c"], pa.large_string())).to_pylist() == ["b", "c"]


def test_times_and_numbers() -> None:
    assert Vector.from_times(np.array([0, 1500])).to_pylist() == [Timestamp(0), Timestamp(1500)]
    numbers = Vector.from_numbers(np.array([1, 2**60]))
    assert numbers.to_pylist() == [1, 2**60]
    assert numbers.wide
    assert Vector.from_numbers(np.array([0.5, np.inf])).to_pylist() == [0.5, U]


@pytest.mark.parametrize(
    "value",
    [U, None, True, 0, 2**63 - 1, 1.5, "", "é", Timestamp(-5), (1, (None,)), JsonObject("{}")],
)
def test_constants(value: Any) -> None:
    vector = Vector.constant(value, 3)
    assert vector.uniform
    assert vector.to_pylist() == [value] * 3


def test_only_boolean_true_is_truth() -> None:
    vector = Vector.from_values([True, False, U, None, 1, "true", (True,)])
    assert vector.truth().tolist() == [True, False, False, False, False, False, False]


def test_where_merges_dictionaries() -> None:
    left, right = Vector.from_values(["a", "b", 1]), Vector.from_values(["c", True, "d"])
    merged = left.where(np.array([True, False, False]), right)
    assert merged.to_pylist() == ["a", True, "d"]
    assert merged.truth().tolist() == [False, True, False]


def test_segment_keys_label_each_value_by_its_text() -> None:
    vector = Vector.from_values(
        [U, None, True, "true", 3, 3.0, 2.5, 2**60 + 1, "a", Timestamp(1000), (1, "x"), U]
    )
    codes, labels = segment_keys(vector)
    assert labels == sorted(labels)
    assert [labels[c] for c in codes] == [
        "undefined", "null", "true", "true", "3", "3", "2.5", "1152921504606846977", "a",
        "1970-01-01T00:00:01", '[1,"x"]', "undefined",
    ]  # fmt: skip
    assert len(labels) == len(set(labels)) == 9


def test_segment_keys_skip_texts_no_row_uses() -> None:
    column = pa.DictionaryArray.from_arrays(pa.array([1, 1]), pa.array(["unused", "used"]))
    codes, labels = segment_keys(property_vector(2, string=column))
    assert (codes.tolist(), labels) == ([0, 0], ["used"])


def test_uniform_tags_and_payloads_are_read_only_views() -> None:
    # Kernels never write into their inputs; broadcast views would refuse if one tried.
    vector = Vector.constant("x", 4)
    assert vector.tags.strides == (0,)
    assert not vector.tags.flags.writeable
    assert vector.has(Tag.STRING).all()


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(anything, st.just(UNDEFINED)), max_size=8),
    picks=st.lists(st.integers(-1, 7), max_size=12),
)
def test_gather_reads_rows_and_gives_undefined_for_negative_indexes(
    values: list[Any], picks: list[int]
) -> None:
    """What a profile lookup does: rows found, and undefined where nothing was found."""
    rows = np.array([p if p < len(values) else -1 for p in picks], np.int64)
    vector = Vector.from_values(values)
    gathered = vector.gather(rows)
    expected = [vector.value_at(int(r)) if r >= 0 else U for r in rows]
    assert len(gathered) == len(rows)
    assert all(map(same_values, gathered.to_pylist(), expected))
    # A `where` reads bools as they stand: never true off a boolean row.
    assert not (gathered.truth() & ~gathered.has(Tag.BOOL)).any()
    assert Vector.constant(True, 3).gather(np.array([0, -1, 2])).truth().tolist() == [
        True,
        False,
        True,
    ]
