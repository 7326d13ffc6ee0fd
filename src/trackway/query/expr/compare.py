"""``==``, ``!=``, ``>``, ``>=``, ``<``, ``<=`` over vectors.

``==`` is defined on every pair of rows (different types are simply unequal). The ordering
operators are defined for two numbers or two datetimes and undefined otherwise. Numbers are
compared as float64 first; only when a vector holds integers beyond 2**53 are the rows the
floats call equal looked at again with their exact int64 values.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from trackway.query.expr import strings
from trackway.query.expr.values import equal as equal_values
from trackway.query.expr.vector import EXACT_FLOAT_LIMIT, Mask, Tag, Vector

Compare = Callable[[Any, Any], Any]


def only(vector: Vector, tag: Tag) -> Mask | None:
    """Rows of type ``tag`` (FLOAT meaning any number); None when that is every row."""
    if vector.uniform and len(vector):
        first = int(vector.tags[0])
        if first == tag or (tag == Tag.FLOAT and first >= Tag.FLOAT):
            return None
    return vector.numeric() if tag == Tag.FLOAT else vector.has(tag)


def never(vector: Vector, tag: Tag) -> bool:
    """Cheap proof that no row has type ``tag`` (FLOAT meaning any number)."""
    if vector.uniform and len(vector):
        first = int(vector.tags[0])
        return not (first == tag or (tag == Tag.FLOAT and first >= Tag.FLOAT))
    payload = {
        Tag.BOOL: vector.bools,
        Tag.STRING: vector.dictionary,
        Tag.DATETIME: vector.times,
        Tag.FLOAT: vector.numbers,
        Tag.LIST: vector.items,
        Tag.OBJECT: vector.items,
    }.get(tag, vector.tags)
    return payload is None


def both(left: Vector, right: Vector, tag: Tag) -> Mask | None:
    """Rows where both sides have type ``tag``; None for every row."""
    masks = [m for m in (only(left, tag), only(right, tag)) if m is not None]
    if not masks:
        return None
    return masks[0] if len(masks) == 1 else masks[0] & masks[1]


def restrict(values: Mask, mask: Mask | None) -> Mask:
    return values if mask is None else values & mask


def any_of(masks: list[Mask], n: int) -> Mask:
    if not masks:
        return np.zeros(n, np.bool_)
    result = masks[0]
    for mask in masks[1:]:
        result = result | mask
    return result


def equal_mask(left: Vector, right: Vector) -> Mask:
    """Per row: are the two values equal (same type and value)?"""
    parts: list[Mask] = []
    if not (never(left, Tag.FLOAT) or never(right, Tag.FLOAT)):
        parts.append(restrict(_numbers(left, right, operator.eq), both(left, right, Tag.FLOAT)))
    if strings.has_strings(left) and strings.has_strings(right):
        parts.append(restrict(strings.equal_codes(left, right), both(left, right, Tag.STRING)))
    if left.bools is not None and right.bools is not None:
        parts.append(restrict(left.bools == right.bools, both(left, right, Tag.BOOL)))
    if left.times is not None and right.times is not None:
        parts.append(restrict(left.times == right.times, both(left, right, Tag.DATETIME)))
    for tag in (Tag.NULL, Tag.UNDEFINED):
        if not (never(left, tag) or never(right, tag)):
            parts.append(left.has(tag) & right.has(tag))
    result = any_of(parts, len(left))
    if left.items is not None and right.items is not None:
        structured = left.has(Tag.LIST) | left.has(Tag.OBJECT)
        rows = np.flatnonzero((left.tags == right.tags) & structured)
        if len(rows):
            result = result.copy()
        for row in rows:
            result[row] = equal_values(left.items[row], right.items[row])
    return result


def equal(left: Vector, right: Vector) -> Vector:
    return Vector.from_bools(equal_mask(left, right))


def not_equal(left: Vector, right: Vector) -> Vector:
    return Vector.from_bools(~equal_mask(left, right))


def _ordering(compare: Compare) -> Callable[[Vector, Vector], Vector]:
    def kernel(left: Vector, right: Vector) -> Vector:
        values: list[Mask] = []
        defined: list[Mask | None] = []
        if not (never(left, Tag.FLOAT) or never(right, Tag.FLOAT)):
            numeric = both(left, right, Tag.FLOAT)
            values.append(restrict(_numbers(left, right, compare), numeric))
            defined.append(numeric)
        if left.times is not None and right.times is not None:
            dated = both(left, right, Tag.DATETIME)
            values.append(restrict(np.asarray(compare(left.times, right.times)), dated))
            defined.append(dated)
        return partial_bools(values, defined, len(left))

    return kernel


def partial_bools(values: list[Mask], defined: list[Mask | None], n: int) -> Vector:
    """A boolean vector from parts, each (value, where defined or None for every row)."""
    if any(mask is None for mask in defined):
        return Vector.from_bools(any_of(values, n))
    # Each value is already False where its part is undefined: no need to mask again.
    valid = any_of([m for m in defined if m is not None], n)
    return Vector(valid.view(np.int8) * np.int8(Tag.BOOL), bools=any_of(values, n))


def _numbers(left: Vector, right: Vector, compare: Compare) -> Mask:
    """``compare`` of the two number payloads, exact where int64 precision matters."""
    assert left.numbers is not None and right.numbers is not None
    result = np.asarray(compare(left.numbers, right.numbers), np.bool_)
    if not (left.wide or right.wide):
        return result
    left_int, right_int = left.has(Tag.INT), right.has(Tag.INT)
    if left.ints is not None and right.ints is not None:
        ints = left_int & right_int
        result = np.where(ints, compare(left.ints, right.ints), result)
    # An int and a float that float64 calls equal from 2**53 on, where it rounds: decide with
    # Python's exact integers (the float is integral there, so int() of it is exact).
    tied = (left.numbers == right.numbers) & (left_int ^ right_int)
    tied &= np.abs(left.numbers) >= EXACT_FLOAT_LIMIT
    ties = np.flatnonzero(tied & left.numeric() & right.numeric())
    for row in ties:
        result[row] = compare(_exact(left, int(row)), _exact(right, int(row)))
    return result


def _exact(vector: Vector, row: int) -> int:
    if vector.tags[row] == Tag.INT:
        return int(vector.ints[row])  # type: ignore[index]
    return int(vector.numbers[row])  # type: ignore[index]  # integral: it equals an int


greater = _ordering(operator.gt)
greater_equal = _ordering(operator.ge)
less = _ordering(operator.lt)
less_equal = _ordering(operator.le)
