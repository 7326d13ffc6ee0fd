"""String operations on dictionaries: work once per distinct text (or pair), map back by code.

``pair_map`` applies a function to the texts of two string vectors and answers
``(index, results)``: row i's result is ``results[index[i]]`` wherever both rows are strings
(elsewhere the index is some valid position whose result means nothing). Which pairs it
evaluates depends on the shapes: one side constant (one text), a small cross product of the
two dictionaries, or else the distinct code pairs that actually occur. ``equal_codes``
compares two string vectors by unifying their dictionaries instead, which stays linear in
the dictionaries however many distinct pairs the rows hold.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from trackway.query.expr.arrow import distinct
from trackway.query.expr.vector import Mask, Tag, Texts, Vector

Index = npt.NDArray[np.integer[Any]]
PairFunction = Callable[[Texts, Texts], npt.NDArray[Any]]
# Dictionaries whose cross product is at most this big are compared pair by pair outright.
_CROSS_LIMIT = 1 << 16


def texts(vector: Vector) -> Texts:
    assert vector.dictionary is not None
    return vector.dictionary


def codes(vector: Vector) -> Index:
    assert vector.codes is not None
    return vector.codes


def has_strings(vector: Vector) -> bool:
    return vector.dictionary is not None and len(vector.dictionary) > 0


def pair_map(left: Vector, right: Vector, function: PairFunction) -> tuple[Index, npt.NDArray[Any]]:
    left_texts, right_texts = texts(left), texts(right)
    if right.uniform:
        return codes(left), function(left_texts, right_texts[codes(right)[:1]])
    if left.uniform:
        return codes(right), function(left_texts[codes(left)[:1]], right_texts)
    width = len(right_texts)
    if len(left_texts) * width <= _CROSS_LIMIT:
        table = function(left_texts[:, None], right_texts[None, :]).ravel()
        # Below _CROSS_LIMIT, so int32 codes cannot overflow here.
        return codes(left) * np.int32(width) + codes(right), table
    both = np.flatnonzero((left.tags == Tag.STRING) & (right.tags == Tag.STRING))
    keys = codes(left)[both].astype(np.int64) * width + codes(right)[both]
    pairs, inverse = distinct(keys)
    results = function(left_texts[pairs // width], right_texts[pairs % width])
    index = np.zeros(len(left), np.int32)
    index[both] = inverse
    if len(results) == 0:  # no row has two strings; keep the index pointing somewhere valid
        results = function(left_texts[:1], right_texts[:1])
    return index, results


def equal_codes(left: Vector, right: Vector) -> Mask:
    """Per row: same text? (Meaningful where both rows are strings.)"""
    if left.uniform or right.uniform:
        index, table = pair_map(left, right, same)
        return np.asarray(table[index], np.bool_)
    # One id per distinct text across both dictionaries (the first position of that text).
    ids: dict[str, int] = {}
    left_ids = np.array([ids.setdefault(t, len(ids)) for t in texts(left)], np.int64)
    right_ids = np.array([ids.get(t, -1) for t in texts(right)], np.int64)
    return np.asarray(left_ids[codes(left)] == right_ids[codes(right)], np.bool_)


def concatenate(left: Texts, right: Texts) -> npt.NDArray[Any]:
    return np.asarray(left + right, object)


def same(left: Texts, right: Texts) -> npt.NDArray[np.bool_]:
    return np.asarray(left == right, np.bool_)


_CONTAINS = np.frompyfunc(operator.contains, 2, 1)


def within(left: Texts, right: Texts) -> npt.NDArray[np.bool_]:
    """``left in right``: is each left text a substring of the right one?"""
    return np.asarray(_CONTAINS(right, left), np.bool_)


def per_text(vector: Vector, function: Callable[[str], Any]) -> list[Any]:
    """``function`` of each distinct text, in dictionary order (Python, once per text)."""
    return [function(text) for text in texts(vector)]
