"""String operations on dictionaries: work once per distinct text (or pair), map back by code.

``pair_map`` applies a vectorised function to the texts of two string vectors and answers
``(index, results)``: row i's result is ``results[index[i]]`` wherever both rows are strings
(elsewhere the index is some valid position whose result means nothing). Which pairs it
evaluates depends on the shapes: one side constant (one text), a small cross product of the
two dictionaries, or else the distinct code pairs that actually occur.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from trackway.query.expr.vector import Tag, Vector

Index = npt.NDArray[np.intp]
PairFunction = Callable[[npt.NDArray[Any], npt.NDArray[Any]], npt.NDArray[Any]]
# Dictionaries whose cross product is at most this big are compared pair by pair outright.
_CROSS_LIMIT = 1 << 16


def texts(vector: Vector) -> npt.NDArray[Any]:
    assert vector.dictionary is not None
    return vector.dictionary


def codes(vector: Vector) -> Index:
    assert vector.codes is not None
    return np.asarray(vector.codes, np.intp)


def has_strings(vector: Vector) -> bool:
    return vector.dictionary is not None and len(vector.dictionary) > 0


def pair_map(left: Vector, right: Vector, function: PairFunction) -> tuple[Index, npt.NDArray[Any]]:
    left_texts, right_texts = texts(left), texts(right)
    if right.uniform:
        one = right_texts[codes(right)[:1]]
        return codes(left), function(left_texts, one)
    if left.uniform:
        one = left_texts[codes(left)[:1]]
        return codes(right), function(one, right_texts)
    width = len(right_texts)
    if len(left_texts) * width <= _CROSS_LIMIT:
        table = function(left_texts[:, None], right_texts[None, :]).ravel()
        return codes(left) * width + codes(right), table
    both = np.flatnonzero((left.tags == Tag.STRING) & (right.tags == Tag.STRING))
    keys = codes(left)[both] * width + codes(right)[both]
    distinct, inverse = np.unique(keys, return_inverse=True)
    results = function(left_texts[distinct // width], right_texts[distinct % width])
    index = np.zeros(len(left), np.intp)
    index[both] = inverse
    if len(results) == 0:  # no row has two strings; keep the index pointing somewhere valid
        results = function(left_texts[:1], right_texts[:1])
    return index, results


def concatenate(left: npt.NDArray[Any], right: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.asarray(np.strings.add(left, right))


def same(left: npt.NDArray[Any], right: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    return np.asarray(left == right, np.bool_)


def within(left: npt.NDArray[Any], right: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """``left in right``: is each left text a substring of the right one?"""
    return np.asarray(np.strings.find(right, left) >= 0, np.bool_)


def per_text(vector: Vector, function: Callable[[str], Any]) -> list[Any]:
    """``function`` of each distinct text, in dictionary order (Python, once per text)."""
    return [function(str(text)) for text in texts(vector)]
