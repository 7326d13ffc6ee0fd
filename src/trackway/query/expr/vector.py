"""The columnar value: one typed value per row, as a tag array plus per-type payload arrays.

A row's tag says which payload holds its value; payload slots of other rows are arbitrary
and never read. Strings are dictionary-encoded (codes into a small array of unique-ish
texts) so a string operation runs once per distinct text and is mapped back through the
codes. Numbers are float64, and integer rows (tag INT) also keep their exact int64 so that
``==`` and ordering stay exact beyond 2**53. ``bools`` is False on every non-BOOL row, so a
boolean vector's truth is its ``bools`` array as it stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.query.expr import arrow
from trackway.query.expr.values import (
    INT64_MAX,
    INT64_MIN,
    UNDEFINED,
    JsonObject,
    Timestamp,
    Value,
    from_json,
)

Mask = npt.NDArray[np.bool_]
Tags = npt.NDArray[np.int8]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Codes = npt.NDArray[np.int32]
Texts = npt.NDArray[np.object_]  # Python str
Objects = npt.NDArray[np.object_]
# Beyond this an int64 has no exact float64; only then does exact integer work kick in.
EXACT_FLOAT_LIMIT = 2**53


class Tag(IntEnum):
    UNDEFINED = 0
    NULL = 1
    BOOL = 2
    STRING = 3
    DATETIME = 4
    LIST = 5
    OBJECT = 6
    FLOAT = 7  # FLOAT and INT are both "number"; tags >= FLOAT test for it in one pass
    INT = 8


@dataclass(frozen=True, slots=True)
class Vector:
    tags: Tags
    numbers: Floats | None = None  # FLOAT and INT rows
    ints: Ints | None = None  # INT rows: the exact value
    bools: Mask | None = None  # BOOL rows; False elsewhere
    codes: Codes | None = None  # STRING rows: index into dictionary
    dictionary: Texts | None = None
    times: Ints | None = None  # DATETIME rows: ms since the epoch, UTC
    items: Objects | None = None  # LIST rows (tuples) and OBJECT rows (JsonObject)
    uniform: bool = False  # every row holds the same value (arrays are broadcast views)
    wide: bool = False  # some INT row is beyond ±2**53

    def __len__(self) -> int:
        return len(self.tags)

    # -- constructors --------------------------------------------------------------------

    @staticmethod
    def undefined(n: int) -> Vector:
        return Vector(_fill(Tag.UNDEFINED, n), uniform=True)

    @staticmethod
    def constant(value: Value, n: int) -> Vector:
        """``value`` (a stand-in from ``values``) on each of ``n`` rows, without n-sized copies."""
        return Vector.from_values([value]).broadcast(n)

    @staticmethod
    def from_numbers(values: npt.NDArray[Any], valid: Mask | None = None) -> Vector:
        """Numbers: integer dtypes become exact INT rows, floats FLOAT rows (non-finite: undefined)."""
        if values.dtype.kind in "iub":
            ints = values.astype(np.int64)
            tags = _tagged(valid, Tag.INT, len(ints))
            return Vector(tags, numbers=ints.astype(np.float64), ints=ints, wide=_wide(ints))
        numbers = np.asarray(values, np.float64)
        finite = np.isfinite(numbers)
        return Vector(
            _tagged(finite if valid is None else finite & valid, Tag.FLOAT, len(numbers)), numbers
        )

    @staticmethod
    def from_times(ms: npt.NDArray[Any], valid: Mask | None = None) -> Vector:
        """Datetimes from milliseconds since the epoch (what storage keeps for ``time``)."""
        times = np.asarray(ms, np.int64)
        return Vector(_tagged(valid, Tag.DATETIME, len(times)), times=times)

    @staticmethod
    def from_bools(values: Mask, valid: Mask | None = None) -> Vector:
        bools = values if valid is None else values & valid
        return Vector(_tagged(valid, Tag.BOOL, len(values)), bools=bools)

    @staticmethod
    def from_codes(codes: Codes, dictionary: Texts, valid: Mask | None = None) -> Vector:
        if len(dictionary) == 0:  # no texts, so no string rows (codes would index nothing)
            return Vector.undefined(len(codes))
        return Vector(_tagged(valid, Tag.STRING, len(codes)), codes=codes, dictionary=dictionary)

    @staticmethod
    def from_strings(values: Any) -> Vector:
        """Strings from an Arrow array (plain or dictionary) or a sequence of str/None."""
        if not hasattr(values, "null_count"):
            values = pa.array(list(values), pa.string())
        values = arrow.combined(values)
        codes, dictionary = arrow.dictionary_codes(values)
        return Vector.from_codes(codes, dictionary, arrow.validity(values))

    @staticmethod
    def from_values(values: Sequence[Value]) -> Vector:
        """One row per Python stand-in value (slow: per row; for literals, JSON and tests)."""
        n = len(values)
        tags = np.zeros(n, np.int8)
        numbers, ints, times = np.zeros(n), np.zeros(n, np.int64), np.zeros(n, np.int64)
        bools, codes = np.zeros(n, np.bool_), np.zeros(n, np.int32)
        items = np.empty(n, object)
        texts: dict[str, int] = {}
        for row, value in enumerate(values):
            kind = type(value)
            if value is None:
                tags[row] = Tag.NULL
            elif kind is bool:
                tags[row], bools[row] = Tag.BOOL, value
            elif kind is int and INT64_MIN <= value <= INT64_MAX:
                tags[row], ints[row], numbers[row] = Tag.INT, value, value
            elif kind is float and np.isfinite(value):
                tags[row], numbers[row] = Tag.FLOAT, value
            elif kind is int and abs(value) < 2**1023:  # beyond int64: a float, as JSON has it
                tags[row], numbers[row] = Tag.FLOAT, float(value)
            elif kind is str:
                tags[row], codes[row] = Tag.STRING, texts.setdefault(value, len(texts))
            elif kind is Timestamp:
                tags[row], times[row] = Tag.DATETIME, value.ms
            elif kind is tuple or kind is list:
                tags[row], items[row] = Tag.LIST, tuple(from_json(list(value)))
            elif kind is JsonObject:
                tags[row], items[row] = Tag.OBJECT, value
            elif kind is dict:
                tags[row], items[row] = Tag.OBJECT, from_json(value)
        present = set(np.unique(tags).tolist())

        def kept(array: npt.NDArray[Any], *kinds: Tag) -> npt.NDArray[Any] | None:
            return array if present.intersection(kinds) else None

        return Vector(
            tags,
            numbers=kept(numbers, Tag.FLOAT, Tag.INT),
            ints=kept(ints, Tag.INT),
            bools=kept(bools, Tag.BOOL),
            codes=kept(codes, Tag.STRING),
            dictionary=kept(text_array(list(texts)), Tag.STRING),
            times=kept(times, Tag.DATETIME),
            items=kept(items, Tag.LIST, Tag.OBJECT),
            wide=_wide(ints[tags == Tag.INT]),
        )

    # -- reshaping -----------------------------------------------------------------------

    def broadcast(self, n: int) -> Vector:
        """A one-row vector repeated ``n`` times as read-only views."""
        assert len(self) == 1
        rows = {k: np.broadcast_to(a, n) for k, a in self._rows().items() if a is not None}
        tags = np.broadcast_to(self.tags, n)
        return Vector(tags, **rows, dictionary=self.dictionary, uniform=n > 0, wide=self.wide)

    def take(self, rows: npt.NDArray[np.integer[Any]]) -> Vector:
        """The vector's rows at ``rows`` (any order, repeats allowed)."""
        taken = {k: a[rows] for k, a in self._rows().items() if a is not None}
        return Vector(self.tags[rows], **taken, dictionary=self.dictionary, wide=self.wide)

    def gather(self, rows: npt.NDArray[np.integer[Any]]) -> Vector:
        """Like ``take``, but a negative index gives an undefined row (a lookup that found
        nothing); works on an empty vector too."""
        found = rows >= 0
        if len(self) == 0:
            return Vector.undefined(len(rows))
        taken = self.take(np.where(found, rows, 0))
        # UNDEFINED is 0, so a multiply blanks the rows not found; bools stay False there.
        tags = taken.tags * found.view(np.int8)
        bools = None if taken.bools is None else taken.bools & found
        return replace(taken, tags=tags, bools=bools)

    def where(self, mask: Mask, other: Vector) -> Vector:
        """This vector's rows where ``mask``, ``other``'s elsewhere."""
        mine, theirs = self._rows(), other._rows()
        merged: dict[str, Any] = {}
        for key, left in mine.items():
            right = theirs[key]
            if left is not None and right is not None:
                merged[key] = np.where(mask, left, right)
            elif key == "bools" and (left is not None or right is not None):
                # Keep bools False off BOOL rows: the side without bools has none true.
                merged[key] = left & mask if left is not None else right & ~mask
            else:
                merged[key] = left if right is None else right
        dictionary = other.dictionary if self.dictionary is None else self.dictionary
        if self.dictionary is not None and other.dictionary is not None:
            # Two dictionaries: the other's codes move past this one's texts.
            assert self.codes is not None and other.codes is not None
            shifted = other.codes + np.int32(len(self.dictionary))
            merged["codes"] = np.where(mask, self.codes, shifted).astype(np.int32)
            dictionary = np.concatenate([self.dictionary, other.dictionary])
        tags = np.where(mask, self.tags, other.tags)
        return Vector(tags, **merged, dictionary=dictionary, wide=self.wide or other.wide)

    def _rows(self) -> dict[str, Any]:
        """The row-aligned payloads (the dictionary is not one: codes index it)."""
        return {
            "numbers": self.numbers,
            "ints": self.ints,
            "bools": self.bools,
            "codes": self.codes,
            "times": self.times,
            "items": self.items,
        }

    # -- reading -------------------------------------------------------------------------

    def has(self, tag: Tag) -> Mask:
        return np.asarray(self.tags == tag)

    def numeric(self) -> Mask:
        return np.asarray(self.tags >= Tag.FLOAT)

    def truth(self) -> Mask:
        """True exactly where the value is boolean true (how a `where` filter reads it)."""
        return np.zeros(len(self), np.bool_) if self.bools is None else np.asarray(self.bools)

    def value_at(self, row: int) -> Value:
        tag = Tag(int(self.tags[row]))
        match tag:
            case Tag.UNDEFINED:
                return UNDEFINED
            case Tag.NULL:
                return None
            case Tag.BOOL:
                return bool(self.bools[row])  # type: ignore[index]
            case Tag.INT:
                return int(self.ints[row])  # type: ignore[index]
            case Tag.FLOAT:
                return float(self.numbers[row])  # type: ignore[index]
            case Tag.STRING:
                return str(self.dictionary[self.codes[row]])  # type: ignore[index]
            case Tag.DATETIME:
                return Timestamp(int(self.times[row]))  # type: ignore[index]
        return self.items[row]  # type: ignore[index]

    def to_pylist(self) -> list[Value]:
        return [self.value_at(row) for row in range(len(self))]


def text_array(texts: list[str]) -> Texts:
    """A dictionary array (an object array: numpy would turn a list of str into fixed width)."""
    array = np.empty(len(texts), object)
    array[:] = texts
    return array


def _wide(ints: Ints) -> bool:
    return bool((ints > EXACT_FLOAT_LIMIT).any() or (ints < -EXACT_FLOAT_LIMIT).any())


def _fill(tag: Tag, n: int) -> Tags:
    return np.broadcast_to(np.int8(tag), n)


def _tagged(valid: Mask | None, tag: Tag, n: int) -> Tags:
    """``tag`` where valid, UNDEFINED elsewhere (UNDEFINED is 0, so a multiply does it)."""
    if valid is None:
        return _fill(tag, n)
    return valid.view(np.int8) * np.int8(tag)
