"""What an Insights report answers: typed, encoded as the native API's JSON as they are."""

from __future__ import annotations

import msgspec

# A bucket's value: a count, an amount, or None where there is none (an average of nothing).
Value = int | float | None


class Series(msgspec.Struct, frozen=True):
    """One metric (or formula) in one segment: a value per bucket and over the whole range."""

    metric: str
    segment: list[str]  # one label per breakdown; [""] without any
    values: list[Value]
    # per_user_distribution: how many users did the event 1, 2, 3-4, ... times.
    total: Value | dict[str, int]


class SegmentCounts(msgspec.Struct, frozen=True):
    total: int  # segments with data
    offset: int  # the first shown, in rank order
    shown: int  # shown here; the rest add up to `$other`


class PreviousPeriod(msgspec.Struct, frozen=True):
    buckets: list[str]
    series: list[Series]


class InsightsResult(msgspec.Struct, frozen=True, omit_defaults=True):
    buckets: list[str]  # each bucket's label, in the report's time zone
    unit: str
    timezone: str
    segments: SegmentCounts
    series: list[Series]
    previous: PreviousPeriod | None = None  # with `compare`: the period just before
