"""What the behavioural reports answer: typed, encoded as the native API's JSON as they are.
Every field's meaning is in docs/behaviour.md."""

from __future__ import annotations

import msgspec


class Histogram(msgspec.Struct, frozen=True):
    edges_ms: list[int | float]  # one more than counts
    counts: list[int]


class TimeToConvert(msgspec.Struct, frozen=True):
    avg_ms: float
    median_ms: float
    percentiles: dict[str, float]  # by the percentile asked, e.g. "90"
    avg_from_start_ms: float
    histogram: Histogram


class FunnelStep(msgspec.Struct, frozen=True):
    step: int  # 1-based
    label: str
    count: int
    step_conversion: float | None
    overall_conversion: float | None
    time_to_convert: TimeToConvert | None  # None on step 1 and where nobody converted


class SegmentRow(msgspec.Struct, frozen=True):
    segment: list[str]
    counts: list[int]  # per step


class FunnelSegments(msgspec.Struct, frozen=True):
    total: int  # segments with attempts
    shown: int
    rows: list[SegmentRow]  # the shown segments, then `$other`


class OverTime(msgspec.Struct, frozen=True):
    unit: str
    buckets: list[str]  # by the day attempts started
    counts: list[list[int]]  # per bucket, per step


class PeriodStep(msgspec.Struct, frozen=True):
    count: int
    avg_ms: float | None  # mean time since the previous step; None on step 1 and unreached
    avg_from_start_ms: float | None


class FunnelPeriod(msgspec.Struct, frozen=True, omit_defaults=True):
    period: str  # its first day
    steps: list[PeriodStep]
    segments: FunnelSegments | None = None  # with breakdowns, ranked in this period


class DropOffUsers(msgspec.Struct, frozen=True):
    step: int
    total: int
    offset: int
    users: list[str]


class FunnelResult(msgspec.Struct, frozen=True, omit_defaults=True):
    counting: str
    order: str
    timezone: str
    steps: list[FunnelStep]
    segments: FunnelSegments | None = None  # with breakdowns
    over_time: OverTime | None = None  # with `unit`
    drop_offs: DropOffUsers | None = None  # with `drop_offs`
    periods: list[FunnelPeriod] | None = None  # with `per_period`


class RetentionRow(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    cohort: str | None = None  # the birth period's label; None on the total row
    size: int
    counts: list[int]  # per reported period
    values: list[float | None] | None = None  # measure sum or average


class RetentionResult(msgspec.Struct, frozen=True):
    unit: str
    timezone: str
    periods: list[str]
    cohorts: list[RetentionRow]
    total: RetentionRow


class FlowNode(msgspec.Struct, frozen=True):
    step: int  # 0 is the anchor; negative before it
    event: str
    count: int


class FlowLink(msgspec.Struct, frozen=True):
    step: int
    source: str
    target: str
    count: int


class Sankey(msgspec.Struct, frozen=True):
    total: int
    nodes: list[FlowNode]
    links: list[FlowLink]


class FlowSegment(msgspec.Struct, frozen=True):
    segment: list[str]
    total: int
    nodes: list[FlowNode]
    links: list[FlowLink]


class FlowsResult(msgspec.Struct, frozen=True, omit_defaults=True):
    direction: str
    total: int
    nodes: list[FlowNode]
    links: list[FlowLink]
    segments: list[FlowSegment] | None = None  # with a breakdown


class FrequencyResult(msgspec.Struct, frozen=True):
    unit: str
    addiction_unit: str
    timezone: str
    buckets: list[str]
    distribution: list[list[int]]  # per period: users active in exactly k sub-periods
    at_least: list[list[int]]  # per period: in k or more


class LifecycleResult(msgspec.Struct, frozen=True):
    unit: str
    timezone: str
    buckets: list[str]
    new: list[int]
    returning: list[int]
    resurrecting: list[int]
    dormant: list[int]
