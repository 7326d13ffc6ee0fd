"""``+ - * / %``, unary ``-`` and ``floor``/``round``/``ceil`` over vectors.

Arithmetic is float64, as in JavaScript: numbers in, a number out, anything else undefined.
``+`` also concatenates two strings. A result that is not finite (``/ 0``, ``% 0``,
overflow) is undefined. ``%`` keeps the dividend's sign (C's fmod, JavaScript's ``%``).
Integers pass through ``floor``/``round``/``ceil`` and unary ``-`` exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from trackway.query.expr import strings
from trackway.query.expr.compare import both, never
from trackway.query.expr.values import INT64_MIN
from trackway.query.expr.vector import Floats, Mask, Tag, Vector

Binary = Callable[[Vector, Vector], Vector]


def _numeric(function: Callable[[Floats, Floats], Floats]) -> Binary:
    def kernel(left: Vector, right: Vector) -> Vector:
        if never(left, Tag.FLOAT) or never(right, Tag.FLOAT):
            return Vector.undefined(len(left))
        assert left.numbers is not None and right.numbers is not None
        with np.errstate(all="ignore"):
            result = function(left.numbers, right.numbers)
        # from_numbers turns every non-finite result (x/0, inf-inf, overflow) into undefined.
        return Vector.from_numbers(result, both(left, right, Tag.FLOAT))

    return kernel


def _divide(left: Floats, right: Floats) -> Floats:
    return np.where(right == 0, np.nan, left / right)


def _modulo(left: Floats, right: Floats) -> Floats:
    return np.where(right == 0, np.nan, np.fmod(left, right))


subtract = _numeric(np.subtract)
multiply = _numeric(np.multiply)
divide = _numeric(_divide)
_plus = _numeric(np.add)
_float_modulo = _numeric(_modulo)


def modulo(left: Vector, right: Vector) -> Vector:
    """float64 fmod, but two integer rows within ±2**53 take int64 fmod: same answer, and
    float fmod is slow (about 100 ns a row)."""
    if left.ints is None or right.ints is None or left.wide or right.wide:
        return _float_modulo(left, right)
    ints = left.has(Tag.INT) & right.has(Tag.INT)
    floats = ~ints & left.numeric() & right.numeric()
    nonzero = ints & (right.ints != 0)
    # Not wide, so no INT64_MIN % -1 overflow; rows that are not two ints divide by 1.
    remainder = np.fmod(left.ints, np.where(nonzero, right.ints, 1))
    exact = Vector.from_numbers(remainder.astype(np.float64), nonzero)
    if not floats.any():
        return exact
    return exact.where(exact.numeric(), _float_modulo(left, right))


def add(left: Vector, right: Vector) -> Vector:
    """Numbers add, two strings concatenate, anything else is undefined."""
    total = _plus(left, right)
    if not (strings.has_strings(left) and strings.has_strings(right)):
        return total
    index, texts = strings.pair_map(left, right, strings.concatenate)
    joined = Vector.from_codes(index.astype(np.int32), texts, both(left, right, Tag.STRING))
    if never(left, Tag.FLOAT) or never(right, Tag.FLOAT):
        return joined
    return joined.where(joined.has(Tag.STRING), total)


def negate(operand: Vector) -> Vector:
    if never(operand, Tag.FLOAT):
        return Vector.undefined(len(operand))
    assert operand.numbers is not None
    flipped = Vector.from_numbers(-operand.numbers, operand.numeric())
    if operand.ints is None:
        return flipped
    # -INT64_MIN does not fit an int64; that one row stays a float.
    exact = operand.has(Tag.INT) & (operand.ints != INT64_MIN)
    return Vector.from_numbers(-np.where(exact, operand.ints, 0), exact).where(exact, flipped)


def _rounding(function: Callable[[Floats], Floats]) -> Callable[[Vector], Vector]:
    def kernel(operand: Vector) -> Vector:
        if never(operand, Tag.FLOAT):
            return Vector.undefined(len(operand))
        assert operand.numbers is not None
        floats: Mask = operand.has(Tag.FLOAT)
        with np.errstate(all="ignore"):
            rounded = Vector.from_numbers(function(operand.numbers), floats)
        if operand.ints is None:
            return rounded
        return operand.where(operand.has(Tag.INT), rounded)

    return kernel


def _half_up(numbers: Floats) -> Floats:
    """JavaScript's Math.round: halves go towards +infinity (-2.5 → -2, 2.5 → 3)."""
    down = np.floor(numbers)
    # numbers - down is exact, unlike numbers + 0.5 (0.49999999999999994 + 0.5 == 1.0).
    return down + (numbers - down >= 0.5)


floor = _rounding(np.floor)
ceil = _rounding(np.ceil)
round_half_up = _rounding(_half_up)
