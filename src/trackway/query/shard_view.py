"""One shard's scanned columns seen through the expression language: properties as typed
vectors, the event time, the event name."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.query.context import ReportContext
from trackway.query.expr import ExpressionError, Vector, property_vector
from trackway.storage.cache import ColumnCache
from trackway.storage.columns import parse_property_column
from trackway.storage.scan import ShardScan

T = TypeVar("T")
_KIND_ARGUMENT = {"s": "string", "i": "integer", "f": "floating", "b": "boolean", "j": "json"}


class ShardView:
    def __init__(
        self,
        scan: ShardScan,
        property_columns: dict[str, list[str]],
        cache: ColumnCache | None = None,
        context: ReportContext | None = None,
    ) -> None:
        self.scan = scan
        self.context = context
        self.rows = scan.rows
        self._property_columns = property_columns
        self._vectors: dict[str, Vector] = {}
        self._cache = cache

    def cached(self, key: Hashable, make: Callable[[], T], nbytes: Callable[[T], int]) -> T:
        """``make()``, kept across queries while the scanned rows stay the same."""
        if self._cache is None or self.scan.key is None:
            return make()
        full_key = (self.scan.key, key)
        found = self._cache.get(full_key)
        if found is None:
            found = make()
            self._cache.put(full_key, found, nbytes(found))
        return found

    def string_column(self, name: str) -> pa.Array | None:
        """The property's column when it only ever held strings (the common case)."""
        columns = self._property_columns.get(name, [])
        if len(columns) == 1 and columns[0].startswith("ps_") and columns[0] in self.scan.columns:
            return self.scan.columns[columns[0]]
        return None

    @property
    def users(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.scan.columns["user_hash"].to_numpy(), np.int64)

    @property
    def times(self) -> npt.NDArray[np.int64]:
        return np.asarray(self.scan.columns["time"].to_numpy(), np.int64)

    @property
    def event_names(self) -> pa.Array:
        return self.scan.columns["event"]

    def property(self, name: str) -> Vector:
        vector = self._vectors.get(name)
        if vector is None:
            typed: dict[str, pa.Array] = {}
            for column in self._property_columns.get(name, []):
                parsed = parse_property_column(column)
                if parsed is not None and column in self.scan.columns:
                    typed[_KIND_ARGUMENT[parsed[1]]] = self.scan.columns[column]
            vector = self._vectors[name] = self.cached(
                ("vector", name),
                lambda: property_vector(self.rows, **typed),
                vector_bytes,
            )
        return vector

    def time(self) -> Vector:
        return Vector.from_times(self.times)

    def event_name(self) -> Vector:
        return Vector.from_strings(self.event_names)

    def user_property(self, name: str) -> Vector:
        if self.context is None:
            raise ExpressionError(f"user[{name!r}]: profile properties are not available here")
        return self.context.user_property(name, self.users)

    def in_cohort(self, cohort_id: int) -> Vector:
        if self.context is None:
            raise ExpressionError(f"cohort({cohort_id}): cohorts are not available here")
        return self.context.in_cohort(cohort_id, self.users)


def vector_bytes(vector: Vector) -> int:
    arrays = [
        vector.tags,
        vector.numbers,
        vector.ints,
        vector.bools,
        vector.codes,
        vector.times,
        vector.dictionary,
    ]
    return sum(int(getattr(a, "nbytes", 0)) for a in arrays if a is not None)
