"""``and``, ``or`` and ``not`` over vectors.

``and``/``or`` read a row as true only when it is boolean true: undefined (and, at run time,
any other type) counts as false, so their result is always a boolean. ``not`` negates a
boolean, turns undefined into true and leaves every other type undefined.
"""

from __future__ import annotations

from trackway.query.expr.vector import Tag, Vector


def all_of(operands: list[Vector]) -> Vector:
    result = operands[0].truth()
    for operand in operands[1:]:
        result = result & operand.truth()
    return Vector.from_bools(result)


def any_of(operands: list[Vector]) -> Vector:
    result = operands[0].truth()
    for operand in operands[1:]:
        result = result | operand.truth()
    return Vector.from_bools(result)


def negation(operand: Vector) -> Vector:
    missing = operand.has(Tag.UNDEFINED)
    if operand.bools is None:
        return Vector.from_bools(missing, missing)
    defined = operand.has(Tag.BOOL) | missing
    return Vector.from_bools(~operand.bools & defined, defined)
