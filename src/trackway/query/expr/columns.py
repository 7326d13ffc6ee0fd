"""A property as storage keeps it, up to five typed columns, to one Vector.

Storage writes each value of a property to the column of its type (``ps_`` string, ``pi_``
int, ``pf_`` float, ``pb_`` bool, ``pj_`` JSON text for null, lists, objects and integers
beyond int64), so for a row at most one column is non-null. JSON text is decoded once per
distinct text, never per row.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from trackway.query.expr import arrow
from trackway.query.expr.values import from_json
from trackway.query.expr.vector import Tag, Vector


def property_vector(
    n: int,
    *,
    string: Any = None,
    integer: Any = None,
    floating: Any = None,
    boolean: Any = None,
    json: Any = None,
) -> Vector:
    """One property stored as up to five typed columns (``ps_ pi_ pf_ pb_ pj_``): a row takes
    the first non-null column in the order of the arguments; a row null in all is undefined."""
    makers = [(string, _strings), (integer, _integers), (floating, _floats)]
    makers += [(boolean, _booleans), (json, _json)]
    parts: list[Vector] = []
    for column, make in makers:
        if column is None:
            continue
        array = arrow.combined(column)
        if len(array) != n:
            raise ValueError(f"Expected a column of {n} rows, got {len(array)}")
        if array.null_count < n:
            parts.append(make(array))
    if not parts:
        return Vector.undefined(n)
    result = parts[-1]
    for part in reversed(parts[:-1]):
        result = part.where(part.tags != Tag.UNDEFINED, result)
    return result


def _strings(array: Any) -> Vector:
    codes, dictionary = arrow.dictionary_codes(array)
    return Vector.from_codes(codes, dictionary, arrow.validity(array))


def _integers(array: Any) -> Vector:
    return Vector.from_numbers(arrow.fixed_width(array, np.int64), arrow.validity(array))


def _floats(array: Any) -> Vector:
    return Vector.from_numbers(arrow.fixed_width(array, np.float64), arrow.validity(array))


def _booleans(array: Any) -> Vector:
    return Vector.from_bools(arrow.booleans(array), arrow.validity(array))


def _json(array: Any) -> Vector:
    codes, texts = arrow.text_values(array)
    distinct = Vector.from_values([from_json(orjson.loads(text)) for text in texts])
    decoded = distinct.take(codes)
    valid = arrow.validity(array)
    return decoded if valid is None else decoded.where(valid, Vector.undefined(len(array)))
