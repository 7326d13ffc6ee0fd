"""One value at a time: the scalar rules the vector kernels apply to dictionaries and lists.

Python stands in for expression values as: ``UNDEFINED``, ``None`` (null), ``bool``,
``int``/``float`` (number), ``str``, ``Timestamp`` (datetime), ``tuple`` (list) and
``JsonObject`` (an object, which only equals an identical object).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import orjson


class _Undefined(Enum):
    UNDEFINED = "undefined"

    def __repr__(self) -> str:
        return "UNDEFINED"


UNDEFINED = _Undefined.UNDEFINED


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A datetime value: milliseconds since 1970-01-01T00:00:00 UTC."""

    ms: int


@dataclass(frozen=True, slots=True)
class JsonObject:
    """A JSON object property value, held as its canonical (sorted-key) JSON text."""

    text: str


Value = Any  # one of the stand-ins above; a union type would not survive tuple nesting
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# datetime() keeps to the years 0001-9999 so every datetime has an ISO spelling.
MIN_MS = -62_135_596_800_000
MAX_MS = 253_402_300_799_999
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")
_ISO = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?)?Z?"
)
_WHITESPACE = " \t\n\r\f\v"


def is_number(value: Value) -> bool:
    return type(value) is int or type(value) is float


def format_number(value: int | float) -> str:
    """JavaScript's ``String(number)``; int64 values print exactly, every digit kept."""
    if type(value) is int:
        return str(value)
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # The point sits `point` digits into `digits` (negative: that many zeros before it).
    point = len(whole) + int(exponent or 0) - (len(whole + fraction) - len(digits))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= point <= 21:
        return sign + digits + "0" * (point - k)
    if 0 < point <= 21:
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -6 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    exp = point - 1
    mark = f"e{'+' if exp >= 0 else '-'}{abs(exp)}"
    return sign + digits[0] + (f".{digits[1:]}" if k > 1 else "") + mark


def parse_number(text: str) -> int | float | None:
    """``number("…")``: a decimal (surrounding whitespace allowed) or None if not one."""
    text = text.strip(_WHITESPACE)
    if _INTEGER.fullmatch(text):
        whole = int(text)
        if INT64_MIN <= whole <= INT64_MAX:
            return whole
    if not _DECIMAL.fullmatch(text):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def parse_datetime(text: str) -> int | None:
    """``datetime("…")`` in ms since the epoch (UTC), or None if not an ISO date(time)."""
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        return None
    ms = (moment - _EPOCH) // timedelta(milliseconds=1)
    return ms + int((fraction or "0").ljust(3, "0")[:3])


def format_datetime(ms: int) -> str:
    """ISO text ``datetime()`` reads back: seconds always, milliseconds only when nonzero."""
    moment = _EPOCH + timedelta(milliseconds=ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.year < 1000:  # strftime does not pad years on every platform
        text = f"{moment.year:04d}{text[text.index('-') :]}"
    return text + (f".{ms % 1000:03d}" if ms % 1000 else "")


def to_text(value: Value) -> str:
    """``string()`` of a non-null defined value (lists and objects as compact JSON)."""
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if is_number(value):
        return format_number(value)
    if isinstance(value, Timestamp):
        return format_datetime(value.ms)
    return _json(value)


def _json(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, tuple):
        return "[" + ",".join(_json(item) for item in value) + "]"
    if isinstance(value, JsonObject):
        return value.text
    if type(value) is str:
        return orjson.dumps(value).decode()
    return to_text(value)


def from_json(parsed: Any) -> Value:
    """A decoded JSON value (orjson.loads) as an expression value."""
    if isinstance(parsed, list | tuple):
        return tuple(from_json(item) for item in parsed)
    if isinstance(parsed, dict):
        return JsonObject(orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS).decode())
    if type(parsed) is int and not INT64_MIN <= parsed <= INT64_MAX:
        return float(parsed)
    return parsed


def equal(left: Value, right: Value) -> bool:
    """``==``: same type and same value; numbers compare exactly (an int to a float too)."""
    if is_number(left) and is_number(right):
        return bool(left == right)
    if type(left) is not type(right):
        return False
    if isinstance(left, tuple):
        return len(left) == len(right) and all(map(equal, left, right))
    return bool(left == right)


def truthy(value: Value) -> bool:
    """``boolean()``: false for "false", "", 0, null and undefined; true otherwise."""
    if value is None or value is UNDEFINED:
        return False
    if type(value) is str:
        return value not in ("", "false")
    if type(value) is bool:
        return value
    if is_number(value):
        return bool(value != 0)
    return True
