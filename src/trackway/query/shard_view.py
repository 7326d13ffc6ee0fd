"""One shard's scanned columns seen through the expression language: properties as typed
vectors, the event time, the event name."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trackway.query.expr import ExpressionError, Vector
from trackway.storage.columns import parse_property_column
from trackway.storage.scan import ShardScan

_KIND_ARGUMENT = {"s": "string", "i": "integer", "f": "floating", "b": "boolean", "j": "json"}


class ShardView:
    def __init__(self, scan: ShardScan, property_columns: dict[str, list[str]]) -> None:
        self.scan = scan
        self.rows = scan.rows
        self._property_columns = property_columns
        self._vectors: dict[str, Vector] = {}

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
            vector = self._vectors[name] = Vector.from_arrow_columns(self.rows, **typed)
        return vector

    def time(self) -> Vector:
        return Vector.from_datetimes_ms(self.times)

    def event_name(self) -> Vector:
        return Vector.from_arrow_strings(self.event_names)

    def user_property(self, name: str) -> Vector:
        raise ExpressionError(
            f"user[{name!r}]: profile properties in reports arrive with identity resolution"
        )
