"""A slow, obviously-correct interpreter of the expression language: one row, plain Python.

It reads the rules straight from docs/expressions.md and shares no kernel with the vector
implementation. It does share ``format_number`` (JavaScript's number-to-text, pinned by
its own golden tests) because writing that algorithm twice would copy it, not check it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Context, Decimal
from typing import Any

import orjson

from trackway.query.expr import ast
from trackway.query.expr.values import UNDEFINED, JsonObject, Timestamp, format_number

INT64 = range(-(2**63), 2**63)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Years 0001-9999, in ms since the epoch.
DATETIMES = range(-62_135_596_800_000, 253_402_300_800_000)


@dataclass
class Row:
    properties: dict[str, Any] = field(default_factory=dict)  # a missing key is undefined
    time_ms: int = 0
    event: str = "e"
    cohorts: frozenset[int] = frozenset()  # the saved cohorts the row's user is in


def is_number(value: Any) -> bool:
    return type(value) in (int, float)


def evaluate(node: ast.Node, row: Row) -> Any:
    match node:
        case ast.Number(value=value) | ast.String(value=value) | ast.Boolean(value=value):
            return value
        case ast.Null():
            return None
        case ast.ListLiteral(items=items):
            return tuple(evaluate(item, row) for item in items)
        case ast.Property(name=name):
            return row.properties.get(name, UNDEFINED)
        case ast.EventField(key=key):
            return Timestamp(row.time_ms) if key in ("$time", "time") else row.event
        case ast.Cohort(cohort_id=cohort_id):
            return cohort_id in row.cohorts
        case ast.Logical(op="and", operands=operands):
            return all([evaluate(o, row) is True for o in operands])
        case ast.Logical(op="or", operands=operands):
            return any([evaluate(o, row) is True for o in operands])
        case ast.Unary(op="not", operand=operand):
            return negate(evaluate(operand, row))
        case ast.Unary(op="-", operand=operand):
            value = evaluate(operand, row)
            if not is_number(value):
                return UNDEFINED
            return -value if type(value) is float or -value in INT64 else float(-value)
        case ast.Binary(op=op, left=left, right=right):
            return binary(op, evaluate(left, row), evaluate(right, row))
        case ast.Call(function=function, argument=argument):
            return FUNCTIONS[function](evaluate(argument, row))
    raise AssertionError(node)


def negate(value: Any) -> Any:
    if value is UNDEFINED:
        return True
    return (not value) if type(value) is bool else UNDEFINED


def equal(a: Any, b: Any) -> bool:
    if is_number(a) and is_number(b):
        return a == b  # Python compares int with float exactly
    if type(a) is not type(b):
        return False
    if type(a) is tuple:
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def binary(op: str, a: Any, b: Any) -> Any:
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if op in ("in", "not in"):
        found = contains(a, b)
        return found if op == "in" else negate(found)
    if op in (">", ">=", "<", "<="):
        if is_number(a) and is_number(b):
            pass
        elif type(a) is Timestamp and type(b) is Timestamp:
            a, b = a.ms, b.ms
        else:
            return UNDEFINED
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
    if op == "+" and type(a) is str and type(b) is str:
        return a + b
    if not (is_number(a) and is_number(b)):
        return UNDEFINED
    x, y = float(a), float(b)
    if op in ("/", "%") and y == 0:
        return UNDEFINED
    result = {"+": x + y, "-": x - y, "*": x * y}.get(op)
    if op == "/":
        result = x / y
    if op == "%":
        result = math.fmod(x, y)
    assert result is not None
    return result if math.isfinite(result) else UNDEFINED


def contains(a: Any, b: Any) -> Any:
    if type(a) is str and type(b) is str:
        return a in b
    if type(b) is tuple:
        return any(equal(a, item) for item in b)
    return UNDEFINED


def to_boolean(value: Any) -> bool:
    if value is UNDEFINED or value is None or value in ("", "false"):
        return False
    if is_number(value):
        return value != 0
    return value if type(value) is bool else True


def to_number(value: Any) -> Any:
    if is_number(value):
        return value
    if type(value) is bool:
        return int(value)
    if type(value) is Timestamp:
        return value.ms / 1000
    if type(value) is not str:
        return UNDEFINED
    text = value.strip(" \t\n\r\f\v")
    if re.fullmatch(r"[+-]?[0-9]+", text) and int(text) in INT64:
        return int(text)
    if re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", text):
        number = float(text)
        return number if math.isfinite(number) else UNDEFINED
    return UNDEFINED


def to_string(value: Any) -> Any:
    if value is None or value is UNDEFINED or type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    if is_number(value):
        return format_number(value)
    if type(value) is Timestamp:
        moment = EPOCH + timedelta(milliseconds=value.ms)
        text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
        return text + (f".{value.ms % 1000:03d}" if value.ms % 1000 else "")
    return json_text(value)


def json_text(value: Any) -> str:
    if type(value) is tuple:
        return "[" + ",".join(json_text(item) for item in value) + "]"
    if type(value) is JsonObject:
        return value.text
    if type(value) is str:
        return orjson.dumps(value).decode()
    return "null" if value is None else to_string(value)


def rounded(mode: str) -> Any:
    def function(value: Any) -> Any:
        if type(value) is int:
            return value
        if type(value) is not float:
            return UNDEFINED
        if mode == "floor":
            return float(math.floor(value))
        if mode == "ceil":
            return float(math.ceil(value))
        # JavaScript's Math.round: halves towards +infinity.
        rule = ROUND_HALF_UP if value >= 0 else ROUND_HALF_DOWN
        exact = Context(prec=400)  # every float's integer part fits in 400 digits
        return float(Decimal(value).quantize(Decimal(1), rounding=rule, context=exact))

    return function


def to_datetime(value: Any) -> Any:
    if type(value) is Timestamp:
        return value
    if is_number(value):
        scaled = value * 1000
        if not math.isfinite(scaled):
            return UNDEFINED
        return Timestamp(round(scaled)) if round(scaled) in DATETIMES else UNDEFINED
    if type(value) is not str:
        return UNDEFINED
    date = r"(\d{4})-(\d\d)-(\d\d)"
    match = re.fullmatch(date + r"(?:[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?Z?", value)
    if not match or not value.isascii():
        return UNDEFINED
    y, mo, d, h, mi, s, fraction = (g or "0" for g in match.groups())
    try:
        moment = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), tzinfo=UTC)
    except ValueError:
        return UNDEFINED
    whole = (moment - EPOCH) // timedelta(milliseconds=1)
    return Timestamp(whole + int(fraction.ljust(3, "0")[:3]))


FUNCTIONS = {
    "defined": lambda value: value is not UNDEFINED,
    "boolean": to_boolean,
    "number": to_number,
    "string": to_string,
    "floor": rounded("floor"),
    "ceil": rounded("ceil"),
    "round": rounded("round"),
    "datetime": to_datetime,
}


def same(a: Any, b: Any) -> bool:
    """Are two results the same value of the same type (int and float both "number")?"""
    if is_number(a) and is_number(b):
        return a == b
    if type(a) is tuple and type(b) is tuple:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
