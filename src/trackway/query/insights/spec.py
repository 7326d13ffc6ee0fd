"""The Insights report spec: typed, immutable, decoded and validated in one pass at the edge.

These msgspec Structs are both the native JSON API's request body and the engine's input:
``msgspec.json.decode(body, type=InsightsSpec)`` gives a message naming the field on error.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import msgspec

from trackway.query.breakdowns import Breakdown, property_expression

Measure = Literal[
    "total",
    "unique",
    "dau",
    "wau",
    "mau",
    "per_user_avg",
    "per_user_median",
    "per_user_distribution",
    "sum",
    "avg",
    "min",
    "max",
    "median",
    "p25",
    "p75",
    "p90",
    "p99",
    "distinct",
]
PROPERTY_MEASURES = frozenset(
    {"sum", "avg", "min", "max", "median", "p25", "p75", "p90", "p99", "distinct"}
)
UNIQUE_MEASURES = frozenset({"unique", "dau", "wau", "mau"})
Unit = Literal["minute", "hour", "day", "week", "month", "quarter"]


class Metric(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One series: events (one name, several, or all when None), a filter, what to measure."""

    event: str | list[str] | None = None
    where: str | None = None
    measure: Measure = "total"
    property: str | None = None  # what sum, avg, ..., distinct aggregate
    value: str | None = None  # or an expression to aggregate instead of a property
    name: str | None = None

    def value_expression(self) -> str | None:
        if self.value is not None:
            return self.value
        return None if self.property is None else property_expression(self.property)

    def events(self) -> list[str] | None:
        if self.event is None:
            return None
        return [self.event] if isinstance(self.event, str) else list(self.event)


class Formula(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    expression: str  # over metric letters A, B, ... e.g. "A / B * 100"


class InsightsSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    from_date: date
    to_date: date
    metrics: list[Metric]
    unit: Unit = "day"
    where: str | None = None
    breakdowns: list[Breakdown] = []
    formulas: list[Formula] = []
    limit: int = 10  # segments shown; the rest add up to `$other`
    segment_offset: int = 0  # page through the long tail: segments ranked offset .. offset+limit
    cumulative: bool = False
    rolling: int | None = None  # window in buckets
    compare: Literal["previous_period"] | None = None
    timezone: str | None = None  # defaults to the project's
    group: str | None = None  # count groups (this event property's values), not users
