"""A vector to breakdown keys (`on=`): one label per distinct value, one code per row.

The label of a value is its ``string()`` text; null is ``"null"`` and undefined is
``"undefined"`` (what Mixpanel answers for events without the property). Values whose text
is the same (the string ``"true"`` and the boolean true, 3 and 3.0) share one segment,
because labels are the keys of the JSON answer and must be unique. Distinct values are
found by hashing (Arrow), each formatted once, and the labels sorted by Arrow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trackway.query.expr.arrow import distinct
from trackway.query.expr.values import format_datetime, format_number, to_text
from trackway.query.expr.vector import Mask, Tag, Vector

UNDEFINED_LABEL = "undefined"
NULL_LABEL = "null"

# (rows of one type, each row's index into `texts`, texts of that type's distinct values)
_Part = tuple[Mask, npt.NDArray[np.integer[Any]], list[str]]


def segment_keys(vector: Vector) -> tuple[npt.NDArray[np.int32], list[str]]:
    """(codes, labels): ``labels`` sorted and unique; row i belongs to ``labels[codes[i]]``."""
    n = len(vector)
    parts = _parts(vector)
    texts = [text for _, _, part_texts in parts for text in part_texts]
    encoded = pa.array(texts, pa.string()).dictionary_encode()
    # Rank of each distinct label in sorted order, then each part's texts to their rank.
    order = pc.array_sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order), np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    label_of_text = rank[encoded.indices.to_numpy()]
    codes = np.zeros(n, np.int32)
    start = 0
    for rows, local, part_texts in parts:
        mapping = label_of_text[start : start + len(part_texts)]
        start += len(part_texts)
        codes[rows] = mapping[local[rows]]
    labels: list[str] = encoded.dictionary.take(pa.array(order)).to_pylist()
    # Only labels some row carries: a dictionary may hold texts no row uses.
    used = np.flatnonzero(np.bincount(codes, minlength=len(labels)))
    if len(used) < len(labels):
        remap = np.zeros(len(labels), np.int32)
        remap[used] = np.arange(len(used), dtype=np.int32)
        return remap[codes], [labels[i] for i in used]
    return codes, labels


def _parts(vector: Vector) -> list[_Part]:
    n = len(vector)
    zeros = np.zeros(n, np.intp)
    parts: list[_Part] = [
        (vector.has(Tag.UNDEFINED), zeros, [UNDEFINED_LABEL]),
        (vector.has(Tag.NULL), zeros, [NULL_LABEL]),
    ]
    if vector.bools is not None:
        parts.append((vector.has(Tag.BOOL), vector.bools.view(np.int8), ["false", "true"]))
    if vector.codes is not None and vector.dictionary is not None:
        parts.append((vector.has(Tag.STRING), vector.codes, list(vector.dictionary)))
    if vector.ints is not None:
        parts.append(_distinct(vector.has(Tag.INT), vector.ints, lambda v: str(int(v))))
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
    return parts


def _distinct(rows: Mask, values: npt.NDArray[Any], text: Callable[[Any], str]) -> _Part:
    """Rows' values numbered by distinct value, each distinct value formatted once."""
    uniques, inverse = distinct(values[rows])
    local = np.zeros(len(rows), np.int32)
    local[rows] = inverse
    return rows, local, [text(value) for value in uniques]
