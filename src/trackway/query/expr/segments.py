"""A vector to breakdown keys (`on=`): one label per distinct value, one code per row.

The label of a value is its ``string()`` text; null is ``"null"`` and undefined is
``"undefined"`` (what Mixpanel answers for events without the property). Values whose text
is the same (the string ``"true"`` and the boolean true, 3 and 3.0) share one segment,
because labels are the keys of the JSON answer and must be unique.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from trackway.query.expr.values import format_datetime, format_number, to_text
from trackway.query.expr.vector import Tag, Vector

UNDEFINED_LABEL = "undefined"
NULL_LABEL = "null"

# (rows of one type, each row's index into `texts`, texts of that type's distinct values)
_Part = tuple[npt.NDArray[np.bool_], npt.NDArray[np.intp], list[str]]


def segment_keys(vector: Vector) -> tuple[npt.NDArray[np.int32], list[str]]:
    """(codes, labels): ``labels`` sorted and unique; row i belongs to ``labels[codes[i]]``."""
    n = len(vector)
    parts: list[_Part] = []
    zeros = np.zeros(n, np.intp)
    for tag, label in ((Tag.UNDEFINED, UNDEFINED_LABEL), (Tag.NULL, NULL_LABEL)):
        parts.append((vector.has(tag), zeros, [label]))
    if vector.bools is not None:
        parts.append((vector.has(Tag.BOOL), vector.bools.astype(np.intp), ["false", "true"]))
    if vector.codes is not None and vector.dictionary is not None:
        texts = [str(text) for text in vector.dictionary]
        parts.append((vector.has(Tag.STRING), vector.codes.astype(np.intp), texts))
    if vector.ints is not None:
        parts.append(_distinct(vector.has(Tag.INT), vector.ints, lambda v: format_number(int(v))))
    if vector.numbers is not None:
        rows = vector.has(Tag.FLOAT)
        parts.append(_distinct(rows, vector.numbers, lambda v: format_number(float(v))))
    if vector.times is not None:
        rows = vector.has(Tag.DATETIME)
        parts.append(_distinct(rows, vector.times, lambda v: format_datetime(int(v))))
    if vector.items is not None:
        rows = vector.has(Tag.LIST) | vector.has(Tag.OBJECT)
        where = np.flatnonzero(rows)
        indexes = np.zeros(n, np.intp)
        indexes[where] = np.arange(len(where))
        parts.append((rows, indexes, [to_text(vector.items[i]) for i in where]))
    labels = sorted({text for _, _, texts in parts for text in texts})
    index = {label: i for i, label in enumerate(labels)}
    codes = np.zeros(n, np.int32)
    for rows, local, texts in parts:
        if texts:
            mapping = np.array([index[text] for text in texts], np.int32)
            codes[rows] = mapping[local[rows]]
    used = np.flatnonzero(np.bincount(codes, minlength=len(labels)))
    # Only labels some row carries: the dictionary may hold texts no row uses.
    if len(used) < len(labels):
        remap = np.zeros(len(labels), np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        return remap[codes], [labels[i] for i in used]
    return codes, labels


def _distinct(
    rows: npt.NDArray[np.bool_], values: npt.NDArray[Any], text: Callable[[Any], str]
) -> _Part:
    """Rows' values numbered by distinct value, each distinct value formatted once."""
    distinct, inverse = np.unique(values[rows], return_inverse=True)
    local = np.zeros(len(rows), np.intp)
    local[rows] = inverse
    return rows, local, [text(value) for value in distinct]
