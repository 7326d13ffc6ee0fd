"""``defined``, ``boolean``, ``number``, ``string`` and ``datetime`` over vectors.

Conversions from strings run once per distinct text of the dictionary; conversions from
numbers and datetimes are numpy operations or, for text, once per distinct value.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trackway.query.expr import strings
from trackway.query.expr.compare import never
from trackway.query.expr.segment_keys import segment_keys
from trackway.query.expr.values import (
    MAX_MS,
    MIN_MS,
    UNDEFINED,
    Timestamp,
    parse_datetime,
    parse_number,
    truthy,
)
from trackway.query.expr.vector import Tag, Vector, text_array


def defined(operand: Vector) -> Vector:
    return Vector.from_bools(np.asarray(operand.tags != Tag.UNDEFINED))


def boolean(operand: Vector) -> Vector:
    """False for "false", "", 0, null and undefined; true for every other value."""
    # Datetimes, lists and objects (tags 4-6) are always true.
    truth = (operand.tags >= Tag.DATETIME) & (operand.tags <= Tag.OBJECT)
    if operand.bools is not None:
        truth = truth | operand.bools
    if operand.numbers is not None:
        truth = truth | (operand.numeric() & (operand.numbers != 0))
    if strings.has_strings(operand):
        table = np.array(strings.per_text(operand, truthy), np.bool_)
        truth = truth | (operand.has(Tag.STRING) & table[strings.codes(operand)])
    return Vector.from_bools(np.asarray(truth))


def number(operand: Vector) -> Vector:
    """Numbers as they are; decimal strings parsed; true → 1, false → 0; datetimes → seconds."""
    n = len(operand)
    result = Vector.undefined(n)
    if operand.numbers is not None:
        result = operand.where(operand.numeric(), result)
    if operand.bools is not None:
        ones = Vector.from_numbers(operand.bools.astype(np.int64), operand.has(Tag.BOOL))
        result = ones.where(ones.has(Tag.INT), result)
    if operand.times is not None:
        seconds = Vector.from_numbers(operand.times / 1000.0, operand.has(Tag.DATETIME))
        result = seconds.where(seconds.has(Tag.FLOAT), result)
    if strings.has_strings(operand):
        parsed = Vector.from_values(
            [_or_undefined(v) for v in strings.per_text(operand, parse_number)]
        )
        texts = parsed.take(strings.codes(operand))
        result = texts.where(operand.has(Tag.STRING), result)
    return result


def string(operand: Vector) -> Vector:
    """The text of a value (numbers as JavaScript writes them); null and undefined stay."""
    others = (operand.bools, operand.times, operand.items)
    if never(operand, Tag.FLOAT) and all(payload is None for payload in others):
        return operand  # already only strings, nulls and undefined
    codes, labels = segment_keys(operand)
    texts = Vector.from_codes(codes, text_array(labels))
    keep = (operand.tags == Tag.NULL) | (operand.tags == Tag.UNDEFINED)
    return operand.where(keep, texts)


def datetime(operand: Vector) -> Vector:
    """ISO date(time) strings and unix seconds to datetimes; anything else undefined."""
    n = len(operand)
    result = Vector.undefined(n)
    if operand.times is not None:
        result = operand.where(operand.has(Tag.DATETIME), result)
    if operand.numbers is not None:
        with np.errstate(all="ignore"):
            ms = np.round(operand.numbers * 1000.0)
        fits = operand.numeric() & (ms >= MIN_MS) & (ms <= MAX_MS)
        times = Vector.from_times(np.where(fits, ms, 0).astype(np.int64), fits)
        result = times.where(fits, result)
    if strings.has_strings(operand):
        parsed = strings.per_text(operand, parse_datetime)
        distinct = Vector.from_values([_or_undefined(ms, Timestamp) for ms in parsed])
        texts = distinct.take(strings.codes(operand))
        result = texts.where(operand.has(Tag.STRING), result)
    return result


def _or_undefined(value: Any, wrap: Any = None) -> Any:
    if value is None:
        return UNDEFINED
    return wrap(value) if wrap is not None else value
