"""Arrow to numpy and back through buffers, against pyarrow's own conversions."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackway.storage.arrays import (
    arrow_of,
    nonempty_of,
    numpy_of,
    strings_of,
    valid_of,
    values_of,
)

# No timings in tests (the first example pays for pyarrow importing pandas).
UNTIMED = settings(deadline=None)
DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint64, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@UNTIMED
@given(values=st.lists(st.integers(0, 100), max_size=40), start=st.integers(0, 40))
def test_numbers_round_trip_through_any_slice(
    dtype: type[np.generic], values: list[int], start: int
) -> None:
    array = arrow_of(np.asarray(values, dtype))
    assert array.to_pylist() == pa.array(values, array.type).to_pylist()
    sliced = array.slice(min(start, len(values)))
    assert numpy_of(sliced).tolist() == sliced.to_pylist()
    assert numpy_of(sliced).dtype == np.dtype(dtype)


@UNTIMED
@given(values=st.lists(st.booleans(), max_size=40), start=st.integers(0, 40))
def test_booleans_round_trip_through_any_slice(values: list[bool], start: int) -> None:
    array = arrow_of(np.asarray(values, np.bool_))
    assert array.to_pylist() == values
    sliced = array.slice(min(start, len(values)))
    assert numpy_of(sliced).tolist() == sliced.to_pylist()


@UNTIMED
@given(chunks=st.lists(st.lists(st.integers(-5, 5), max_size=5), max_size=4))
def test_chunks_concatenate(chunks: list[list[int]]) -> None:
    array = pa.chunked_array([pa.array(c, pa.int64()) for c in chunks], pa.int64())
    assert numpy_of(array).tolist() == array.to_pylist()


@UNTIMED
@given(values=st.lists(st.one_of(st.none(), st.booleans()), max_size=40), start=st.integers(0, 40))
def test_validity_and_values_under_nulls(values: list[bool | None], start: int) -> None:
    sliced = pa.array(values, pa.bool_()).slice(min(start, len(values)))
    expected = sliced.to_pylist()
    assert valid_of(sliced).tolist() == [v is not None for v in expected]
    got = values_of(sliced)
    assert [bool(g) for g, v in zip(got, expected, strict=True) if v is not None] == [
        v for v in expected if v is not None
    ]
    assert numpy_of(sliced).tolist() == expected  # pyarrow's own conversion under nulls


@UNTIMED
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=20),
    start=st.integers(0, 20),
)
def test_strings_and_which_are_nonempty(values: list[str | None], start: int) -> None:
    array = strings_of(values)
    assert array.to_pylist() == values
    assert array.null_count == values.count(None)
    sliced = array.slice(min(start, len(values)))
    assert nonempty_of(sliced).tolist() == [bool(v) for v in sliced.to_pylist()]
    encoded = sliced.dictionary_encode()
    assert nonempty_of(encoded).tolist() == [bool(v) for v in sliced.to_pylist()]


def test_views_of_arrow_memory_are_read_only() -> None:
    view = numpy_of(arrow_of(np.arange(4, dtype=np.int64)))
    with pytest.raises(ValueError, match="read-only"):
        view[0] = 1
