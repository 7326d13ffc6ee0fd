"""A Resolver over a few rows, handing out columns shaped as storage writes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from tests.reference.expressions import Row
from trackway.query.expr import (
    ExpressionError,
    JsonObject,
    Vector,
    compile_expression,
    property_vector,
)
from trackway.query.expr.values import UNDEFINED
from trackway.storage.columns import value_kind


def storage_kind(value: Any) -> str:
    """The typed column storage puts a value in."""
    return value_kind(value)


def plain(value: Any) -> Any:
    """A stand-in value as the JSON-able Python value it came from."""
    if isinstance(value, tuple):
        return [plain(item) for item in value]
    if isinstance(value, JsonObject):
        return orjson.loads(value.text)
    return value


def typed_columns(values: list[Any], *, encode: bool = True, chunks: int = 1) -> dict[str, Any]:
    """``ps_ pi_ pf_ pb_ pj_`` columns (as from_arrow_columns keywords) for one property."""
    types = {"s": pa.string(), "i": pa.int64(), "f": pa.float64(), "b": pa.bool_()}
    names = {"s": "string", "i": "integer", "f": "floating", "b": "boolean", "j": "json"}
    columns: dict[str, Any] = {}
    for kind, name in names.items():
        mine = [v is not UNDEFINED and storage_kind(v) == kind for v in values]
        if not any(mine):
            continue
        cells = [v if m else None for v, m in zip(values, mine, strict=True)]
        if kind == "j":  # JSON text, so a null value is the text "null", not a null cell
            cells = [
                orjson.dumps(plain(v)).decode() if m else None
                for v, m in zip(values, mine, strict=True)
            ]
        array = pa.array(cells, types.get(kind, pa.string()))
        if kind == "s" and encode:
            array = array.dictionary_encode()
        if chunks > 1 and len(array) > 1:
            cut = len(array) // 2
            array = pa.chunked_array([array.slice(0, cut), array.slice(cut)])
        columns[name] = array
    return columns


@dataclass
class Batch:
    rows: list[Row]
    encode: bool = True
    chunks: int = 1

    def property(self, name: str) -> Vector:
        values = [row.properties.get(name, UNDEFINED) for row in self.rows]
        columns = typed_columns(values, encode=self.encode, chunks=self.chunks)
        return property_vector(len(self.rows), **columns)

    def time(self) -> Vector:
        return Vector.from_times(np.array([row.time_ms for row in self.rows], np.int64))

    def event_name(self) -> Vector:
        return Vector.from_strings(pa.array([row.event for row in self.rows]).dictionary_encode())

    def user_property(self, name: str) -> Vector:
        raise ExpressionError("user properties are not available here")

    def in_cohort(self, cohort_id: int) -> Vector:
        return Vector.from_bools(np.array([cohort_id in row.cohorts for row in self.rows], bool))


def run(text: str, *rows: Row | dict[str, Any]) -> list[Any]:
    """The value of ``text`` on each row (dicts are a row's properties)."""
    batch = [row if isinstance(row, Row) else Row(row) for row in rows or [Row()]]
    return compile_expression(text).evaluate(Batch(batch), len(batch)).to_pylist()
