"""``in`` and ``not in``.

``a in b`` is a substring test when both are strings and a membership test (with ``==``'s
rules) when ``b`` is a list, a list literal or a list-valued property; for anything else it
is undefined. ``a not in b`` is ``not (a in b)``, so it is true where ``in`` is undefined.
A list literal is tested per type with numpy set operations; list-valued properties, being
Python tuples, are tested row by row.
"""

from __future__ import annotations

import numpy as np

from trackway.query.expr import strings
from trackway.query.expr.compare import both, only, partial_bools, restrict
from trackway.query.expr.logic import negation
from trackway.query.expr.values import INT64_MIN, Value, equal, is_number
from trackway.query.expr.vector import Mask, Tag, Vector


def contains(left: Vector, right: Vector) -> Vector:
    values: list[Mask] = []
    defined: list[Mask | None] = []
    if strings.has_strings(left) and strings.has_strings(right):
        index, table = strings.pair_map(left, right, strings.within)
        texts = both(left, right, Tag.STRING)
        values.append(restrict(table[index], texts))
        defined.append(texts)
    if right.items is not None:
        lists = only(right, Tag.LIST)
        if lists is None:  # the same list on every row: a literal
            values.append(_member_of(left, right.items[0]))
        else:
            values.append(_member_per_row(left, right, lists))
        defined.append(lists)
    return partial_bools(values, defined, len(left))


def not_contains(left: Vector, right: Vector) -> Vector:
    return negation(contains(left, right))


def _member_of(left: Vector, elements: tuple[Value, ...]) -> Mask:
    """Per row: does the row's value equal some element of one list?"""
    n = len(left)
    found = np.zeros(n, np.bool_)
    texts = {e for e in elements if type(e) is str}
    if texts and strings.has_strings(left):
        table = np.array(strings.per_text(left, texts.__contains__), np.bool_)
        found |= left.has(Tag.STRING) & table[strings.codes(left)]
    numbers = [e for e in elements if is_number(e)]
    if numbers and left.numbers is not None:
        # An int row equals a float element only if the float is that exact integer, and a
        # float row equals an int element only if the int is exactly a float: sets per side.
        ints = [e for e in numbers if type(e) is int]
        ints += [int(e) for e in numbers if type(e) is float and e.is_integer() and _fits(e)]
        floats = [float(e) for e in numbers if type(e) is float or float(e) == e]
        found |= left.has(Tag.FLOAT) & np.isin(left.numbers, np.array(floats, np.float64))
        if left.ints is not None and ints:
            found |= left.has(Tag.INT) & np.isin(left.ints, np.array(ints, np.int64))
    flags = {e for e in elements if type(e) is bool}
    if flags and left.bools is not None:
        if True in flags:
            found |= left.bools  # False on every row that is not boolean
        if False in flags:
            found |= left.has(Tag.BOOL) & ~left.bools
    if any(e is None for e in elements):
        found |= left.has(Tag.NULL)
    structured = [e for e in elements if isinstance(e, tuple) or not _plain(e)]
    if structured and left.items is not None:
        for row in np.flatnonzero(left.has(Tag.LIST) | left.has(Tag.OBJECT)):
            found[row] = any(equal(left.items[row], e) for e in structured)
    return found


def _member_per_row(left: Vector, right: Vector, lists: Mask) -> Mask:
    assert right.items is not None
    found = np.zeros(len(left), np.bool_)
    for row in np.flatnonzero(lists):
        value = left.value_at(int(row))
        found[row] = any(equal(value, e) for e in right.items[row])
    return found


def _fits(value: float) -> bool:
    return bool(INT64_MIN <= value < 2.0**63)


def _plain(value: Value) -> bool:
    return value is None or type(value) in (bool, int, float, str)
