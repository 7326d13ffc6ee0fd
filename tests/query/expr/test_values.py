"""The scalar rules: JavaScript number text, decimal parsing, ISO datetimes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackway.query.expr.values import (
    MAX_MS,
    MIN_MS,
    format_datetime,
    format_number,
    parse_datetime,
    parse_number,
)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        # What String(x) answers in a JavaScript engine.
        pytest.param(0, "0", id="zero"),
        pytest.param(-0.0, "0", id="negative zero"),
        pytest.param(1.0, "1", id="integral float"),
        pytest.param(-1.5, "-1.5", id="negative"),
        pytest.param(0.1 + 0.2, "0.30000000000000004", id="shortest round trip"),
        pytest.param(123.456, "123.456", id="decimal"),
        pytest.param(1e20, "100000000000000000000", id="1e20 in full"),
        pytest.param(1e21, "1e+21", id="1e21 in exponent form"),
        pytest.param(123456789012345680000.0, "123456789012345680000", id="shortest digits padded"),
        pytest.param(2.0**60, "1152921504606847000", id="2**60 as a float"),
        pytest.param(2.0**53, "9007199254740992", id="2**53"),
        pytest.param(0.000001, "0.000001", id="1e-6 in full"),
        pytest.param(1e-7, "1e-7", id="1e-7 in exponent form"),
        pytest.param(1.5e-7, "1.5e-7", id="exponent with a fraction"),
        pytest.param(1.7976931348623157e308, "1.7976931348623157e+308", id="largest float"),
        pytest.param(5e-324, "5e-324", id="smallest float"),
        pytest.param(2**63 - 1, "9223372036854775807", id="int64 every digit"),
        pytest.param(-(2**63), "-9223372036854775808", id="int64 minimum"),
    ],
)
def test_format_number_writes_numbers_as_javascript_does(number: float, text: str) -> None:
    assert format_number(number) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_number_round_trips(number: float) -> None:
    assert float(format_number(number)) == number


@pytest.mark.parametrize(
    ("text", "number"),
    [
        pytest.param("42", 42, id="integer"),
        pytest.param(" -7\t", -7, id="whitespace and sign"),
        pytest.param("+3.5", 3.5, id="plus sign"),
        pytest.param("1.", 1.0, id="trailing point"),
        pytest.param(".5", 0.5, id="leading point"),
        pytest.param("2E3", 2000.0, id="exponent"),
        pytest.param("9223372036854775808", 9223372036854775808.0, id="beyond int64"),
        pytest.param("", None, id="empty"),
        pytest.param("1_000", None, id="underscores"),
        pytest.param("0x1f", None, id="hex"),
        pytest.param("Infinity", None, id="infinity"),
        pytest.param("nan", None, id="nan"),
        pytest.param("1e400", None, id="overflow"),
        pytest.param("١٢", None, id="non-ASCII digits"),
        pytest.param("1 2", None, id="two numbers"),
    ],
)
def test_parse_number(text: str, number: float | None) -> None:
    parsed = parse_number(text)
    assert parsed == number
    assert type(parsed) is type(number)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        pytest.param("1970-01-01", 0, id="epoch"),
        pytest.param("2024-02-29T23:59:59", 1709251199000, id="leap day"),
        pytest.param("2024-02-29 23:59:59Z", 1709251199000, id="space and Z"),
        pytest.param("2024-02-29T23:59:59.1234", 1709251199123, id="fraction truncated to ms"),
        pytest.param("1969-12-31T23:59:59.999", -1, id="before the epoch"),
        pytest.param("0001-01-01", MIN_MS, id="first day"),
        pytest.param("9999-12-31T23:59:59.999", MAX_MS, id="last moment"),
        pytest.param("2023-02-29", None, id="no such day"),
        pytest.param("2024-02-29T24:00:00", None, id="hour 24"),
        pytest.param("2024-02-29T12:00", None, id="seconds required"),
        pytest.param("2024-2-9", None, id="unpadded"),
        pytest.param("20240229", None, id="basic format"),
        pytest.param("2024-02-29T12:00:00+02:00", None, id="offsets are not accepted"),
    ],
)
def test_parse_datetime(text: str, ms: int | None) -> None:
    assert parse_datetime(text) == ms


@given(st.integers(MIN_MS, MAX_MS))
def test_datetimes_format_to_text_datetime_reads_back(ms: int) -> None:
    assert parse_datetime(format_datetime(ms)) == ms
